import { formatHex } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { EtherType } from "../protocol-numbers.ts";
import { previewBytes, showHex, showNum } from "../show-format.ts";
import { ETHERTYPE_TRANSPARENT_ETHERNET } from "./ethernet.ts";
import { variableHeaderExtent } from "./header-extent.ts";
import { ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST } from "./mpls.ts";

/*
 * NSH, the Network Service Header of service function chaining (RFC 8300 §2), EtherType 0x894F,
 * VXLAN-GPE next protocol 4 (vxlan.ts), GRE protocol 0x894F:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver|O|U|    TTL    |   Length  |U|U|U|U|MD Type| Next Protocol |  base header
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Service Path Identifier (SPI)        | Service Index |  service path header
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                      Context Headers                          ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Ver = 0; O: an OAM packet; U: unassigned (the critical-metadata bit C of the drafts, which
 * tshark still shows as nsh.CBit); TTL: service-plane hops left (63 recommended); Length: the
 * whole header in 4-byte words; Next Protocol: 1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS (others
 * not decoded: Raw). The context headers by MD Type (§2.4, §2.5):
 *  - 1: 16 bytes of fixed context, Length 6 (another Length is flagged and read as 6, as tshark);
 *  - 2: zero or more variable-length TLVs:
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |          Metadata Class       |      Type     |U|    Length   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                   Variable-Length Metadata                    ~
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    Length: the metadata's length in bytes, padded to 4; each TLV is kept (its padding too when
 *    not zero), so a decoded header re-encodes byte for byte;
 *  - others (0 reserved, 0xF experimental): the bytes up to Length, kept raw.
 * The MD type is the low nibble of its byte; the four bits before it are kept (`reserved`).
 */

export const NSH_BASE_SIZE = 8;
/** MD type 1: the base and service path headers and four 4-byte context headers. */
export const NSH_MD1_SIZE = 24;
export const NSH_MD1_CONTEXT_SIZE = 16;
export const NSH_TLV_HEADER_SIZE = 4;
export const ETHERTYPE_NSH = 0x894f;

/**
 * Next protocol numbers: one IANA registry for NSH (RFC 8300 §11.2.5) and VXLAN-GPE
 * (draft-ietf-nvo3-vxlan-gpe §3.2), which vxlan.ts reads through the functions below too.
 */
export const NextProtocol = { IPV4: 1, IPV6: 2, ETHERNET: 3, NSH: 4, MPLS: 5 } as const;

const NEXT_PROTOCOL_NAMES = ["none", "IPv4", "IPv6", "Ethernet", "NSH", "MPLS"];
const NEXT_ETHERTYPES = [
  0,
  EtherType.IPV4,
  EtherType.IPV6,
  ETHERTYPE_TRANSPARENT_ETHERNET,
  ETHERTYPE_NSH,
  ETHERTYPE_MPLS,
];

export interface NshTlv {
  /** Metadata class, 16 bits (0x0000 IETF…). */
  metadataClass: number;
  /** Type, 8 bits (its high bit: critical). */
  type: number;
  /** The unassigned bit before the length, 0 or 1 (default 0). */
  unassigned?: number;
  /** The metadata's length in bytes, 0..127; computed from `data` when undefined. */
  length?: number;
  /** The metadata (`length` bytes; fewer when the TLV runs past the header). */
  data: Uint8Array;
  /** The bytes padding the metadata to 4 bytes, when not all zero (default zeros). */
  padding?: Uint8Array;
}

