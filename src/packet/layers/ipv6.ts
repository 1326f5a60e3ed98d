import { formatHex, formatIpv6, parseIpv6 } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { concatBytes, readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection, MAX_DEPTH } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { type DecodeWalker, defineLayer } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex, showNum } from "../show-format.ts";
import { codeTable } from "./code-table.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";
import {
  fastCheckWireLength,
  fastIpHeaderStart,
  type IpPayload,
  ipPacketDecoders,
  ipPseudoHeader,
  walkIpPacket,
} from "./ip-packet.ts";
import { describeTos, ipProtocolName } from "./ipv4.ts";

/*
 * IPv6 header (RFC 8200 §3):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version| Traffic Class |           Flow Label                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Payload Length        |  Next Header  |   Hop Limit   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                         Source Address (128 bits)             +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               |
 * +                      Destination Address (128 bits)           +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Extension headers (RFC 8200 §4) follow in order, each starting with
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Header  |  Hdr Ext Len  |  … (Hop-by-Hop 0, Routing 43, Destination Options 60:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+      length in 8-octet units not counting the first 8)
 * Fragment (44): Next Header, Reserved, Fragment Offset (13 bits) | Res (2) | M, Identification (32).
 * AH (51, RFC 4302): Next Header, Payload Len (4-octet units minus 2), Reserved, SPI, Sequence, ICV.
 */

const IPV6 = headerLayout({ versionClassFlow: 4, payloadLength: 2, nextHeader: 1, hopLimit: 1, src: 16, dst: 16 });
export const IPV6_HEADER_SIZE = IPV6.size;
export const IPV6_MAX_EXTENSIONS = 8;

const IPV6_EXTENSIONS = codeTable({
  HOP_BY_HOP: [0, "Hop-by-Hop Options"],
  ROUTING: [43, "Routing"],
  FRAGMENT: [44, "Fragment"],
  AH: [51, "Authentication Header"],
  DESTINATION: [60, "Destination Options"],
  MOBILITY: [135, "Mobility"],
});

export const Ipv6ExtensionType = IPV6_EXTENSIONS.codes;

export function isIpv6Extension(nextHeader: number): boolean {
  return IPV6_EXTENSIONS.names.has(nextHeader);
}

/**
 * One extension header as on the wire: `nextHeader`, the length byte, then `data` (everything
 * after the first two bytes). `length` is the raw second byte (Hdr Ext Len; AH Payload Len;
 * Fragment's reserved byte); both are computed when undefined. `data` is zero-padded to the
 * header's 8- (or AH 4-) octet multiple on encode (zeros are Pad1 options).
 */
export interface Ipv6Extension {
  type: number;
  nextHeader?: number;
  length?: number;
  data: Uint8Array;
}

export interface Ipv6Fields {
  version: number;
  trafficClass: number;
  flowLabel: number;
  /** Computed (extensions + payload) when undefined. */
  payloadLength?: number;
  /** Type of the first extension header or the upper layer; filled by the builder. */
  nextHeader?: number;
  hopLimit: number;
  src: string;
  dst: string;
  extensions: Ipv6Extension[];
}

export interface DecodedIpv6 extends Ipv6Fields, DecodeInfo {
  payloadLength: number;
  nextHeader: number;
  extensions: Required<Ipv6Extension>[];
  /** Protocol after the last extension header. */
  upperProtocol: number;
  /** From a Fragment header: offset in 8-octet units, M flag, identification. */
  fragment: { offset: number; more: number; id: number } | undefined;
}

function extensionSize(type: number, lengthByte: number): number {
  if (type === Ipv6ExtensionType.FRAGMENT) return 8;
  if (type === Ipv6ExtensionType.AH) return (lengthByte + 2) * 4;
  return (lengthByte + 1) * 8;
}

/**
 * The Jumbo Payload length (RFC 2675) of the IPv6 packet at `offset`, or -1: a jumbogram (a Linux
 * BIG TCP packet) has payload length 0 and a Hop-by-Hop option 0xC2 holding the 32-bit length
 * (counted as the payload length is, from the end of the fixed header).
 */
