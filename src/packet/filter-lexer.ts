import { parseIpv6 } from "./address-text.ts";
import { readU32 } from "./byte-order.ts";
import { FilterErrorCode, filterError } from "./filter-error.ts";

/**
 * Tokens of the pcap-filter language. Like libpcap's scanner, a run of word characters is one
 * token (so `tcp-syn`, `6000-6008` and even `len-1` are single words), addresses are recognised
 * by shape, and named constants (`tcp-syn`, `icmptype`, …) become numbers.
 */
export type FilterToken =
  | { kind: "num"; column: number; text: string; value: number }
  /** Dotted IPv4 with 2..4 parts; `value` is left-aligned, `bits` = 8 × parts. */
  | { kind: "ipv4"; column: number; text: string; value: number; bits: number }
  | { kind: "ipv6"; column: number; text: string; words: readonly number[] }
  | { kind: "mac"; column: number; text: string; high: number; low: number }
  /** A name (host, service, protocol); `escaped` when written `\name`. */
  | { kind: "word"; column: number; text: string; escaped: boolean }
  | { kind: "keyword"; column: number; text: string }
  | { kind: "op"; column: number; text: string }
  | { kind: "end"; column: number; text: string };

/** Link-layer protocol qualifiers (all mean the capture's link layer). */
export const FILTER_LINK_NAMES: readonly string[] = ["link", "ether", "fddi", "tr", "wlan", "ppp", "slip"];
/** Protocol qualifiers above the link layer. */
export const FILTER_PROTO_NAMES: readonly string[] = [
  "ip",
  "ip6",
  "arp",
  "rarp",
  "tcp",
  "udp",
  "sctp",
  "icmp",
  "icmp6",
  "igmp",
  "igrp",
  "pim",
  "vrrp",
  "carp",
  "ah",
  "esp",
];

/** Reserved words: never host names. Unsupported ones are reserved too, for a clear error. */
export const FILTER_KEYWORDS: ReadonlySet<string> = new Set([
  "and",
  "or",
  "not",
  "src",
  "dst",
  "host",
  "net",
  "mask",
  "port",
  "portrange",
  "proto",
  "protochain",
  "gateway",
  "less",
  "greater",
  "len",
  "broadcast",
  "multicast",
  "vlan",
  "mpls",
  "pppoed",
  "pppoes",
  "inbound",
  "outbound",
  ...FILTER_LINK_NAMES,
  ...FILTER_PROTO_NAMES,
  // recognised by libpcap, not implemented here
  "geneve",
  "llc",
  "ifname",
  "on",
  "rnr",
  "rulenum",
  "reason",
  "rset",
  "ruleset",
  "srnr",
  "subrulenum",
  "action",
  "type",
  "subtype",
  "dir",
  "ra",
  "ta",
  "addr1",
  "addr2",
  "addr3",
  "addr4",
  "atalk",
  "aarp",
  "decnet",
  "lat",
  "sca",
  "moprc",
  "mopdl",
  "iso",
  "esis",
  "isis",
  "clnp",
  "stp",
  "ipx",
  "netbeui",
  "radio",
  "vpi",
  "vci",
  "lane",
  "byte",
  "hdlc",
  "l1",
  "l2",
  "iih",
  "lsp",
  "snp",
  "csnp",
  "psnp",
]);

