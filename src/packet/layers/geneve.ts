import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { previewBytes, showHex, showNum } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { variableHeaderExtent } from "./header-extent.ts";
import { decodeTunnelled } from "./udp-tunnel.ts";

/*
 * Geneve, Generic Network Virtualization Encapsulation (RFC 8926 §3.4), UDP port 6081:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|  Opt Len  |O|C|    Rsvd.  |          Protocol Type        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Virtual Network Identifier (VNI)       |    Reserved   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Variable-Length Options                    ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Ver = 0. Opt Len: the options' length in 4-byte words. O: an OAM (control) packet. C: a
 * critical option is present. Protocol Type: the EtherType of the payload (0x6558 an Ethernet
 * frame, ethernet.ts; 0x0800 IPv4; 0x86DD IPv6…). Each option is a TLV (§3.5):
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Option Class         |C|    Type     |R|R|R| Length  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Variable-Length Option Data                   ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * C: critical (the high bit of the type byte); Length: the data's length in 4-byte words. The
 * options are kept as TLVs (an option running past the options is kept with what is there), so
 * a decoded header re-encodes byte for byte. A version other than 0 is flagged, and what it
 * carries decoded all the same, as tshark does.
 */

export const GENEVE_HEADER_SIZE = 8;
export const GENEVE_OPTION_HEADER_SIZE = 4;
export const UDP_PORT_GENEVE = 6081;
/** Bits of the flags byte (the second). */
const FLAG_OAM = 0x80;
const FLAG_CRITICAL = 0x40;
const FLAGS_RESERVED = 0x3f;
/** The first byte: version (2 bits) and options length (6 bits). */
const OPTIONS_LENGTH_MASK = 0x3f;
/** The critical bit of an option's type byte; the 5-bit length of its last byte. */
const OPTION_CRITICAL = 0x80;
const OPTION_LENGTH_MASK = 0x1f;

export interface GeneveOption {
  /** Option class, 16 bits (0x0000–0x00FF IETF, 0x0100 Linux, 0x0101 Open vSwitch, 0x0132 Google…). */
  optionClass: number;
  /** Type without the critical bit, 0..127. */
  type: number;
  /** C, the type's high bit: an endpoint that does not know the option drops the packet. */
  critical: number;
  /** The three reserved bits before the length, 0..7 (default 0). */
  reserved?: number;
  /** The length field: the data's length in 4-byte words, 0..31; computed from `data` when undefined. */
  length?: number;
  /** Option data (padded with zeros to a multiple of 4 bytes when `length` is computed). */
  data: Uint8Array;
}

export interface GeneveFields {
  /** Version, 0..3 (0 is defined). */
  version: number;
  /** The options' length in 4-byte words, 0..63; computed from `options` when undefined. */
  optionsLength?: number;
  /** O: an OAM packet, 0 or 1. */
  oam: number;
  /** C: a critical option is present; undefined: set when an option is critical. */
  critical?: number;
  /** The six reserved flag bits, 0..63. */
  reserved: number;
  /** EtherType of the payload; the builder fills it from the next layer. */
  protocol?: number;
  /** Virtual network identifier, 24 bits. */
  vni: number;
  /** The last byte of the fixed header, reserved. */
  reserved2: number;
  options: GeneveOption[];
}

export interface DecodedGeneve extends GeneveFields, DecodeInfo {
  optionsLength: number;
  critical: number;
  protocol: number;
}

/** An option's type byte: its type with the critical bit (tshark's geneve.option.type). */
export function geneveOptionTypeByte(o: GeneveOption): number {
  return (o.critical & 1 ? OPTION_CRITICAL : 0) | (o.type & ~OPTION_CRITICAL & 0xff);
}

/** Bytes of an option's data as `encode` writes it. */
function optionDataSize(o: GeneveOption): number {
  return o.length === undefined ? (o.data.length + 3) & ~3 : o.data.length;
}

function optionsSize(options: readonly GeneveOption[]): number {
  let size = 0;
  for (const o of options) size += GENEVE_OPTION_HEADER_SIZE + optionDataSize(o);
  return size;
}

/** Header size `encode` writes for these fields (fixed header and options). */
export function geneveHeaderSize(f: GeneveFields): number {
  return GENEVE_HEADER_SIZE + (f.optionsLength === undefined ? optionsSize(f.options) : f.optionsLength * 4);
}

/** Reads the options in [at, areaEnd); an option running past them takes what is left (`bad-option`). */
function decodeOptions(bytes: Uint8Array, at: number, areaEnd: number, d: DecodedGeneve): void {
  while (areaEnd - at >= GENEVE_OPTION_HEADER_SIZE) {
    const typeByte = bytes[at + 2]!;
    const lengthByte = bytes[at + 3]!;
    const length = lengthByte & OPTION_LENGTH_MASK;
    const dataStart = at + GENEVE_OPTION_HEADER_SIZE;
    let dataEnd = dataStart + length * 4;
    if (dataEnd > areaEnd) {
      d.anomalies.push(
        anomaly("bad-option", `Geneve option of ${length * 4} data bytes, ${areaEnd - dataStart} left in the options`),
      );
      dataEnd = areaEnd;
    }
    d.options.push({
      optionClass: readU16(bytes, at),
      type: typeByte & ~OPTION_CRITICAL,
      critical: typeByte & OPTION_CRITICAL ? 1 : 0,
      reserved: lengthByte >> 5,
      length,
      data: bytes.slice(dataStart, dataEnd),
    });
    at = dataEnd;
  }
}

