import { formatHex, formatIpv6, formatMac, parseIpv6 } from "../address-text.ts";
import { anomaly } from "../anomaly.ts";
import { readU32, writeU32 } from "../byte-order.ts";
import type { PseudoHeader } from "../checksum.ts";
import { defineLayer } from "../layer-def.ts";
import type { TransportContext } from "../transport-context.ts";
import { type PseudoChecksumField, pseudoHeaderChecksum, verifyPseudoHeaderChecksum } from "./checksum-field.ts";
import { headerExtent } from "./header-extent.ts";
import {
  type DecodedIcmpHeader,
  encodeIcmpMessage,
  fastIcmp,
  ICMP,
  type IcmpHeaderFields,
  type IcmpNaming,
  icmpDecoder,
  icmpHeaderRows,
  icmpHeaderSummary,
  readIcmpHeader,
} from "./icmp.ts";
import { decodeIpv6Layer } from "./ipv6.ts";

/*
 * ICMPv6 (RFC 4443 §2.1), with Neighbor Discovery bodies (RFC 4861 §4):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Rest: echo Identifier|Sequence; Packet Too Big MTU; Param Problem|
 * | pointer; NA flags R S O; RA cur hop limit|M|O|router lifetime |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | RA: Reachable Time (32) Retrans Timer (32)                     |
 * | NS/NA/Redirect: Target Address (128) [Redirect: Destination]   |
 * | ND options: Type (8) Length (8, in 8-octet units) Value …      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Errors (1..4) carry as much of the invoking packet as fits. The checksum covers an IPv6
 * pseudo-header (next header 58) plus the whole message.
 */

export const ICMPV6_HEADER_SIZE = ICMP.size;
export const IP_PROTOCOL_ICMPV6 = 58;
const ICMPV6_CHECKSUM: PseudoChecksumField = { what: "ICMPv6", protocol: IP_PROTOCOL_ICMPV6, at: ICMP.checksum };

/** An ND option (type, then length in 8-octet units, then `data`, padded on encode). */
export interface NdOption {
  type: number;
  data: Uint8Array;
}

export interface Icmpv6Fields extends IcmpHeaderFields {
  /** Router Advertisement. */
  reachableTime?: number;
  retransTimer?: number;
  /** NS, NA, Redirect. */
  target?: string;
  /** Redirect. */
  destination?: string;
  /** Neighbor Discovery options (RS, RA, NS, NA, Redirect). */
  ndOptions?: NdOption[];
}

export type DecodedIcmpv6 = Icmpv6Fields & DecodedIcmpHeader;

export const NdType = { RS: 133, RA: 134, NS: 135, NA: 136, REDIRECT: 137 } as const;

/** Bytes of the fixed ND body after the 8-byte header, by type. */
function ndFixedBody(type: number): number {
  if (type === NdType.RS) return 0;
  if (type === NdType.RA) return 8;
  if (type === NdType.NS || type === NdType.NA) return 16;
  if (type === NdType.REDIRECT) return 32;
  return -1;
}

export function isIcmpv6Error(type: number): boolean {
  return type >= 1 && type <= 4;
}