/** Named field offsets and values (pcap-filter(7)); they lex as numbers. */
export const FILTER_CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["icmptype", 0],
  ["icmpcode", 1],
  ["icmp6type", 0],
  ["icmp6code", 1],
  ["tcpflags", 13],
  ["tcp-fin", 0x01],
  ["tcp-syn", 0x02],
  ["tcp-rst", 0x04],
  ["tcp-push", 0x08],
  ["tcp-ack", 0x10],
  ["tcp-urg", 0x20],
  ["tcp-ece", 0x40],
  ["tcp-cwr", 0x80],
  ["icmp-echoreply", 0],
  ["icmp-unreach", 3],
  ["icmp-sourcequench", 4],
  ["icmp-redirect", 5],
  ["icmp-echo", 8],
  ["icmp-routeradvert", 9],
  ["icmp-routersolicit", 10],
  ["icmp-timxceed", 11],
  ["icmp-paramprob", 12],
  ["icmp-tstamp", 13],
  ["icmp-tstampreply", 14],
  ["icmp-ireq", 15],
  ["icmp-ireqreply", 16],
  ["icmp-maskreq", 17],
  ["icmp-maskreply", 18],
  ["icmp6-destinationunreach", 1],
  ["icmp6-packettoobig", 2],
  ["icmp6-timeexceeded", 3],
  ["icmp6-parameterproblem", 4],
  ["icmp6-echo", 128],
  ["icmp6-echoreply", 129],
  ["icmp6-multicastlistenerquery", 130],
  ["icmp6-multicastlistenerreportv1", 131],
  ["icmp6-multicastlistenerdone", 132],
  ["icmp6-routersolicit", 133],
  ["icmp6-routeradvert", 134],
  ["icmp6-neighborsolicit", 135],
  ["icmp6-neighboradvert", 136],
  ["icmp6-redirect", 137],
  ["icmp6-routerrenum", 138],
  ["icmp6-nodeinformationquery", 139],
  ["icmp6-nodeinformationresponse", 140],
  ["icmp6-ineighbordiscoverysolicit", 141],
  ["icmp6-ineighbordiscoveryadvert", 142],
  ["icmp6-multicastlistenerreportv2", 143],
  ["icmp6-homeagentdiscoveryrequest", 144],
  ["icmp6-homeagentdiscoveryreply", 145],
  ["icmp6-mobileprefixsolicit", 146],
  ["icmp6-mobileprefixadvert", 147],
  ["icmp6-certpathsolicit", 148],
  ["icmp6-certpathadvert", 149],
  ["icmp6-multicastrouteradvert", 151],
  ["icmp6-multicastroutersolicit", 152],
  ["icmp6-multicastrouterterm", 153],
]);

const TWO_CHAR_OPS = new Set(["&&", "||", "<<", ">>", "<=", ">=", "==", "!="]);
const ONE_CHAR_OPS = new Set(["(", ")", "[", "]", ":", "+", "-", "*", "/", "%", "&", "|", "^", "<", ">", "=", "!"]);
/** Characters of a word run; `:` joins only when the run is a MAC or IPv6 address. */
const WORD_CHAR = /[0-9A-Za-z_.\-:]/;
const WORD_START = /[0-9A-Za-z_]/;
const ESCAPED_STOP = /[\s()[\]!&|=<>]/;

const MAX_UINT32 = 0xffffffff;

export function tokenizeFilter(expression: string): FilterToken[] {
  const tokens: FilterToken[] = [];
  const length = expression.length;
  let i = 0;
  while (i < length) {
    const ch = expression[i]!;
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      i++;
      continue;
    }
    const column = i + 1;
    if (ch === "\\") {
      let j = i + 1;
      while (j < length && !ESCAPED_STOP.test(expression[j]!)) j++;
      if (j === i + 1) throw filterError(FilterErrorCode.SYNTAX, "expected a name after '\\'", expression, column);
      tokens.push({ kind: "word", column, text: expression.slice(i + 1, j), escaped: true });
      i = j;
      continue;
    }
    const startsAddress = ch === ":" && expression[i + 1] === ":";
    if (WORD_START.test(ch) || startsAddress) {
      let j = i;
      while (j < length && WORD_CHAR.test(expression[j]!)) j++;
      let run = expression.slice(i, j);
      if (run.includes(":")) {
        const address = classifyColonRun(run, column);
        if (address) {
          tokens.push(address);
          i = j;
          continue;
        }
        run = run.slice(0, run.indexOf(":"));
        if (run.length === 0) {
          tokens.push({ kind: "op", column, text: ":" });
          i++;
          continue;
        }
      }
      tokens.push(classifyWord(run, column, expression));
      i += run.length;
      continue;
    }
    const two = expression.slice(i, i + 2);
    if (TWO_CHAR_OPS.has(two)) {
      tokens.push({ kind: "op", column, text: two });
      i += 2;
      continue;
    }
    if (ONE_CHAR_OPS.has(ch)) {
      tokens.push({ kind: "op", column, text: ch });
      i++;
      continue;
    }
    throw filterError(FilterErrorCode.SYNTAX, `unexpected character '${ch}'`, expression, column);
  }
  tokens.push({ kind: "end", column: length + 1, text: "" });
  return tokens;
}