export interface NshFields {
  /** Version, 0..3 (0 is defined). */
  version: number;
  /** O: an OAM packet, 0 or 1. */
  oam: number;
  /** The unassigned bit after O, 0 or 1 (tshark's C bit, critical metadata in the drafts). */
  u: number;
  /** Service-plane time to live, 0..63. */
  ttl: number;
  /** The header's length in 4-byte words, 0..63; computed when undefined. */
  length?: number;
  /** The four unassigned bits before the MD type, 0..15. */
  reserved: number;
  /** Metadata type, 0..15: 1 fixed context, 2 TLVs. */
  mdType: number;
  /** Next protocol (1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS); the builder fills it from the next layer. */
  nextProtocol?: number;
  /** Service path identifier, 24 bits. */
  spi: number;
  /** Service index, 0..255. */
  si: number;
  /** MD type 1: the 16 bytes of context (zeros when undefined); other types but 2: the context bytes kept raw. */
  context?: Uint8Array;
  /** MD type 2: the context TLVs. */
  tlvs?: NshTlv[];
}

export interface DecodedNsh extends NshFields, DecodeInfo {
  length: number;
  nextProtocol: number;
}

/** Bytes of a TLV's metadata with its padding, as `encode` writes it. */
function tlvDataSize(t: NshTlv): number {
  return ((t.length ?? t.data.length) + 3) & ~3;
}

function tlvsSize(tlvs: readonly NshTlv[]): number {
  let size = 0;
  for (const t of tlvs) size += NSH_TLV_HEADER_SIZE + tlvDataSize(t);
  return size;
}

/** Header size of an MD type and Length field, as both paths read it (a wrong Length flagged by the decoder). */
function headerSizeFor(mdType: number, length: number): number {
  if (mdType === 1) return NSH_MD1_SIZE;
  return Math.max(NSH_BASE_SIZE, length * 4);
}

/** Header size `encode` writes for these fields. */
export function nshHeaderSize(f: NshFields): number {
  if (f.mdType === 1) return NSH_MD1_SIZE;
  if (f.length !== undefined) return headerSizeFor(f.mdType, f.length);
  if (f.mdType === 2) return NSH_BASE_SIZE + tlvsSize(f.tlvs ?? []);
  return NSH_BASE_SIZE + (((f.context?.length ?? 0) + 3) & ~3);
}

/** The EtherType of what a next protocol (NSH, VXLAN-GPE) announces, 0 for numbers not decoded. */
export function nextProtocolEtherType(nextProtocol: number): number {
  return NEXT_ETHERTYPES[nextProtocol] ?? 0;
}

/** The next protocol (NSH, VXLAN-GPE) of what an EtherType announces (0 when none). */
export function nextProtocolOf(etherType: number | undefined): number {
  if (etherType === undefined || etherType === 0) return 0;
  if (etherType === ETHERTYPE_MPLS_MULTICAST) return NextProtocol.MPLS;
  const index = NEXT_ETHERTYPES.indexOf(etherType);
  return index < 0 ? 0 : index;
}

/** Reads the TLVs in [at, areaEnd); a TLV running past them keeps what is there (`bad-option`). */
function decodeTlvs(bytes: Uint8Array, at: number, areaEnd: number, d: DecodedNsh): NshTlv[] {
  const tlvs: NshTlv[] = [];
  while (areaEnd - at >= NSH_TLV_HEADER_SIZE) {
    const lengthByte = bytes[at + 3]!;
    const length = lengthByte & 0x7f;
    const dataStart = at + NSH_TLV_HEADER_SIZE;
    let padded = dataStart + ((length + 3) & ~3);
    if (padded > areaEnd) {
      d.anomalies.push(
        anomaly("bad-option", `NSH metadata TLV of ${length} bytes, ${areaEnd - dataStart} left in the header`),
      );
      padded = areaEnd;
    }
    const dataEnd = Math.min(dataStart + length, padded);
    const tlv: NshTlv = {
      metadataClass: readU16(bytes, at),
      type: bytes[at + 2]!,
      unassigned: lengthByte >> 7,
      length,
      data: bytes.slice(dataStart, dataEnd),
    };
    const padding = bytes.subarray(dataEnd, padded);
    if (padding.some((b) => b !== 0)) tlv.padding = padding.slice();
    tlvs.push(tlv);
    at = padded;
  }
  return tlvs;
}

