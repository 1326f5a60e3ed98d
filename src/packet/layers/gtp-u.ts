import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { EtherType } from "../protocol-numbers.ts";
import { previewBytes, showHex, showNum } from "../show-format.ts";
import { headerExtent } from "./header-extent.ts";
import { decodeTunnelled, tunnelDatagramEnd } from "./udp-tunnel.ts";

/*
 * GTP-U, the GPRS Tunnelling Protocol for user plane, version 1 (3GPP TS 29.281 §5), UDP port
 * 2152: a mobile network's user packets between its nodes (eNodeB/gNodeB, SGW, PGW, UPF):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |Ver=1|P|R|E|S|N| Message Type  |            Length             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Tunnel Endpoint Identifier (TEID)              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Sequence Number        | N-PDU Number  | Next Ext Type |  any of E, S, N set
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * P: protocol type (1 GTP; 0 is GTP', charging, not decoded); R: reserved; E: extension headers
 * follow; S: the sequence number is meaningful; N: the N-PDU number is. When any of the three is
 * set the whole 4-byte word is there (§5.1). Length: the bytes after the first 8 (that word, the
 * extension headers and the payload; bytes after them are a flagged trailer). Each extension
 * header (§5.2) is
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |    Length     |          Content (4 × Length − 2 bytes)       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                                               | Next Ext Type |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * the chain ending at next type 0. A G-PDU (message type 255) carries a user IP packet, IPv4 or
 * IPv6 by its version nibble (else Raw); echo, error indication, end marker… carry information
 * elements, kept Raw (tshark decodes them as GTP's). GTP-C (UDP 2123) is signalling, not a tunnel.
 */

export const GTPU_HEADER_SIZE = 8;
/** The optional word: sequence number, N-PDU number, next extension header type. */
export const GTPU_OPTIONAL_SIZE = 4;
export const UDP_PORT_GTPU = 2152;
export const GTPU_G_PDU = 255;
const FLAG_PT = 0x10;
const FLAG_RESERVED = 0x08;
const FLAG_E = 0x04;
const FLAG_S = 0x02;
const FLAG_PN = 0x01;
const GTP_VERSION_1 = 1;

/** Message types (TS 29.281 table 6.1-1). */
export const GtpuMessageType = {
  ECHO_REQUEST: 1,
  ECHO_RESPONSE: 2,
  ERROR_INDICATION: 26,
  SUPPORTED_EXTENSION_HEADERS: 31,
  TUNNEL_STATUS: 253,
  END_MARKER: 254,
  G_PDU: GTPU_G_PDU,
} as const;

const MESSAGE_NAMES = new Map<number, string>([
  [1, "echo request"],
  [2, "echo response"],
  [26, "error indication"],
  [31, "supported extension headers notification"],
  [253, "tunnel status"],
  [254, "end marker"],
  [255, "G-PDU"],
]);

/** Extension header types (TS 29.281 figure 5.2.1-3). */
const EXTENSION_NAMES = new Map<number, string>([
  [0x03, "long PDCP PDU number"],
  [0x20, "service class indicator"],
  [0x40, "UDP port"],
  [0x81, "RAN container"],
  [0x82, "long PDCP PDU number"],
  [0x83, "Xw RAN container"],
  [0x84, "NR RAN container"],
  [0x85, "PDU session container"],
  [0xc0, "PDCP PDU number"],
]);

export interface GtpuExtension {
  /** The type this header was announced by (the previous next extension header type). */
  type: number;
  /** Length in 4-byte units; computed from `content` when undefined. */
  length?: number;
  /** The content, 4 × length − 2 bytes (padded with zeros when `length` is computed). */
  content: Uint8Array;
}

export interface GtpuFields {
  /** 1 (GTPv1). */
  version: number;
  /** PT: 1 GTP, 0 GTP'. */
  protocolType: number;
  /** The reserved bit after PT. */
  reserved: number;
  /** E: extension headers follow; undefined: set when `extensions` is not empty. */
  e?: number;
  /** S: the sequence number is meaningful; undefined: set when `sequence` is given. */
  s?: number;
  /** PN: the N-PDU number is meaningful; undefined: set when `npdu` is given. */
  pn?: number;
  /** 255 G-PDU; 1/2 echo request/response, 26 error indication, 254 end marker… */
  messageType: number;
  /** Bytes after the first 8; computed when undefined. */
  length?: number;
  /** Tunnel endpoint identifier. */
  teid: number;
  /** The optional word (written when any of E, S, PN is set): sequence number. */
  sequence?: number;
  /** N-PDU number. */
  npdu?: number;
  /** Next extension header type of the optional word; undefined: the first extension's type, else 0. */
  nextExtensionType?: number;
  extensions: GtpuExtension[];
}