function classifyColonRun(run: string, column: number): FilterToken | undefined {
  if (/^[0-9a-fA-F]{1,2}(:[0-9a-fA-F]{1,2}){5}$/.test(run)) return macToken(run, column);
  if (!/^[0-9a-fA-F:.]+$/.test(run)) return undefined;
  try {
    const bytes = parseIpv6(run);
    const words: number[] = [];
    for (let k = 0; k < 4; k++) words.push(readU32(bytes, 4 * k));
    return { kind: "ipv6", column, text: run, words };
  } catch {
    return undefined;
  }
}

function macToken(text: string, column: number): FilterToken {
  const digits =
    text.includes(":") || text.includes("-") || /^([0-9a-f]{1,2}\.){5}/i.test(text)
      ? text
          .split(/[:.-]/)
          .map((p) => p.padStart(2, "0"))
          .join("")
      : text.replaceAll(".", "");
  const high = Number.parseInt(digits.slice(0, 4), 16);
  const low = Number.parseInt(digits.slice(4), 16) >>> 0;
  return { kind: "mac", column, text, high, low };
}

function classifyWord(run: string, column: number, expression: string): FilterToken {
  if (/^[0-9]/.test(run)) {
    if (/^0[xX][0-9a-fA-F]+$/.test(run)) return numberToken(run, Number.parseInt(run.slice(2), 16), column, expression);
    if (/^0[0-7]+$/.test(run)) return numberToken(run, Number.parseInt(run.slice(1), 8), column, expression);
    if (/^(0|[1-9][0-9]*)$/.test(run)) return numberToken(run, Number.parseInt(run, 10), column, expression);
    if (/^[0-9]{1,3}(\.[0-9]{1,3}){1,3}$/.test(run)) {
      const parts = run.split(".").map(Number);
      if (parts.some((p) => p > 255)) {
        throw filterError(FilterErrorCode.BAD_ADDRESS, `invalid IPv4 address '${run}'`, expression, column);
      }
      let value = 0;
      for (const p of parts) value = value * 256 + p;
      const bits = parts.length * 8;
      return { kind: "ipv4", column, text: run, value: (value * 2 ** (32 - bits)) >>> 0, bits };
    }
    if (/^0[0-9]+$/.test(run)) {
      throw filterError(FilterErrorCode.BAD_NUMBER, `invalid octal number '${run}'`, expression, column);
    }
  }
  if (
    /^[0-9a-fA-F]{1,2}([.-][0-9a-fA-F]{1,2}){5}$/.test(run) ||
    /^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$/.test(run) ||
    (/^[0-9a-fA-F]{12}$/.test(run) && /[a-fA-F]/.test(run))
  ) {
    return macToken(run, column);
  }
  const constant = FILTER_CONSTANTS.get(run);
  if (constant !== undefined) return { kind: "num", column, text: run, value: constant };
  if (FILTER_KEYWORDS.has(run)) return { kind: "keyword", column, text: run };
  return { kind: "word", column, text: run, escaped: false };
}

function numberToken(text: string, value: number, column: number, expression: string): FilterToken {
  if (!(value <= MAX_UINT32)) {
    throw filterError(FilterErrorCode.BAD_NUMBER, `number ${text} overflows 32 bits`, expression, column);
  }
  return { kind: "num", column, text, value };
}
