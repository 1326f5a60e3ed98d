import { formatIpv4, parseIpv4 } from "../address-text.ts";
import { anomaly, type ChecksumStatus, type DecodeInfo, type LayerAnomaly } from "../anomaly.ts";
import { readU16, readU32, writeU16 } from "../byte-order.ts";
import { internetChecksum } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { type DecodeWalker, defineLayer } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { checksumMeaning, showHex, showNum } from "../show-format.ts";
import { verifyOwnChecksum } from "./checksum-field.ts";
import { codeTable } from "./code-table.ts";
import { headerLayout } from "./header-layout.ts";
import { fastCheckWireLength, fastIpHeaderStart, ipPacketDecoders, ipPseudoHeader, walkIpPacket } from "./ip-packet.ts";
import { decodeOptionList, encodeOptionList, type OptionListFormat } from "./option-list.ts";

/*
 * IPv4 header (RFC 791 §3.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Version|  IHL  |Type of Service|          Total Length         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |         Identification        |Flags|      Fragment Offset    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Time to Live |    Protocol   |         Header Checksum       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       Source Address                          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Destination Address                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Options                    |    Padding    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Flags: bit 0 reserved ("evil bit", RFC 3514), bit 1 DF, bit 2 MF. Type of Service is
 * DSCP (6 bits, RFC 2474) + ECN (2 bits, RFC 3168).
 */

/** The fixed header; options follow it. */
const IPV4 = headerLayout({
  versionIhl: 1,
  tos: 1,
  totalLength: 2,
  id: 2,
  flagsFragment: 2,
  ttl: 1,
  protocol: 1,
  checksum: 2,
  src: 4,
  dst: 4,
});
export const IPV4_HEADER_SIZE = IPV4.size;
/**
 * The total length of a segment captured on its sender before TCP segmentation offload (or of a
 * Linux BIG TCP packet): as tshark does, the packet is then the rest of the frame on the wire.
 */
const TSO_TOTAL_LENGTH = 0;
export const IPV4_MAX_HEADER_SIZE = 60;

const IPV4_OPTION_TYPES = codeTable({
  EOL: [0, "End of Option List"],
  NOP: [1, "No-Operation"],
  SECURITY: [130, "Security"],
  LSRR: [131, "Loose Source Route"],
  EXTENDED_SECURITY: [133, "Extended Security"],
  COMMERCIAL_SECURITY: [134, "Commercial Security"],
  RECORD_ROUTE: [7, "Record Route"],
  STREAM_ID: [136, "Stream ID"],
  SSRR: [137, "Strict Source Route"],
  TIMESTAMP: [68, "Timestamp"],
  TRACEROUTE: [82, "Traceroute"],
  ROUTER_ALERT: [148, "Router Alert"],
  QUICK_START: [25, "Quick-Start"],
});

export const Ipv4OptionType = IPV4_OPTION_TYPES.codes;

/**
 * One option as on the wire: `type`, then (except EOL/NOP) a length byte = data.length + 2, then `data`.
 * EOL carries the rest of the option area (padding) as `data`, so re-encoding is byte-exact.
 * `raw` marks an option whose length byte was impossible: `data` is then every byte after the
 * type byte, written back verbatim.
 */
export interface Ipv4Option {
  type: number;
  data: Uint8Array;
  raw?: boolean;
}

export interface Ipv4Fields {
  version: number;
  /** Header length in 32-bit words; computed from the options when undefined. */
  ihl?: number;
  /** DSCP << 2 | ECN. */
  tos: number;
  /** Computed from header + payload when undefined. */
  totalLength?: number;
  id: number;
  /** Reserved flag bit (must be 0). */
  reserved: number;
  /** Don't Fragment, 0 or 1. */
  df: number;
  /** More Fragments, 0 or 1. */
  mf: number;
  /** Fragment offset in 8-byte units. */
  fragOffset: number;
  ttl: number;
  /** Filled by the builder from the next layer. */
  protocol?: number;
  /** Computed when undefined (set it to craft a bad checksum). */
  checksum?: number;
  src: string;
  dst: string;
  options: Ipv4Option[];
}