export function jumboPayloadLength(bytes: Uint8Array, offset: number, end: number): number {
  const hbh = offset + IPV6_HEADER_SIZE;
  if (hbh + 2 > end || bytes[offset + IPV6.nextHeader] !== Ipv6ExtensionType.HOP_BY_HOP) return -1;
  if (((bytes[offset + IPV6.payloadLength]! << 8) | bytes[offset + IPV6.payloadLength + 1]!) !== 0) return -1;
  const optionsEnd = Math.min(end, hbh + (bytes[hbh + 1]! + 1) * 8);
  let at = hbh + 2;
  while (at < optionsEnd) {
    const type = bytes[at]!;
    if (type === 0) {
      at++;
      continue;
    }
    if (at + 2 > optionsEnd) return -1;
    const length = bytes[at + 1]!;
    if (type === JUMBO_OPTION && length === 4 && at + 6 <= optionsEnd) return readU32(bytes, at + 2);
    at += 2 + length;
  }
  return -1;
}

const JUMBO_OPTION = 0xc2;

/** The payload length the packet at `offset` has: its header's, or its Jumbo Payload option's. */
function effectivePayloadLength(bytes: Uint8Array, offset: number, end: number, payloadLength: number): number {
  if (payloadLength !== 0) return payloadLength;
  const jumbo = jumboPayloadLength(bytes, offset, end);
  return jumbo >= 0 ? jumbo : 0;
}

export function decodeIpv6(bytes: Uint8Array, offset: number, end: number): DecodedIpv6 {
  const extent = headerExtent("IPv6 header", IPV6_HEADER_SIZE, end - offset);
  const { complete, anomalies } = extent;
  const first = readU32(bytes, offset + IPV6.versionClassFlow);
  const version = first >>> 28;
  const payloadLength = readU16(bytes, offset + IPV6.payloadLength);
  const nextHeader = bytes[offset + IPV6.nextHeader] ?? 0;
  const extensions: Required<Ipv6Extension>[] = [];
  let upperProtocol = nextHeader;
  let fragment: DecodedIpv6["fragment"];
  let at = offset + IPV6_HEADER_SIZE;
  if (complete) {
    if (version !== 6) anomalies.push(anomaly("bad-version", `IPv6 header has version ${version}`));
    const carried = effectivePayloadLength(bytes, offset, end, payloadLength);
    const limit = Math.min(end, offset + IPV6_HEADER_SIZE + carried);
    while (isIpv6Extension(upperProtocol)) {
      if (extensions.length >= IPV6_MAX_EXTENSIONS) {
        anomalies.push(anomaly("too-deep", `more than ${IPV6_MAX_EXTENSIONS} IPv6 extension headers`));
        break;
      }
      if (limit - at < 2) {
        anomalies.push(anomaly("truncated", `IPv6 ${extensionName(upperProtocol)} header cut short`));
        break;
      }
      const lengthByte = bytes[at + 1]!;
      const size = extensionSize(upperProtocol, lengthByte);
      if (at + size > limit) {
        const within = offset + IPV6_HEADER_SIZE + carried;
        anomalies.push(
          at + size > within
            ? anomaly("bad-length", `IPv6 ${extensionName(upperProtocol)} header of ${size} bytes exceeds the payload`)
            : anomaly("truncated", `IPv6 ${extensionName(upperProtocol)} header of ${size} bytes cut short`),
        );
        break;
      }
      const ext = {
        type: upperProtocol,
        nextHeader: bytes[at]!,
        length: lengthByte,
        data: bytes.slice(at + 2, at + size),
      };
      if (ext.type === Ipv6ExtensionType.FRAGMENT) {
        const word = readU16(bytes, at + 2);
        fragment = { offset: word >> 3, more: word & 1, id: readU32(bytes, at + 4) };
      }
      extensions.push(ext);
      upperProtocol = ext.nextHeader;
      at += size;
    }
    extent.headerLength = at - offset;
  }
  return {
    version,
    trafficClass: (first >>> 20) & 0xff,
    flowLabel: first & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: bytes[offset + IPV6.hopLimit] ?? 0,
    src: complete ? formatIpv6(bytes, offset + IPV6.src) : "",
    dst: complete ? formatIpv6(bytes, offset + IPV6.dst) : "",
    extensions,
    upperProtocol,
    fragment,
    ...extent,
  };
}

/** Encodes the extension chain; `upper` is the protocol after the last extension. */
export function encodeIpv6Extensions(extensions: readonly Ipv6Extension[], upper: number): Uint8Array {
  const parts: Uint8Array[] = [];
  extensions.forEach((ext, i) => {
    const unit = ext.type === Ipv6ExtensionType.AH ? 4 : 8;
    const size =
      ext.type === Ipv6ExtensionType.FRAGMENT ? 8 : Math.max(8, Math.ceil((ext.data.length + 2) / unit) * unit);
    const out = new Uint8Array(size);
    out[0] = ext.nextHeader ?? extensions[i + 1]?.type ?? upper;
    out[1] =
      ext.length ??
      (ext.type === Ipv6ExtensionType.FRAGMENT ? 0 : ext.type === Ipv6ExtensionType.AH ? size / 4 - 2 : size / 8 - 1);
    out.set(ext.data.subarray(0, size - 2), 2);
    parts.push(out);
  });
  return concatBytes(...parts);
}