export interface DecodedGtpu extends GtpuFields, DecodeInfo {
  e: number;
  s: number;
  pn: number;
  length: number;
}

/** The E, S, PN bits `encode` writes for these fields. */
function presence(f: GtpuFields): { e: number; s: number; pn: number } {
  return {
    e: f.e ?? (f.extensions.length > 0 ? 1 : 0),
    s: f.s ?? (f.sequence !== undefined ? 1 : 0),
    pn: f.pn ?? (f.npdu !== undefined ? 1 : 0),
  };
}

function extensionSize(x: GtpuExtension): number {
  return x.length === undefined ? (x.content.length + 2 + 3) & ~3 : x.length * 4;
}

/** Header size `encode` writes: the fixed 8 bytes, the optional word and the extension headers. */
export function gtpuHeaderSize(f: GtpuFields): number {
  const { e, s, pn } = presence(f);
  if (!(e || s || pn)) return GTPU_HEADER_SIZE;
  let size = GTPU_HEADER_SIZE + GTPU_OPTIONAL_SIZE;
  if (e) for (const x of f.extensions) size += extensionSize(x);
  return size;
}

/** What `gtpuHeaderExtent` returns for a header it cannot size. */
const HEADER_CUT = -1;
const NOT_GTPV1 = -2;
const EMPTY_EXTENSION = -3;

/**
 * The bytes of the GTP-U header at `p` (extension chain included) when it is version 1 with PT
 * set and all there; HEADER_CUT when cut short, NOT_GTPV1, or EMPTY_EXTENSION when an extension
 * header's length is 0 (the chain cannot go on). Allocates nothing.
 */
function gtpuHeaderExtent(bytes: Uint8Array, p: number, end: number): number {
  if (end - p < GTPU_HEADER_SIZE) return HEADER_CUT;
  const flags = bytes[p]!;
  if (flags >> 5 !== GTP_VERSION_1 || (flags & FLAG_PT) === 0) return NOT_GTPV1;
  if ((flags & (FLAG_E | FLAG_S | FLAG_PN)) === 0) return GTPU_HEADER_SIZE;
  let at = p + GTPU_HEADER_SIZE + GTPU_OPTIONAL_SIZE;
  if (at > end) return HEADER_CUT;
  if ((flags & FLAG_E) === 0) return at - p;
  let next = bytes[at - 1]!;
  while (next !== 0) {
    if (at >= end) return HEADER_CUT;
    const units = bytes[at]!;
    if (units === 0) return EMPTY_EXTENSION;
    at += units * 4;
    if (at > end) return HEADER_CUT;
    next = bytes[at - 1]!;
  }
  return at - p;
}

/**
 * Decodes the header at `offset`; `messageLength`, the bytes the UDP datagram holds from
 * `offset` (when known), tells a length field pointing past the datagram.
 */
