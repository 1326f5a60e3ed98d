import { QoelabError } from "../errors.ts";

/**
 * Error codes of the capture filter language. Syntax errors and semantic errors (a valid shape
 * with an impossible value) carry `details.column`, 1-based, pointing into the expression.
 */
export const FilterErrorCode = {
  SYNTAX: "FILTER_SYNTAX",
  /** Number outside 0..2^32-1, or a malformed address literal. */
  BAD_NUMBER: "FILTER_BAD_NUMBER",
  BAD_ADDRESS: "FILTER_BAD_ADDRESS",
  /** Host bits set under a mask, or a mask length too long. */
  BAD_NET: "FILTER_BAD_NET",
  BAD_PORT: "FILTER_BAD_PORT",
  BAD_VLAN: "FILTER_BAD_VLAN",
  /** A qualifier that does not apply (`tcp host …`, `ip6 host 10.0.0.1`, `ip port 80`). */
  BAD_QUALIFIER: "FILTER_BAD_QUALIFIER",
  /** A name where a literal is needed: host names (no DNS), service names, unknown protocols. */
  UNKNOWN_NAME: "FILTER_UNKNOWN_NAME",
  /** Constant division/modulus by zero, shift by more than 31 bits, accessor size not 1/2/4. */
  BAD_ARITHMETIC: "FILTER_BAD_ARITHMETIC",
  /** pcap-filter syntax that qoelab does not implement (mpls, pppoe, 802.11, decnet, gateway …). */
  UNSUPPORTED: "FILTER_UNSUPPORTED",
  /** Expression too long or nested too deeply. */
  TOO_COMPLEX: "FILTER_TOO_COMPLEX",
} as const;

/** Builds `filter: <message> at column N` followed by the expression and a caret line. */
export function filterError(code: string, message: string, expression: string, column: number): QoelabError {
  const shown = expression.replace(/[\t\r\n]/g, " ");
  const caret = `${" ".repeat(Math.max(0, column - 1))}^`;
  return new QoelabError(code, `filter: ${message} at column ${column}\n  ${shown}\n  ${caret}`, {
    expression,
    column,
  });
}