export function ipv6HeaderSize(fields: Pick<Ipv6Fields, "extensions">): number {
  return IPV6_HEADER_SIZE + encodeIpv6Extensions(fields.extensions, 59).length;
}

/** `upper` (protocol after the extensions) defaults to `fields.nextHeader` when there are none. */
export function encodeIpv6(fields: Ipv6Fields, payload: Uint8Array, upper = fields.nextHeader ?? 59): Uint8Array {
  const extensionBytes = encodeIpv6Extensions(fields.extensions, upper);
  const out = new Uint8Array(IPV6_HEADER_SIZE + extensionBytes.length + payload.length);
  writeU32(
    out,
    IPV6.versionClassFlow,
    (((fields.version & 0x0f) << 28) | ((fields.trafficClass & 0xff) << 20) | (fields.flowLabel & 0xfffff)) >>> 0,
  );
  writeU16(out, IPV6.payloadLength, fields.payloadLength ?? extensionBytes.length + payload.length);
  out[IPV6.nextHeader] = fields.nextHeader ?? fields.extensions[0]?.type ?? upper;
  out[IPV6.hopLimit] = fields.hopLimit;
  out.set(parseIpv6(fields.src), IPV6.src);
  out.set(parseIpv6(fields.dst), IPV6.dst);
  out.set(extensionBytes, IPV6_HEADER_SIZE);
  out.set(payload, IPV6_HEADER_SIZE + extensionBytes.length);
  return out;
}

/** Extension header helpers for the builder. */
export const ipv6Extension = {
  /** Hop-by-Hop options; default is a Router Alert (MLD, value 0) padded with PadN. */
  hopByHop: (options: Uint8Array = Uint8Array.of(5, 2, 0, 0, 1, 0)): Ipv6Extension => ({ type: 0, data: options }),
  destination: (options: Uint8Array = Uint8Array.of(1, 4, 0, 0, 0, 0)): Ipv6Extension => ({ type: 60, data: options }),
  /** Routing type 0/2 style: routing type, segments left, reserved, addresses. */
  routing: (addresses: readonly string[], routingType = 0, segmentsLeft = addresses.length): Ipv6Extension => {
    const data = new Uint8Array(6 + 16 * addresses.length);
    data[0] = routingType;
    data[1] = segmentsLeft;
    addresses.forEach((a, i) => {
      data.set(parseIpv6(a), 6 + 16 * i);
    });
    return { type: 43, data };
  },
  fragment: (offset: number, more: number, id: number): Ipv6Extension => {
    const data = new Uint8Array(6);
    writeU16(data, 0, ((offset & 0x1fff) << 3) | (more & 1));
    writeU32(data, 2, id);
    return { type: 44, data };
  },
  /** AH with a 12-byte ICV (HMAC-96). */
  ah: (spi: number, sequence: number, icv: Uint8Array = new Uint8Array(12)): Ipv6Extension => {
    const data = new Uint8Array(10 + icv.length);
    writeU32(data, 2, spi);
    writeU32(data, 6, sequence);
    data.set(icv, 10);
    return { type: 51, data };
  },
};

export function extensionName(type: number): string {
  return IPV6_EXTENSIONS.names.get(type) ?? `unknown (${type})`;
}

const tlvOptionNames = new Map<number, string>([
  [0, "Pad1"],
  [1, "PadN"],
  [5, "Router Alert"],
  [0xc2, "Jumbo Payload"],
  [0x04, "Tunnel Encapsulation Limit"],
  [0xc9, "Home Address"],
  [0x63, "RPL"],
]);