export function decodeGtpu(bytes: Uint8Array, offset: number, end: number, messageLength?: number): DecodedGtpu {
  const available = end - offset;
  const flags = bytes[offset] ?? 0;
  const d: DecodedGtpu = {
    version: flags >> 5,
    protocolType: flags & FLAG_PT ? 1 : 0,
    reserved: flags & FLAG_RESERVED ? 1 : 0,
    e: flags & FLAG_E ? 1 : 0,
    s: flags & FLAG_S ? 1 : 0,
    pn: flags & FLAG_PN ? 1 : 0,
    messageType: bytes[offset + 1] ?? 0,
    length: readU16(bytes, offset + 2),
    teid: readU32(bytes, offset + 4),
    extensions: [],
    ...headerExtent("GTP-U header", GTPU_HEADER_SIZE, available),
  };
  if (!d.complete) return d;
  const size = gtpuHeaderExtent(bytes, offset, end);
  if (size === NOT_GTPV1) {
    d.complete = false;
    const what = d.protocolType ? `version ${d.version}` : "protocol type 0 (GTP')";
    d.anomalies.push(anomaly("bad-version", `GTP ${what} on the GTP-U port (GTPv1, PT 1 is decoded)`));
    return d;
  }
  if (size < 0) {
    d.complete = false;
    d.headerLength = available;
    d.anomalies.push(
      size === EMPTY_EXTENSION
        ? anomaly("bad-length", "GTP-U extension header of length 0")
        : anomaly("truncated", `GTP-U header with its optional fields and extension headers cut at ${available} bytes`),
    );
    return d;
  }
  d.headerLength = size;
  if (size === GTPU_HEADER_SIZE) {
    checkLength(d, messageLength);
    return d;
  }
  d.sequence = readU16(bytes, offset + GTPU_HEADER_SIZE);
  d.npdu = bytes[offset + GTPU_HEADER_SIZE + 2]!;
  d.nextExtensionType = bytes[offset + GTPU_HEADER_SIZE + 3]!;
  let type = d.e ? d.nextExtensionType : 0;
  let at = offset + GTPU_HEADER_SIZE + GTPU_OPTIONAL_SIZE;
  while (type !== 0) {
    const length = bytes[at]!;
    d.extensions.push({ type, length, content: bytes.slice(at + 1, at + length * 4 - 1) });
    at += length * 4;
    type = bytes[at - 1]!;
  }
  checkLength(d, messageLength);
  return d;
}

/** A length field shorter than the header's optional part, or longer than the datagram, is flagged. */
function checkLength(d: DecodedGtpu, messageLength: number | undefined): void {
  const after = messageLength === undefined ? undefined : messageLength - GTPU_HEADER_SIZE;
  if (d.length < d.headerLength - GTPU_HEADER_SIZE || (after !== undefined && d.length > after)) {
    const held = after === undefined ? "" : ` (the datagram holds ${after} bytes after the first 8)`;
    d.anomalies.push(anomaly("bad-length", `GTP-U length ${d.length}, header ${d.headerLength} bytes${held}`));
  }
}

export function encodeGtpu(fields: GtpuFields, payload: Uint8Array): Uint8Array {
  const { e, s, pn } = presence(fields);
  const size = gtpuHeaderSize(fields);
  const out = new Uint8Array(size + payload.length);
  out[0] =
    ((fields.version & 7) << 5) |
    (fields.protocolType & 1 ? FLAG_PT : 0) |
    (fields.reserved & 1 ? FLAG_RESERVED : 0) |
    (e & 1 ? FLAG_E : 0) |
    (s & 1 ? FLAG_S : 0) |
    (pn & 1 ? FLAG_PN : 0);
  out[1] = fields.messageType & 0xff;
  writeU16(out, 2, fields.length ?? out.length - GTPU_HEADER_SIZE);
  writeU32(out, 4, fields.teid >>> 0);
  if (size > GTPU_HEADER_SIZE) {
    const chain = e ? fields.extensions : [];
    writeU16(out, GTPU_HEADER_SIZE, fields.sequence ?? 0);
    out[GTPU_HEADER_SIZE + 2] = (fields.npdu ?? 0) & 0xff;
    out[GTPU_HEADER_SIZE + 3] = (fields.nextExtensionType ?? chain[0]?.type ?? 0) & 0xff;
    let at = GTPU_HEADER_SIZE + GTPU_OPTIONAL_SIZE;
    chain.forEach((x, i) => {
      const bytes = extensionSize(x);
      out[at] = bytes / 4;
      out.set(x.content.subarray(0, Math.max(0, bytes - 2)), at + 1);
      out[at + bytes - 1] = (chain[i + 1]?.type ?? 0) & 0xff;
      at += bytes;
    });
  }
  out.set(payload, size);
  return out;
}

/** The EtherType of the user packet at `p` by its version nibble (4 IPv4, 6 IPv6), else 0. */
function userPacketEtherType(bytes: Uint8Array, p: number, end: number): number {
  const nibble = p < end ? bytes[p]! >> 4 : 0;
  return nibble === 4 ? EtherType.IPV4 : nibble === 6 ? EtherType.IPV6 : 0;
}

/**
 * Fast read: the header with its extension chain skipped; a G-PDU announces its IP packet by the
 * version nibble, any other message (or another GTP version) stops the walk with `out.etherType`
 * 0; a cut header is TRUNCATED, an extension header of length 0 BAD_LENGTH.
 */