export interface DecodedIpv4 extends Ipv4Fields, DecodeInfo {
  ihl: number;
  totalLength: number;
  checksum: number;
  protocol: number;
  checksumStatus: ChecksumStatus;
  /** True for any fragment (MF set or offset > 0). */
  fragment: boolean;
}

export function decodeIpv4(bytes: Uint8Array, offset: number, end: number): DecodedIpv4 {
  const available = end - offset;
  const anomalies: LayerAnomaly[] = [];
  const vihl = bytes[offset + IPV4.versionIhl] ?? 0;
  const version = vihl >> 4;
  const ihl = vihl & 0x0f;
  const headerBytes = ihl * 4;
  const totalLength = readU16(bytes, offset + IPV4.totalLength);
  const flags = readU16(bytes, offset + IPV4.flagsFragment);
  let complete = true;
  if (available < IPV4_HEADER_SIZE) {
    anomalies.push(anomaly("truncated", `IPv4 header needs 20 bytes, ${available} captured`));
    complete = false;
  } else if (version !== 4) {
    anomalies.push(anomaly("bad-version", `IPv4 header has version ${version}`));
  }
  if (complete && ihl < 5) {
    anomalies.push(anomaly("bad-length", `header length ${headerBytes} bytes (IHL ${ihl}) < 20`));
    complete = false;
  } else if (complete && available < headerBytes) {
    anomalies.push(anomaly("truncated", `IPv4 header with options needs ${headerBytes} bytes, ${available} captured`));
    complete = false;
  }
  if (complete && totalLength < headerBytes && totalLength !== TSO_TOTAL_LENGTH) {
    anomalies.push(anomaly("bad-length", `total length ${totalLength} < header length ${headerBytes}`));
  }
  const checksum = readU16(bytes, offset + IPV4.checksum);
  let checksumStatus: ChecksumStatus = "unverified";
  let options: Ipv4Option[] = [];
  if (complete) {
    checksumStatus = verifyOwnChecksum(
      "IPv4 header",
      bytes,
      offset,
      offset + headerBytes,
      offset + IPV4.checksum,
      anomalies,
    );
    options = decodeIpv4Options(bytes, offset + IPV4.size, offset + headerBytes, anomalies);
  }
  const fragOffset = flags & 0x1fff;
  const mf = (flags >> 13) & 1;
  return {
    version,
    ihl,
    tos: bytes[offset + IPV4.tos] ?? 0,
    totalLength,
    id: readU16(bytes, offset + IPV4.id),
    reserved: flags >> 15,
    df: (flags >> 14) & 1,
    mf,
    fragOffset,
    ttl: bytes[offset + IPV4.ttl] ?? 0,
    protocol: bytes[offset + IPV4.protocol] ?? 0,
    checksum,
    src: formatIpv4(bytes, offset + IPV4.src),
    dst: formatIpv4(bytes, offset + IPV4.dst),
    options,
    checksumStatus,
    fragment: mf === 1 || fragOffset > 0,
    headerLength: complete ? headerBytes : Math.max(0, Math.min(available, IPV4_HEADER_SIZE)),
    complete,
    anomalies,
  };
}

const IPV4_OPTIONS: OptionListFormat = { protocol: "IPv4", codeName: "type", names: IPV4_OPTION_TYPES.names };

function decodeIpv4Options(bytes: Uint8Array, start: number, end: number, anomalies: LayerAnomaly[]): Ipv4Option[] {
  return decodeOptionList(bytes, start, end, anomalies, IPV4_OPTIONS, (type, data, raw) =>
    raw ? { type, data, raw } : { type, data },
  );
}

/** The option area bytes (not yet padded). */
export function encodeIpv4Options(options: readonly Ipv4Option[]): Uint8Array {
  return encodeOptionList(options, (option) => option.type);
}