/** Human description of an extension's contents. */
export function describeIpv6Extension(ext: Ipv6Extension): string {
  const d = ext.data;
  const name = extensionName(ext.type);
  switch (ext.type) {
    case 0:
    case 60: {
      const items: string[] = [];
      for (let i = 0; i < d.length; ) {
        const type = d[i]!;
        if (type === 0) {
          items.push("Pad1");
          i++;
          continue;
        }
        const length = d[i + 1] ?? 0;
        const value = d.subarray(i + 2, i + 2 + length);
        const label = tlvOptionNames.get(type) ?? `option ${type}`;
        items.push(
          type === 5 ? `${label} ${readU16(value, 0)}` : type === 1 ? `PadN ${length}` : `${label} ${formatHex(value)}`,
        );
        i += 2 + length;
      }
      return `${name}: ${items.join(", ")}`;
    }
    case 43: {
      const routingType = d[0] ?? 0;
      const addresses: string[] = [];
      if (routingType === 0 || routingType === 2)
        for (let i = 6; i + 16 <= d.length; i += 16) addresses.push(formatIpv6(d, i));
      return `${name}: type ${routingType}, segments left ${d[1] ?? 0}${addresses.length > 0 ? `, ${addresses.join(" ")}` : ""}`;
    }
    case 44: {
      const word = readU16(d, 0);
      return `${name}: offset ${(word >> 3) * 8} bytes, M=${word & 1}, id 0x${readU32(d, 2).toString(16).padStart(8, "0")}`;
    }
    case 51:
      return `${name}: SPI 0x${readU32(d, 2).toString(16).padStart(8, "0")}, sequence ${readU32(d, 6)}, ICV ${formatHex(d, 10)}`;
    default:
      return `${name}: ${d.length + 2} bytes`;
  }
}

/**
 * Where the final destination stands in a Routing header of `size` bytes that still has segments
 * left (offset from the header's start), or -1: the last address of a type 0 (RFC 2460) or type 2
 * (RFC 6275) header, Segment List[0] of a Segment Routing Header (type 4, RFC 8754), which lists
 * the segments last first. tshark keys conversations by it, as transport checksums do.
 */
function finalAddressAt(routingType: number, segmentsLeft: number, size: number): number {
  if (segmentsLeft === 0 || size < 24) return -1;
  if (routingType === 0 || routingType === 2) return 8 + (Math.floor((size - 8) / 16) - 1) * 16;
  if (routingType === 4) return 8;
  return -1;
}

/**
 * The destination a transport pseudo-header uses (RFC 8200 §8.1): with a Routing header whose
 * segments left > 0 (types 0, 2 and 4), its final address (`finalAddressAt`); else the header's
 * destination.
 */
export function ipv6FinalDestination(fields: Pick<Ipv6Fields, "dst" | "extensions">): string {
  for (const ext of fields.extensions) {
    if (ext.type !== Ipv6ExtensionType.ROUTING) continue;
    const d = ext.data;
    const routingType = d[0] ?? 0;
    const at = finalAddressAt(routingType, d[1] ?? 0, d.length + 2);
    if (at >= 0) return formatIpv6(d, at - 2);
  }
  return fields.dst;
}

function u32(buffer: Uint8Array, p: number): number {
  return ((buffer[p]! << 24) | (buffer[p + 1]! << 16) | (buffer[p + 2]! << 8) | buffer[p + 3]!) >>> 0;
}