export function decodeIcmpv6(
  bytes: Uint8Array,
  offset: number,
  end: number,
  context?: TransportContext,
): DecodedIcmpv6 {
  const available = end - offset;
  const length = context?.length ?? available;
  const header = readIcmpHeader(bytes, offset);
  const { type, rest } = header;
  const out: DecodedIcmpv6 = {
    ...header,
    checksumStatus: "unverified",
    quotesPacket: isIcmpv6Error(type),
    ...headerExtent("ICMPv6 header", ICMPV6_HEADER_SIZE, available),
  };
  const anomalies = out.anomalies;
  if (!out.complete) return out;
  if (type === 128 || type === 129) {
    out.id = rest >>> 16;
    out.seq = rest & 0xffff;
  }
  const fixed = ndFixedBody(type);
  if (fixed >= 0) {
    const limit = Math.min(end, offset + length);
    if (limit - offset - ICMP.size < fixed) {
      anomalies.push(anomaly("truncated", `ICMPv6 ${icmpv6TypeName(type)} body needs ${fixed} bytes`));
      out.complete = false;
    } else {
      let at = offset + ICMP.size;
      if (type === NdType.RA) {
        out.reachableTime = readU32(bytes, at);
        out.retransTimer = readU32(bytes, at + 4);
      } else if (type !== NdType.RS) {
        out.target = formatIpv6(bytes, at);
        if (type === NdType.REDIRECT) out.destination = formatIpv6(bytes, at + 16);
      }
      at += fixed;
      if (end - offset < length && !context?.quoted) {
        anomalies.push(anomaly("truncated", `ICMPv6 ${icmpv6TypeName(type)} options cut short by the capture`));
      }
      out.ndOptions = [];
      while (at < limit) {
        const units = bytes[at + 1] ?? 0;
        if (units === 0 || at + units * 8 > limit) {
          anomalies.push(
            anomaly("bad-option", `ND option ${bytes[at]} has length ${units * 8} (${limit - at} bytes left)`),
          );
          out.complete = false;
          break;
        }
        out.ndOptions.push({ type: bytes[at]!, data: bytes.slice(at + 2, at + units * 8) });
        at += units * 8;
      }
      out.headerLength = at - offset;
    }
  }
  out.checksumStatus = verifyPseudoHeaderChecksum(ICMPV6_CHECKSUM, bytes, offset, end, length, context, anomalies);
  return out;
}

export function encodeIcmpv6(fields: Icmpv6Fields, payload: Uint8Array, pseudo?: PseudoHeader): Uint8Array {
  const body: number[] = [];
  if (fields.reachableTime !== undefined || fields.retransTimer !== undefined) {
    const b = new Uint8Array(8);
    writeU32(b, 0, fields.reachableTime ?? 0);
    writeU32(b, 4, fields.retransTimer ?? 0);
    body.push(...b);
  }
  if (fields.target !== undefined) body.push(...parseIpv6(fields.target));
  if (fields.destination !== undefined) body.push(...parseIpv6(fields.destination));
  for (const option of fields.ndOptions ?? []) {
    const size = Math.ceil((option.data.length + 2) / 8) * 8;
    const b = new Uint8Array(size);
    b[0] = option.type;
    b[1] = size / 8;
    b.set(option.data.subarray(0, size - 2), 2);
    body.push(...b);
  }
  return encodeIcmpMessage(fields, body, payload, (message) => pseudoHeaderChecksum(message, pseudo, ICMPV6_CHECKSUM));
}

const typeNames = new Map<number, string>([
  [1, "dest-unreach"],
  [2, "packet-too-big"],
  [3, "time-exceeded"],
  [4, "parameter-problem"],
  [128, "echo-request"],
  [129, "echo-reply"],
  [130, "mld-query"],
  [131, "mld-report"],
  [132, "mld-done"],
  [133, "router-solicitation"],
  [134, "router-advertisement"],
  [135, "neighbor-solicitation"],
  [136, "neighbor-advertisement"],
  [137, "redirect"],
  [143, "mldv2-report"],
]);

export function icmpv6TypeName(type: number): string {
  return typeNames.get(type) ?? `type-${type}`;
}

export function icmpv6CodeName(type: number, code: number): string {
  if (type === 1) {
    return (
      [
        "no-route",
        "administratively-prohibited",
        "beyond-scope",
        "address-unreachable",
        "port-unreachable",
        "source-policy-failed",
        "reject-route",
      ][code] ?? `code-${code}`
    );
  }
  if (type === 3) return ["hop-limit-exceeded", "reassembly-time-exceeded"][code] ?? `code-${code}`;
  if (type === 4)
    return ["erroneous-header-field", "unrecognized-next-header", "unrecognized-option"][code] ?? `code-${code}`;
  return code === 0 ? "" : `code-${code}`;
}