export function ipv4HeaderSize(fields: Pick<Ipv4Fields, "options">): number {
  const optionBytes = encodeIpv4Options(fields.options).length;
  return IPV4_HEADER_SIZE + Math.ceil(optionBytes / 4) * 4;
}

export function encodeIpv4(fields: Ipv4Fields, payload: Uint8Array): Uint8Array {
  const optionBytes = encodeIpv4Options(fields.options);
  const headerBytes = IPV4_HEADER_SIZE + Math.ceil(optionBytes.length / 4) * 4;
  const out = new Uint8Array(headerBytes + payload.length);
  const ihl = fields.ihl ?? headerBytes / 4;
  out[IPV4.versionIhl] = ((fields.version & 0x0f) << 4) | (ihl & 0x0f);
  out[IPV4.tos] = fields.tos;
  writeU16(out, IPV4.totalLength, fields.totalLength ?? headerBytes + payload.length);
  writeU16(out, IPV4.id, fields.id);
  writeU16(
    out,
    IPV4.flagsFragment,
    ((fields.reserved & 1) << 15) | ((fields.df & 1) << 14) | ((fields.mf & 1) << 13) | (fields.fragOffset & 0x1fff),
  );
  out[IPV4.ttl] = fields.ttl;
  out[IPV4.protocol] = fields.protocol ?? 0;
  out.set(parseIpv4(fields.src), IPV4.src);
  out.set(parseIpv4(fields.dst), IPV4.dst);
  out.set(optionBytes, IPV4.size);
  writeU16(out, IPV4.checksum, fields.checksum ?? internetChecksum(out, 0, headerBytes));
  out.set(payload, headerBytes);
  return out;
}

/** Option helpers for the builder. */
export const ipv4Option = {
  eol: (padding = 0): Ipv4Option => ({ type: 0, data: new Uint8Array(padding) }),
  nop: (): Ipv4Option => ({ type: 1, data: new Uint8Array(0) }),
  routerAlert: (value = 0): Ipv4Option => ({ type: 148, data: Uint8Array.of(value >> 8, value & 0xff) }),
  /** Record Route with room for `slots` addresses (pointer 4, empty slots). */
  recordRoute: (slots = 9, addresses: readonly string[] = []): Ipv4Option =>
    routeOption(7, slots, addresses, 4 + 4 * addresses.length),
  lsrr: (addresses: readonly string[]): Ipv4Option => routeOption(131, addresses.length, addresses, 4),
  ssrr: (addresses: readonly string[]): Ipv4Option => routeOption(137, addresses.length, addresses, 4),
  /** Timestamp option, flag 0 (timestamps only), with room for `slots` entries. */
  timestamp: (slots = 4, values: readonly number[] = []): Ipv4Option => {
    const data = new Uint8Array(2 + 4 * slots);
    data[0] = 5 + 4 * values.length;
    data[1] = 0;
    values.forEach((v, i) => {
      new DataView(data.buffer).setUint32(2 + 4 * i, v >>> 0);
    });
    return { type: 68, data };
  },
};

function routeOption(type: number, slots: number, addresses: readonly string[], pointer: number): Ipv4Option {
  const data = new Uint8Array(1 + 4 * Math.max(slots, addresses.length));
  data[0] = pointer;
  addresses.forEach((a, i) => {
    data.set(parseIpv4(a), 1 + 4 * i);
  });
  return { type, data };
}

export function ipv4OptionName(type: number): string {
  return IPV4_OPTION_TYPES.names.get(type) ?? `unknown (${type})`;
}