/** Fast read: header and extension chain into `out`; the transport starts at the returned offset (-1: none). */
function fastIpv6(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (!fastIpHeaderStart(buffer, p, end, out, 0x86dd, IPV6_HEADER_SIZE, 6)) return -1;
  out.tos = ((buffer[p]! & 0x0f) << 4) | (buffer[p + 1]! >> 4);
  let payloadLength = (buffer[p + IPV6.payloadLength]! << 8) | buffer[p + IPV6.payloadLength + 1]!;
  if (payloadLength === 0) payloadLength = effectivePayloadLength(buffer, p, end, 0);
  let next = buffer[p + IPV6.nextHeader]!;
  out.ttl = buffer[p + IPV6.hopLimit]!;
  out.markV6Written();
  for (let i = 0; i < 4; i++) {
    out.src6[i] = u32(buffer, p + IPV6.src + i * 4);
    out.dst6[i] = u32(buffer, p + IPV6.dst + i * 4);
  }
  out.ipTotalLength = IPV6_HEADER_SIZE + payloadLength;
  fastCheckWireLength(p, out.ipTotalLength, out);
  const limit = Math.min(end, p + IPV6_HEADER_SIZE + payloadLength);
  let q = p + IPV6_HEADER_SIZE;
  let depth = 0;
  while (
    next === Ipv6ExtensionType.HOP_BY_HOP ||
    next === Ipv6ExtensionType.ROUTING ||
    next === Ipv6ExtensionType.DESTINATION ||
    next === Ipv6ExtensionType.MOBILITY ||
    next === Ipv6ExtensionType.AH ||
    next === Ipv6ExtensionType.FRAGMENT
  ) {
    if (++depth > MAX_DEPTH) {
      out.anomalies |= Anomaly.TOO_DEEP;
      return -1;
    }
    if (limit - q < 8) {
      out.anomalies |= Anomaly.TRUNCATED;
      out.ipProto = next;
      return -1;
    }
    const following = buffer[q]!;
    let length: number;
    if (next === Ipv6ExtensionType.FRAGMENT) {
      const fragField = (buffer[q + 2]! << 8) | buffer[q + 3]!;
      out.fragmentOffset = fragField & 0xfff8;
      out.moreFragments = (fragField & 1) !== 0;
      out.ipId = u32(buffer, q + 4);
      length = 8;
    } else if (next === Ipv6ExtensionType.AH) {
      length = (buffer[q + 1]! + 2) * 4;
    } else {
      length = (buffer[q + 1]! + 1) * 8;
      if (next === Ipv6ExtensionType.ROUTING) {
        const at = finalAddressAt(buffer[q + 2]!, buffer[q + 3]!, length);
        if (at >= 0 && q + at + 16 <= limit) for (let i = 0; i < 4; i++) out.dst6[i] = u32(buffer, q + at + i * 4);
      }
    }
    q += length;
    next = following;
  }
  out.ipProto = next;
  out.ipHeaderLength = q - p;
  if (q > limit) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (out.fragmentOffset > 0) return -1;
  out.l4End = limit;
  out.l4Length = p + IPV6_HEADER_SIZE + payloadLength - q;
  return q;
}

/** Slow decode of an IPv6 packet (also quoted in ICMPv6 errors and tunnelled as IP protocol 41). */
export function decodeIpv6Layer(w: DecodeWalker, offset: number, end: number, quoted: boolean): number {
  const d = decodeIpv6(w.bytes, offset, end);
  const laterFragment = d.fragment !== undefined && d.fragment.offset > 0;
  const payload: IpPayload = {
    total: IPV6_HEADER_SIZE + effectivePayloadLength(w.bytes, offset, end, d.payloadLength),
    tooLong: () => `IPv6 payload length ${d.payloadLength} exceeds the bytes on the wire`,
    protocol: d.version === 6 && !isIpv6Extension(d.upperProtocol) && !laterFragment ? d.upperProtocol : -1,
    pseudo: () => {
      const routed = d.extensions.length === 0 ? undefined : parseIpv6(ipv6FinalDestination(d));
      return ipPseudoHeader(w.bytes, offset + IPV6.src, 16, routed);
    },
    fragment: d.fragment !== undefined,
  };
  return walkIpPacket(w, "IPv6", d, offset, end, quoted, payload, "upperProtocol");
}

export const ipv6Layer = defineLayer({
  type: "IPv6",
  info: { title: "IPv6", tcpip: "internet", osi: 3 },
  linkTypes: [LinkType.IPV6],
  etherTypes: [0x86dd],
  pppProtocols: [0x0057],
  ipProtocols: [41],
  fast: fastIpv6,
  fastNext: "ip",
  ...ipPacketDecoders(decodeIpv6Layer),
  encode: (layer, payload, context) => encodeIpv6(layer.fields, payload, context.nextIpProtocol ?? 59),
  size: (layer) => ipv6HeaderSize(layer.fields),
  rows({ fields: f }) {
    const rows: ShowRow[] = [
      ["version", String(f.version)],
      ["trafficClass", showHex(f.trafficClass, 2), describeTos(f.trafficClass)],
      ["flowLabel", showHex(f.flowLabel, 5)],
      ["payloadLength", showNum(f.payloadLength)],
      ["nextHeader", showNum(f.nextHeader), f.nextHeader === undefined ? undefined : ipProtocolName(f.nextHeader)],
      ["hopLimit", String(f.hopLimit)],
      ["src", f.src],
      ["dst", f.dst],
    ];
    f.extensions.forEach((e, i) => {
      rows.push([
        `extensions[${i}]`,
        String(e.type),
        `${describeIpv6Extension(e)}; next header ${e.nextHeader ?? "auto"}`,
      ]);
    });
    return rows;
  },
  summary({ fields: f }) {
    const fragment = f.extensions.find((e) => e.type === Ipv6ExtensionType.FRAGMENT);
    return `IPv6 ${f.src} > ${f.dst}${fragment ? " frag" : ""}`;
  },
});