export function decodeNsh(bytes: Uint8Array, offset: number, end: number): DecodedNsh {
  const available = end - offset;
  const first = readU16(bytes, offset);
  const length = first & 0x3f;
  const mdByte = bytes[offset + 2] ?? 0;
  const mdType = mdByte & 0x0f;
  const path = readU32(bytes, offset + 4);
  const size = headerSizeFor(mdType, length);
  const extent = variableHeaderExtent("NSH header", NSH_BASE_SIZE, size, available, "context");
  const d: DecodedNsh = {
    version: first >> 14,
    oam: (first >> 13) & 1,
    u: (first >> 12) & 1,
    ttl: (first >> 6) & 0x3f,
    length,
    reserved: mdByte >> 4,
    mdType,
    nextProtocol: bytes[offset + 3] ?? 0,
    spi: path >>> 8,
    si: path & 0xff,
    ...extent,
  };
  if (!d.complete) return d;
  d.headerLength = size;
  const context = offset + NSH_BASE_SIZE;
  if (mdType === 1) {
    if (length !== NSH_MD1_SIZE / 4) {
      d.anomalies.push(anomaly("bad-length", `NSH length ${length} words with MD type 1 (6 required): read as 6`));
    }
    d.context = bytes.slice(context, context + NSH_MD1_CONTEXT_SIZE);
  } else {
    if (length < NSH_BASE_SIZE / 4) {
      d.anomalies.push(anomaly("bad-length", `NSH length ${length} words, under the 2 of its fixed headers`));
    }
    if (mdType === 2) d.tlvs = decodeTlvs(bytes, context, offset + size, d);
    else d.context = bytes.slice(context, offset + size);
  }
  if (d.version !== 0) d.anomalies.push(anomaly("bad-version", `NSH version ${d.version} (0 is defined)`));
  return d;
}

export function encodeNsh(fields: NshFields, payload: Uint8Array): Uint8Array {
  const size = nshHeaderSize(fields);
  const out = new Uint8Array(size + payload.length);
  const length = fields.length ?? size / 4;
  writeU16(
    out,
    0,
    ((fields.version & 3) << 14) |
      ((fields.oam & 1) << 13) |
      ((fields.u & 1) << 12) |
      ((fields.ttl & 0x3f) << 6) |
      (length & 0x3f),
  );
  out[2] = ((fields.reserved & 0x0f) << 4) | (fields.mdType & 0x0f);
  out[3] = (fields.nextProtocol ?? 0) & 0xff;
  writeU32(out, 4, (((fields.spi & 0xffffff) << 8) | (fields.si & 0xff)) >>> 0);
  if (fields.mdType === 2) {
    let at = NSH_BASE_SIZE;
    for (const t of fields.tlvs ?? []) {
      if (at + NSH_TLV_HEADER_SIZE > size) break;
      writeU16(out, at, t.metadataClass);
      out[at + 2] = t.type & 0xff;
      out[at + 3] = (((t.unassigned ?? 0) & 1) << 7) | ((t.length ?? t.data.length) & 0x7f);
      const dataStart = at + NSH_TLV_HEADER_SIZE;
      out.set(t.data.subarray(0, Math.max(0, size - dataStart)), dataStart);
      const padStart = dataStart + t.data.length;
      if (t.padding !== undefined && padStart < size) out.set(t.padding.subarray(0, size - padStart), padStart);
      at = dataStart + tlvDataSize(t);
    }
  } else if (fields.context !== undefined) {
    out.set(fields.context.subarray(0, size - NSH_BASE_SIZE), NSH_BASE_SIZE);
  }
  out.set(payload, size);
  return out;
}

/**
 * Fast read: skips the header (24 bytes for MD type 1, else Length words) and announces what its
 * next protocol names by EtherType; a next protocol not decoded, or nothing after the header,
 * stops the walk (`out.etherType` 0). A cut header is TRUNCATED.
 */