/** Human description of an option's contents (pointer, route, timestamps, …). */
export function describeIpv4Option(option: Ipv4Option): string {
  const d = option.data;
  const name = ipv4OptionName(option.type);
  if (option.raw) return `${name}, malformed: ${d.length} bytes kept verbatim`;
  switch (option.type) {
    case 0:
      return d.length > 0 ? `${name} (+${d.length} padding bytes)` : name;
    case 1:
      return name;
    case 7:
    case 131:
    case 137: {
      const route: string[] = [];
      for (let i = 1; i + 4 <= d.length; i += 4) route.push(formatIpv4(d, i));
      return `${name}: pointer ${d[0] ?? 0}, route ${route.join(" ")}`;
    }
    case 68: {
      const flag = (d[1] ?? 0) & 0x0f;
      const stamps: string[] = [];
      const step = flag === 0 ? 4 : 8;
      for (let i = 2; i + step <= d.length; i += step) {
        stamps.push(flag === 0 ? String(readU32(d, i)) : `${formatIpv4(d, i)}@${readU32(d, i + 4)}`);
      }
      return `${name}: pointer ${d[0] ?? 0}, overflow ${(d[1] ?? 0) >> 4}, flag ${flag}, [${stamps.join(", ")}]`;
    }
    case 148:
      return `${name}: value ${readU16(d, 0)}${readU16(d, 0) === 0 ? " (examine packet)" : ""}`;
    default:
      return `${name}, ${d.length} data bytes`;
  }
}

const protocolNames = new Map<number, string>([
  [0, "IPv6 Hop-by-Hop"],
  [1, "ICMP"],
  [2, "IGMP"],
  [4, "IPv4-in-IP"],
  [6, "TCP"],
  [17, "UDP"],
  [41, "IPv6"],
  [43, "IPv6 Routing"],
  [44, "IPv6 Fragment"],
  [47, "GRE"],
  [50, "ESP"],
  [51, "AH"],
  [58, "ICMPv6"],
  [59, "No Next Header"],
  [60, "IPv6 Destination Options"],
  [89, "OSPF"],
  [112, "VRRP"],
  [132, "SCTP"],
  [135, "Mobility"],
]);

export function ipProtocolName(protocol: number): string {
  return protocolNames.get(protocol) ?? "unknown";
}

const ecnNames = ["Not-ECT", "ECT(1)", "ECT(0)", "CE"];

export function describeTos(tos: number): string {
  const dscp = tos >> 2;
  const names: Record<number, string> = {
    0: "CS0",
    46: "EF",
    34: "AF41",
    26: "AF31",
    18: "AF21",
    10: "AF11",
    8: "CS1",
  };
  return `DSCP ${names[dscp] ?? dscp}, ECN ${ecnNames[tos & 3]}`;
}

/**
 * The destination a transport pseudo-header uses (RFC 791 source routing, as tshark does): with an
 * unfinished LSRR/SSRR option, the last address of the route; else the header's destination.
 */
export function ipv4FinalDestination(fields: Pick<Ipv4Fields, "dst" | "options">): string {
  for (const option of fields.options) {
    if (option.raw || (option.type !== Ipv4OptionType.LSRR && option.type !== Ipv4OptionType.SSRR)) continue;
    const d = option.data;
    const pointer = d[0] ?? 0;
    const length = d.length + 2;
    if (pointer <= length - 3 && d.length >= 5) return formatIpv4(d, 1 + Math.floor((d.length - 1) / 4 - 1) * 4);
  }
  return fields.dst;
}

/** Fast read: header fields into `out`; the transport starts at the returned offset (-1: none). */
function fastIpv4(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (!fastIpHeaderStart(buffer, p, end, out, 0x0800, IPV4_HEADER_SIZE, 4)) return -1;
  const ihl = (buffer[p]! & 0x0f) * 4;
  const view = out.viewFor(buffer);
  let total = view.getUint16(p + IPV4.totalLength);
  if (total === TSO_TOTAL_LENGTH) total = out.wireLength - (p - out.linkOffset);
  out.tos = buffer[p + IPV4.tos]!;
  out.ipId = view.getUint16(p + IPV4.id);
  const flagsFrag = view.getUint16(p + IPV4.flagsFragment);
  out.dontFragment = (flagsFrag & 0x4000) !== 0;
  out.moreFragments = (flagsFrag & 0x2000) !== 0;
  out.fragmentOffset = (flagsFrag & 0x1fff) * 8;
  out.ttl = buffer[p + IPV4.ttl]!;
  out.ipProto = buffer[p + IPV4.protocol]!;
  out.src4 = view.getUint32(p + IPV4.src);
  out.dst4 = view.getUint32(p + IPV4.dst);
  out.ipHeaderLength = ihl;
  out.ipTotalLength = total;
  if (ihl < IPV4_HEADER_SIZE || total < ihl) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (end - p < ihl) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  fastCheckWireLength(p, total, out);
  if (out.fragmentOffset > 0) return -1;
  out.l4End = Math.min(end, p + total);
  out.l4Length = total - ihl;
  return p + ihl;
}

