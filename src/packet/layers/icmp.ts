import { formatIpv4 } from "../address-text.ts";
import type { ChecksumStatus, DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { internetChecksum } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { AnyLayer, ShowRow } from "../layer.ts";
import { type DecodeWalker, defineLayer, fieldsOf, type TransportDecoder } from "../layer-def.ts";
import { checksumMeaning, showHex } from "../show-format.ts";
import type { TransportContext } from "../transport-context.ts";
import { verifyOwnChecksum } from "./checksum-field.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";
import { decodeIpv4Layer } from "./ipv4.ts";

/*
 * ICMP for IPv4 (RFC 792):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     Type      |     Code      |          Checksum             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Rest of header: echo Identifier | Sequence Number;          |
 * |   unreachable unused | next-hop MTU (RFC 1191); redirect gateway|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Data: echo payload, or for errors (3, 4, 5, 11, 12) the      |
 * |   original IP header + at least 64 bits of its payload         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The checksum covers the ICMP header and data.
 */

/** The header ICMPv6 shares. */
export const ICMP = headerLayout({ type: 1, code: 1, checksum: 2, rest: 4 });
export const ICMP_HEADER_SIZE = ICMP.size;

/** The header ICMP and ICMPv6 share (RFC 792, RFC 4443 §2.1). */
export interface IcmpHeaderFields {
  type: number;
  code: number;
  /** Computed when undefined. */
  checksum?: number;
  /** The 32-bit rest-of-header word; built from id/seq when those are given. */
  rest?: number;
  /** Echo / timestamp / information messages: identifier and sequence (high and low half of `rest`). */
  id?: number;
  seq?: number;
}

export type IcmpFields = IcmpHeaderFields;

/** What decoding adds to an ICMP or ICMPv6 header. */
export interface DecodedIcmpHeader extends DecodeInfo {
  checksum: number;
  rest: number;
  checksumStatus: ChecksumStatus;
  /** True for error messages whose data is the quoted original datagram. */
  quotesPacket: boolean;
}

export type DecodedIcmp = IcmpFields & DecodedIcmpHeader;

const ECHO_LIKE = new Set([0, 8, 13, 14, 15, 16, 17, 18]);
const ERRORS = new Set([3, 4, 5, 11, 12]);

export function isIcmpError(type: number): boolean {
  return ERRORS.has(type);
}

/** The fields of the header ICMP and ICMPv6 share, read at `offset` (0 where not captured). */
export function readIcmpHeader(
  bytes: Uint8Array,
  offset: number,
): Required<Pick<IcmpHeaderFields, "type" | "code" | "checksum" | "rest">> {
  return {
    type: bytes[offset + ICMP.type] ?? 0,
    code: bytes[offset + ICMP.code] ?? 0,
    checksum: readU16(bytes, offset + ICMP.checksum),
    rest: readU32(bytes, offset + ICMP.rest),
  };
}

/** `length`: the ICMP message length per the IP header (checksum unverified when not all captured). */
export function decodeIcmp(bytes: Uint8Array, offset: number, end: number, length = end - offset): DecodedIcmp {
  const available = end - offset;
  const header = readIcmpHeader(bytes, offset);
  const extent = headerExtent("ICMP header", ICMP_HEADER_SIZE, available);
  let checksumStatus: ChecksumStatus = "unverified";
  if (extent.complete && available >= length) {
    checksumStatus = verifyOwnChecksum(
      "ICMP",
      bytes,
      offset,
      offset + length,
      offset + ICMP.checksum,
      extent.anomalies,
    );
  }
  const { type, rest } = header;
  return {
    ...header,
    ...(ECHO_LIKE.has(type) ? { id: rest >>> 16, seq: rest & 0xffff } : {}),
    checksumStatus,
    quotesPacket: ERRORS.has(type),
    ...extent,
  };
}

export function icmpRest(fields: Pick<IcmpFields, "rest" | "id" | "seq">): number {
  if (fields.id !== undefined || fields.seq !== undefined) {
    return ((((fields.id ?? 0) & 0xffff) << 16) | ((fields.seq ?? 0) & 0xffff)) >>> 0;
  }
  return (fields.rest ?? 0) >>> 0;
}

/**
 * An ICMP or ICMPv6 message: the header they share, `body` (ICMPv6's Neighbor Discovery fields),
 * then `payload`; unless given, the checksum is `checksumOf` the whole message (its field zero).
 */
export function encodeIcmpMessage(
  fields: IcmpHeaderFields,
  body: ArrayLike<number>,
  payload: Uint8Array,
  checksumOf: (message: Uint8Array) => number,
): Uint8Array {
  const out = new Uint8Array(ICMP_HEADER_SIZE + body.length + payload.length);
  out[ICMP.type] = fields.type;
  out[ICMP.code] = fields.code;
  writeU32(out, ICMP.rest, icmpRest(fields));
  out.set(body, ICMP_HEADER_SIZE);
  out.set(payload, ICMP_HEADER_SIZE + body.length);
  writeU16(out, ICMP.checksum, fields.checksum ?? checksumOf(out));
  return out;
}

const NO_BODY = new Uint8Array(0);

export function encodeIcmp(fields: IcmpFields, payload: Uint8Array): Uint8Array {
  return encodeIcmpMessage(fields, NO_BODY, payload, (message) => internetChecksum(message, 0, message.length));
}

const typeNames = new Map<number, string>([
  [0, "echo-reply"],
  [3, "dest-unreach"],
  [4, "source-quench"],
  [5, "redirect"],
  [8, "echo-request"],
  [9, "router-advertisement"],
  [10, "router-solicitation"],
  [11, "time-exceeded"],
  [12, "parameter-problem"],
  [13, "timestamp-request"],
  [14, "timestamp-reply"],
  [15, "information-request"],
  [16, "information-reply"],
  [17, "address-mask-request"],
  [18, "address-mask-reply"],
]);

const unreachableCodes = [
  "network-unreachable",
  "host-unreachable",
  "protocol-unreachable",
  "port-unreachable",
  "fragmentation-needed",
  "source-route-failed",
  "network-unknown",
  "host-unknown",
  "source-host-isolated",
  "network-prohibited",
  "host-prohibited",
  "network-unreachable-for-tos",
  "host-unreachable-for-tos",
  "communication-prohibited",
  "host-precedence-violation",
  "precedence-cutoff",
];

export function icmpTypeName(type: number): string {
  return typeNames.get(type) ?? `type-${type}`;
}

export function icmpCodeName(type: number, code: number): string {
  switch (type) {
    case 3:
      return unreachableCodes[code] ?? `code-${code}`;
    case 5:
      return ["redirect-network", "redirect-host", "redirect-tos-network", "redirect-tos-host"][code] ?? `code-${code}`;
    case 11:
      return ["ttl-exceeded-in-transit", "fragment-reassembly-time-exceeded"][code] ?? `code-${code}`;
    case 12:
      return ["pointer-indicates-error", "missing-required-option", "bad-length"][code] ?? `code-${code}`;
    default:
      return code === 0 ? "" : `code-${code}`;
  }
}

/** Meaning of the rest-of-header word for this type. */
export function describeIcmpRest(type: number, code: number, rest: number): string {
  if (ECHO_LIKE.has(type)) return `id ${rest >>> 16}, seq ${rest & 0xffff}`;
  if (type === 3 && code === 4) return `next-hop MTU ${rest & 0xffff}`;
  if (type === 5) {
    const b = new Uint8Array(4);
    writeU32(b, 0, rest);
    return `gateway ${formatIpv4(b)}`;
  }
  if (type === 12) return `pointer ${rest >>> 24}`;
  return rest === 0 ? "unused" : `0x${rest.toString(16).padStart(8, "0")}`;
}

/** How show() names the type, code and rest-of-header word of an ICMP or ICMPv6 message. */
export interface IcmpNaming {
  typeName(type: number): string;
  /** "" when the code needs no name (0 of a type without codes). */
  codeName(type: number, code: number): string;
  describeRest(type: number, code: number, rest: number): string;
}

/** The rows of the header ICMP and ICMPv6 share. */
export function icmpHeaderRows(
  { fields: f, checksumStatus }: { fields: IcmpHeaderFields; checksumStatus?: ChecksumStatus },
  naming: IcmpNaming,
): ShowRow[] {
  const rest = icmpRest(f);
  return [
    ["type", String(f.type), naming.typeName(f.type)],
    ["code", String(f.code), naming.codeName(f.type, f.code) || undefined],
    ["checksum", showHex(f.checksum, 4), checksumMeaning(checksumStatus)],
    ["rest", showHex(rest, 8), naming.describeRest(f.type, f.code, rest)],
  ];
}

/** The summary of the shared header: type name, code name, echo id and sequence. */
export function icmpHeaderSummary(f: IcmpHeaderFields, naming: IcmpNaming): string {
  const code = naming.codeName(f.type, f.code);
  const echo = f.id !== undefined ? ` id=${f.id} seq=${f.seq ?? 0}` : "";
  return `${naming.typeName(f.type)}${code ? ` ${code}` : ""}${echo}`;
}

const ICMP_NAMING: IcmpNaming = {
  typeName: icmpTypeName,
  codeName: icmpCodeName,
  describeRest: describeIcmpRest,
};

/** Fast read of an ICMP or ICMPv6 header (same first 4 bytes): type, code and payload extent. */
export function fastIcmp(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  out.l4Offset = p;
  if (end - p < 4) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.icmpType = buffer[p]!;
  out.icmpCode = buffer[p + 1]!;
  return out.setPayload(p + 4, Math.max(0, out.l4Length - 4), end);
}

/**
 * The slow decode ICMP and ICMPv6 share: the message (Raw naming it when its 8-byte header is cut
 * short), then the datagram an error quotes (`decodeQuoted`: IPv4 or IPv6), else the rest as Raw.
 */
export function icmpDecoder<D extends IcmpHeaderFields & DecodedIcmpHeader>(
  type: "ICMP" | "ICMPv6",
  decode: (bytes: Uint8Array, offset: number, end: number, context: TransportContext) => D,
  decodeQuoted: (w: DecodeWalker, offset: number, end: number, quoted: boolean) => number,
): TransportDecoder {
  return (w, offset, end, context) => {
    const quoted = context.quoted === true;
    const d = decode(w.bytes, offset, end, context);
    if (d.headerLength < ICMP_HEADER_SIZE) {
      w.raw(offset, end, quoted, type, d.anomalies);
      return;
    }
    w.push({ type, fields: fieldsOf(d) } as AnyLayer, d, offset, quoted);
    if (d.quotesPacket && !quoted && end - offset > ICMP_HEADER_SIZE) {
      // Bytes after the quoted datagram (an RFC 4884 extension structure, e.g. RFC 4950's MPLS labels).
      w.raw(decodeQuoted(w, offset + ICMP_HEADER_SIZE, end, true), end, true);
    } else {
      w.raw(offset + d.headerLength, end, quoted);
    }
  };
}

export const icmpLayer = defineLayer({
  type: "ICMP",
  info: { title: "ICMP", tcpip: "internet", osi: 3 },
  ipProtocols: [1],
  fast: fastIcmp,
  fastNext: "payload",
  decodeTransport: icmpDecoder(
    "ICMP",
    // A fragment's checksum cannot be verified (the rest of the message is in other fragments), as tshark.
    (bytes, offset, end, context) =>
      decodeIcmp(bytes, offset, end, context.fragment ? Number.POSITIVE_INFINITY : context.length),
    decodeIpv4Layer,
  ),
  encode: (layer, payload) => encodeIcmp(layer.fields, payload),
  size: () => ICMP_HEADER_SIZE,
  rows: (layer) => icmpHeaderRows(layer, ICMP_NAMING),
  summary: ({ fields: f }) => `ICMP ${icmpHeaderSummary(f, ICMP_NAMING)}`,
});