export function describeIcmpv6Rest(type: number, rest: number): string {
  if (type === 128 || type === 129) return `id ${rest >>> 16}, seq ${rest & 0xffff}`;
  if (type === 2) return `MTU ${rest}`;
  if (type === 4) return `pointer ${rest}`;
  if (type === NdType.NA) {
    const flags = [rest & 0x80000000 ? "R" : "", rest & 0x40000000 ? "S" : "", rest & 0x20000000 ? "O" : ""].join("");
    return `flags ${flags || "none"}`;
  }
  if (type === NdType.RA) {
    return `cur hop limit ${rest >>> 24}, flags 0x${((rest >>> 16) & 0xff).toString(16)}, router lifetime ${rest & 0xffff}s`;
  }
  return rest === 0 ? "reserved" : `0x${rest.toString(16).padStart(8, "0")}`;
}

const ndOptionNames = new Map<number, string>([
  [1, "source link-layer address"],
  [2, "target link-layer address"],
  [3, "prefix information"],
  [4, "redirected header"],
  [5, "MTU"],
  [25, "recursive DNS server"],
]);

export function describeNdOption(option: NdOption): string {
  const name = ndOptionNames.get(option.type) ?? `option ${option.type}`;
  const d = option.data;
  if ((option.type === 1 || option.type === 2) && d.length >= 6) return `${name} ${formatMac(d, 0)}`;
  if (option.type === 5) return `${name} ${readU32(d, 2)}`;
  if (option.type === 3 && d.length >= 30) {
    return `${name} ${formatIpv6(d, 14)}/${d[0]} valid ${readU32(d, 2)}s preferred ${readU32(d, 6)}s`;
  }
  return `${name} ${formatHex(d)}`;
}

/** ND option with a link-layer address (type 1 source, 2 target). */
export function ndLinkAddressOption(type: 1 | 2, mac: Uint8Array): NdOption {
  return { type, data: mac };
}

const ICMPV6_NAMING: IcmpNaming = {
  typeName: icmpv6TypeName,
  codeName: icmpv6CodeName,
  describeRest: (type, _code, rest) => describeIcmpv6Rest(type, rest),
};

export const icmpv6Layer = defineLayer({
  type: "ICMPv6",
  info: { title: "ICMPv6", tcpip: "internet", osi: 3 },
  ipProtocols: [IP_PROTOCOL_ICMPV6],
  fast: fastIcmp,
  fastNext: "payload",
  // Its header is ICMP's; an incomplete Neighbor Discovery body still shows the message.
  decodeTransport: icmpDecoder("ICMPv6", decodeIcmpv6, decodeIpv6Layer),
  encode: (layer, payload, context) => encodeIcmpv6(layer.fields, payload, context.pseudo()),
  size: (layer) => encodeIcmpv6(layer.fields, new Uint8Array(0)).length,
  rows(layer) {
    const f = layer.fields;
    const rows = icmpHeaderRows(layer, ICMPV6_NAMING);
    if (f.reachableTime !== undefined) rows.push(["reachableTime", String(f.reachableTime), "ms"]);
    if (f.retransTimer !== undefined) rows.push(["retransTimer", String(f.retransTimer), "ms"]);
    if (f.target !== undefined) rows.push(["target", f.target]);
    if (f.destination !== undefined) rows.push(["destination", f.destination]);
    (f.ndOptions ?? []).forEach((o, i) => {
      rows.push([`ndOptions[${i}]`, String(o.type), describeNdOption(o)]);
    });
    return rows;
  },
  summary({ fields: f }) {
    const target = f.target !== undefined ? ` ${f.type === NdType.NS ? "who-has " : ""}${f.target}` : "";
    return `ICMPv6 ${icmpHeaderSummary(f, ICMPV6_NAMING)}${target}`;
  },
});