/** Slow decode of an IPv4 packet (also quoted in ICMP errors and tunnelled as IP protocol 4). */
export function decodeIpv4Layer(w: DecodeWalker, offset: number, end: number, quoted: boolean): number {
  const d = decodeIpv4(w.bytes, offset, end);
  const total = d.totalLength === TSO_TOTAL_LENGTH ? w.wireLength - offset : d.totalLength;
  const lengthOk = total >= d.ihl * 4;
  return walkIpPacket(w, "IPv4", d, offset, end, quoted, {
    total: lengthOk ? total : -1,
    tooLong: (onWire) => `IPv4 total length ${d.totalLength} > ${onWire} bytes on the wire`,
    protocol: d.version === 4 && lengthOk && d.fragOffset === 0 ? d.protocol : -1,
    pseudo: () => {
      const routed = d.options.length === 0 ? undefined : parseIpv4(ipv4FinalDestination(d));
      return ipPseudoHeader(w.bytes, offset + IPV4.src, 4, routed);
    },
    fragment: d.mf === 1,
  });
}

export const ipv4Layer = defineLayer({
  type: "IPv4",
  info: { title: "IPv4", tcpip: "internet", osi: 3 },
  linkTypes: [LinkType.IPV4],
  etherTypes: [0x0800],
  pppProtocols: [0x0021],
  ipProtocols: [4],
  fast: fastIpv4,
  fastNext: "ip",
  ...ipPacketDecoders(decodeIpv4Layer),
  encode: (layer, payload, context) =>
    encodeIpv4({ ...layer.fields, protocol: layer.fields.protocol ?? context.nextIpProtocol }, payload),
  size: (layer) => ipv4HeaderSize(layer.fields),
  rows(layer) {
    const f = layer.fields;
    const rows: ShowRow[] = [
      ["version", String(f.version)],
      ["ihl", showNum(f.ihl), f.ihl === undefined ? undefined : `${f.ihl * 4} bytes`],
      ["tos", showHex(f.tos, 2), describeTos(f.tos)],
      [
        "totalLength",
        showNum(f.totalLength),
        f.totalLength === TSO_TOTAL_LENGTH ? "presumed TCP segmentation offload: the rest of the frame" : undefined,
      ],
      ["id", showHex(f.id, 4), String(f.id)],
      ["reserved", String(f.reserved), "reserved flag"],
      ["df", String(f.df), f.df ? "don't fragment" : "may fragment"],
      ["mf", String(f.mf), f.mf ? "more fragments" : "last fragment"],
      ["fragOffset", String(f.fragOffset), `${f.fragOffset * 8} bytes`],
      ["ttl", String(f.ttl)],
      ["protocol", showNum(f.protocol), f.protocol === undefined ? undefined : ipProtocolName(f.protocol)],
      ["checksum", showHex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
      ["src", f.src],
      ["dst", f.dst],
    ];
    f.options.forEach((o, i) => {
      rows.push([`options[${i}]`, String(o.type), describeIpv4Option(o)]);
    });
    return rows;
  },
  summary({ fields: f }) {
    const frag = f.mf || f.fragOffset ? ` frag off=${f.fragOffset * 8}${f.mf ? " MF" : ""}` : "";
    return `IP ${f.src} > ${f.dst}${frag}`;
  },
});