export function decodeGeneve(bytes: Uint8Array, offset: number, end: number): DecodedGeneve {
  const available = end - offset;
  const first = bytes[offset] ?? 0;
  const flags = bytes[offset + 1] ?? 0;
  const second = readU32(bytes, offset + 4);
  const optionsLength = first & OPTIONS_LENGTH_MASK;
  const size = GENEVE_HEADER_SIZE + optionsLength * 4;
  const extent = variableHeaderExtent("Geneve header", GENEVE_HEADER_SIZE, size, available, "options");
  const d: DecodedGeneve = {
    version: first >> 6,
    optionsLength,
    oam: flags & FLAG_OAM ? 1 : 0,
    critical: flags & FLAG_CRITICAL ? 1 : 0,
    reserved: flags & FLAGS_RESERVED,
    protocol: readU16(bytes, offset + 2),
    vni: second >>> 8,
    reserved2: second & 0xff,
    options: [],
    ...extent,
  };
  if (!d.complete) return d;
  d.headerLength = size;
  decodeOptions(bytes, offset + GENEVE_HEADER_SIZE, offset + size, d);
  if (d.version !== 0) d.anomalies.push(anomaly("bad-version", `Geneve version ${d.version} (0 is defined)`));
  return d;
}

export function encodeGeneve(fields: GeneveFields, payload: Uint8Array): Uint8Array {
  const size = geneveHeaderSize(fields);
  const out = new Uint8Array(size + payload.length);
  const optionsLength = fields.optionsLength ?? (size - GENEVE_HEADER_SIZE) / 4;
  const critical = fields.critical ?? (fields.options.some((o) => o.critical) ? 1 : 0);
  out[0] = ((fields.version & 3) << 6) | (optionsLength & OPTIONS_LENGTH_MASK);
  out[1] = (fields.oam & 1 ? FLAG_OAM : 0) | (critical & 1 ? FLAG_CRITICAL : 0) | (fields.reserved & FLAGS_RESERVED);
  writeU16(out, 2, fields.protocol ?? 0);
  writeU32(out, 4, (((fields.vni & 0xffffff) << 8) | (fields.reserved2 & 0xff)) >>> 0);
  let at = GENEVE_HEADER_SIZE;
  for (const o of fields.options) {
    if (at + GENEVE_OPTION_HEADER_SIZE > size) break;
    const dataSize = optionDataSize(o);
    writeU16(out, at, o.optionClass);
    out[at + 2] = geneveOptionTypeByte(o);
    out[at + 3] = (((o.reserved ?? 0) & 7) << 5) | ((o.length ?? dataSize / 4) & OPTION_LENGTH_MASK);
    out.set(o.data.subarray(0, Math.max(0, size - at - GENEVE_OPTION_HEADER_SIZE)), at + GENEVE_OPTION_HEADER_SIZE);
    at += GENEVE_OPTION_HEADER_SIZE + dataSize;
  }
  out.set(payload, size);
  return out;
}

/**
 * Fast read: skips the header and its options, announces the payload by its protocol type (of
 * any version, as the slow decode); a cut header is TRUNCATED.
 */
function fastGeneve(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  const size = end - p < 1 ? GENEVE_HEADER_SIZE : GENEVE_HEADER_SIZE + (buffer[p]! & OPTIONS_LENGTH_MASK) * 4;
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.etherType = (buffer[p + 2]! << 8) | buffer[p + 3]!;
  return p + size;
}

const OPTION_CLASSES = new Map<number, string>([
  [0x0100, "Linux"],
  [0x0101, "Open vSwitch"],
  [0x0102, "Open Virtual Networking (OVN)"],
  [0x0103, "In-band Network Telemetry (INT)"],
  [0x0104, "VMware"],
  [0x0132, "Google"],
]);

function optionClassName(optionClass: number): string {
  return (
    OPTION_CLASSES.get(optionClass) ??
    (optionClass <= 0xff ? "standard" : optionClass >= 0xfff0 ? "experimental" : "unknown")
  );
}

export const geneveLayer = defineLayer({
  type: "Geneve",
  info: { title: "Geneve", tcpip: "link", osi: 2 },
  udpPorts: [UDP_PORT_GENEVE],
  fast: fastGeneve,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const d = decodeGeneve(w.bytes, offset, end);
    if (!pushHeader(w, "Geneve", d, offset, end, false)) return end;
    return decodeTunnelled(w, d.protocol, offset + d.headerLength, end, depth);
  },
  encode: (layer, payload, context) =>
    encodeGeneve({ ...layer.fields, protocol: layer.fields.protocol ?? context.nextEtherType ?? 0 }, payload),
  size: (layer) => geneveHeaderSize(layer.fields),
  rows({ fields: f }) {
    const rows: ShowRow[] = [
      ["version", String(f.version), f.version === 0 ? undefined : "unknown version"],
      [
        "optionsLength",
        showNum(f.optionsLength),
        f.optionsLength === undefined ? undefined : `${f.optionsLength * 4} bytes of options`,
      ],
      ["oam", String(f.oam), f.oam ? "OAM packet" : undefined],
      ["critical", showNum(f.critical), f.critical ? "critical options present" : undefined],
      ["reserved", String(f.reserved)],
      ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : etherTypeName(f.protocol)],
      ["vni", String(f.vni), "virtual network identifier"],
      ["reserved2", String(f.reserved2)],
    ];
    f.options.forEach((o, i) => {
      const meaning = `class ${optionClassName(o.optionClass)} type ${o.type}${o.critical ? " critical" : ""}, ${o.data.length} data bytes`;
      rows.push([`options[${i}]`, `0x${o.optionClass.toString(16).padStart(4, "0")}:${o.type}`, meaning]);
      if (o.data.length > 0) rows.push([`options[${i}].data`, previewBytes(o.data)]);
    });
    return rows;
  },
  summary: ({ fields: f }) =>
    `Geneve vni=${f.vni}${f.options.length > 0 ? ` options=${f.options.length}` : ""}${f.oam ? " OAM" : ""}`,
});