function fastNsh(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < NSH_BASE_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const size = headerSizeFor(buffer[p + 2]! & 0x0f, buffer[p + 1]! & 0x3f);
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const next = p + size;
  out.etherType =
    next < end || cutAt(next, end, out.end, out.wireLength - (out.end - out.linkOffset))
      ? nextProtocolEtherType(buffer[p + 3]!)
      : 0;
  return next;
}

/** True when the capture's snaplen cut the frame at `at` (the end of the captured bytes, more on the wire). */
function cutAt(at: number, end: number, captureEnd: number, missing: number): boolean {
  return at >= end && end === captureEnd && missing > 0;
}

export const nshLayer = defineLayer({
  type: "NSH",
  info: { title: "NSH", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_NSH],
  fast: fastNsh,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const d = decodeNsh(w.bytes, offset, end);
    if (!pushHeader(w, "NSH", d, offset, end, false)) return end;
    const inner = offset + d.headerLength;
    const etherType = nextProtocolEtherType(d.nextProtocol);
    if (etherType === 0) {
      w.raw(inner, end, false);
      return end;
    }
    // Nothing after the header: nothing to decode (as tshark), unless the snaplen cut it off.
    if (inner >= end && !cutAt(inner, end, w.bytes.length, w.wireLength - w.bytes.length)) return end;
    return w.ether(etherType, inner, end, depth + 1);
  },
  encode: (layer, payload, context) =>
    encodeNsh(
      { ...layer.fields, nextProtocol: layer.fields.nextProtocol ?? nextProtocolOf(context.nextEtherType) },
      payload,
    ),
  size: (layer) => nshHeaderSize(layer.fields),
  rows({ fields: f }) {
    const rows: ShowRow[] = [
      ["version", String(f.version), f.version === 0 ? undefined : "unknown version"],
      ["oam", String(f.oam), f.oam ? "OAM packet" : undefined],
      ["u", String(f.u), "unassigned"],
      ["ttl", String(f.ttl), "service plane hops left"],
      ["length", showNum(f.length), f.length === undefined ? undefined : `${f.length * 4} bytes of header`],
      ["reserved", String(f.reserved), "unassigned"],
      ["mdType", String(f.mdType), MD_TYPES[f.mdType] ?? "unknown"],
      [
        "nextProtocol",
        showNum(f.nextProtocol),
        f.nextProtocol === undefined ? undefined : nextProtocolName(f.nextProtocol),
      ],
      ["spi", String(f.spi), "service path identifier"],
      ["si", String(f.si), "service index"],
    ];
    if (f.context !== undefined) rows.push(["context", formatHex(f.context), `${f.context.length} bytes of context`]);
    (f.tlvs ?? []).forEach((t, i) => {
      const meaning = `class 0x${t.metadataClass.toString(16).padStart(4, "0")} type ${t.type}, ${t.length ?? t.data.length} bytes`;
      rows.push([`tlvs[${i}]`, `${showHex(t.metadataClass, 4)}:${t.type}`, meaning]);
      if (t.data.length > 0) rows.push([`tlvs[${i}].data`, previewBytes(t.data)]);
    });
    return rows;
  },
  summary: ({ fields: f }) =>
    `NSH spi=${f.spi} si=${f.si}${f.nextProtocol === undefined ? "" : ` next=${nextProtocolName(f.nextProtocol)}`}`,
});

const MD_TYPES: Record<number, string> = {
  0: "reserved",
  1: "fixed context",
  2: "variable-length context",
  15: "experimental",
};

export function nextProtocolName(nextProtocol: number): string {
  return (
    NEXT_PROTOCOL_NAMES[nextProtocol] ?? (nextProtocol === 0xfe || nextProtocol === 0xff ? "experiment" : "unknown")
  );
}