function fastGtpu(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  const size = gtpuHeaderExtent(buffer, p, end);
  if (size === HEADER_CUT || size === EMPTY_EXTENSION) {
    out.anomalies |= size === HEADER_CUT ? Anomaly.TRUNCATED : Anomaly.BAD_LENGTH;
    return -1;
  }
  if (size < 0 || buffer[p + 1] !== GTPU_G_PDU) {
    out.etherType = 0;
    return -1;
  }
  // A G-PDU whose user packet the capture's snaplen cut off entirely.
  const announced = GTPU_HEADER_SIZE + ((buffer[p + 2]! << 8) | buffer[p + 3]!);
  if (p + size === end && announced > size && end === out.end && out.wireLength > out.end - out.linkOffset) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.etherType = userPacketEtherType(buffer, p + size, end);
  return out.etherType === 0 ? -1 : p + size;
}

/** True when a G-PDU's user packet, announced by its length, is not captured at all (`cut`: the capture stops at `end`). */
function gpduCut(d: GtpuFields, offset: number, end: number, cut: boolean): boolean {
  return cut && d.messageType === GTPU_G_PDU && offset + GTPU_HEADER_SIZE + (d.length ?? 0) > end;
}

function messageName(type: number): string {
  return MESSAGE_NAMES.get(type) ?? "unknown";
}

export const gtpuLayer = defineLayer({
  type: "GTPU",
  info: { title: "GTP-U", tcpip: "link", osi: 2 },
  udpPorts: [UDP_PORT_GTPU],
  fast: fastGtpu,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const d = decodeGtpu(w.bytes, offset, end, tunnelDatagramEnd(w.bytes, offset) - offset);
    if (!pushHeader(w, "GTPU", d, offset, end, false)) return end;
    // The message ends where its length says (tshark hands the user packet no more).
    const inner = offset + d.headerLength;
    const messageEnd = Math.max(inner, Math.min(end, offset + GTPU_HEADER_SIZE + d.length));
    if (inner < messageEnd) {
      const etherType = d.messageType === GTPU_G_PDU ? userPacketEtherType(w.bytes, inner, messageEnd) : 0;
      decodeTunnelled(w, etherType, inner, messageEnd, depth);
    } else if (gpduCut(d, offset, end, end === w.bytes.length && w.wireLength > end)) {
      w.raw(inner, end, false, "GTP-U payload", [anomaly("truncated", "the capture stops after the GTP-U header")]);
    }
    w.trailer(messageEnd, end, false);
    return end;
  },
  encode: (layer, payload) => encodeGtpu(layer.fields, payload),
  size: (layer) => gtpuHeaderSize(layer.fields),
  rows({ fields: f }) {
    const { e, s, pn } = presence(f);
    const rows: ShowRow[] = [
      ["version", String(f.version), f.version === 1 ? "GTPv1" : "unknown"],
      ["protocolType", String(f.protocolType), f.protocolType ? "GTP" : "GTP'"],
      ["reserved", String(f.reserved)],
      ["e", String(e), "extension headers follow"],
      ["s", String(s), "sequence number present"],
      ["pn", String(pn), "N-PDU number present"],
      ["messageType", String(f.messageType), messageName(f.messageType)],
      ["length", showNum(f.length), "bytes after the first 8"],
      ["teid", showHex(f.teid, 8), `tunnel endpoint id ${f.teid}`],
    ];
    if (e || s || pn) {
      rows.push(
        ["sequence", showNum(f.sequence ?? 0), s ? undefined : "not used (S clear)"],
        ["npdu", showNum(f.npdu ?? 0), pn ? undefined : "not used (PN clear)"],
        [
          "nextExtensionType",
          showHex(f.nextExtensionType ?? (e ? f.extensions[0]?.type : 0) ?? 0, 2),
          e ? undefined : "not used (E clear)",
        ],
      );
    }
    f.extensions.forEach((x, i) => {
      const name = EXTENSION_NAMES.get(x.type) ?? "unknown";
      rows.push([
        `extensions[${i}]`,
        showHex(x.type, 2),
        `${name}, ${extensionSize(x)} bytes: ${previewBytes(x.content)}`,
      ]);
    });
    return rows;
  },
  summary: ({ fields: f }) =>
    `GTP-U ${messageName(f.messageType)} teid=0x${f.teid.toString(16).padStart(8, "0")}${
      f.sequence !== undefined && presence(f).s ? ` seq=${f.sequence}` : ""
    }`,
});
