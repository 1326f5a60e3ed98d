import { formatHex, formatMac, parseMac } from "../address-text.ts";
import { anomaly, type LayerAnomaly } from "../anomaly.ts";
import { concatBytes, readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { type DecodeWalker, defineLayer } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { previewBytes, showNum } from "../show-format.ts";
import { codeTable } from "./code-table.ts";
import { etherTypeName } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * Linux netfilter NFLOG (tcpdump.org LINKTYPE_NFLOG = 239): one nfnetlink_log message per packet
 * an iptables/nftables NFLOG rule logs, as `tcpdump -i nflog:GROUP` writes it.
 *
 * +---------------+---------------+---------------+---------------+
 * |    Family     |  Version (0)  |   Resource id (the group)     |  nfgenmsg; resource id big-endian
 * +---------------+---------------+---------------+---------------+
 * |          TLV length           |F|         TLV type            |  host byte order of the capturer
 * +---------------+---------------+---------------+---------------+
 * |    Value (length − 4 bytes, network byte order), then padding to a multiple of 4 bytes …
 * +---------------+---------------+---------------+---------------+
 * |  … more TLVs; the PAYLOAD TLV (type 9) holds the network-layer packet, usually last …
 * +---------------+---------------+---------------+---------------+
 *
 * The length counts the 4-byte TLV header and the value, not the padding. Length and type are in
 * the byte order of the machine that captured (little-endian in practice): they are read
 * little-endian, and big-endian only when the little-endian length is impossible (under 4 or past
 * the captured end) and the big-endian one is not. Of the type field the low 15 bits are the type
 * and the top bit a flag (netlink's "nested"). Types (linux/netfilter/nfnetlink_log.h) below.
 * Family is the netfilter protocol family: 2 IPv4, 10 IPv6 (3 ARP, 7 bridge…). The packet in
 * PAYLOAD is decoded by PACKET_HDR's hardware protocol (an EtherType) when it is not 0, else by
 * the family, as tshark does.
 */

export const NflogTlvType = codeTable({
  PACKET_HDR: [1, "PACKET_HDR"], // hardware protocol (2 bytes, an EtherType), hook (1), pad (1)
  MARK: [2, "MARK"], // 32-bit packet mark
  TIMESTAMP: [3, "TIMESTAMP"], // 64-bit seconds, 64-bit microseconds
  IFINDEX_INDEV: [4, "IFINDEX_INDEV"], // 32-bit interface indexes
  IFINDEX_OUTDEV: [5, "IFINDEX_OUTDEV"],
  IFINDEX_PHYSINDEV: [6, "IFINDEX_PHYSINDEV"],
  IFINDEX_PHYSOUTDEV: [7, "IFINDEX_PHYSOUTDEV"],
  HWADDR: [8, "HWADDR"], // address length (2 bytes), pad (2), address (8)
  PAYLOAD: [9, "PAYLOAD"], // the network-layer packet
  PREFIX: [10, "PREFIX"], // the rule's log prefix, NUL-terminated
  UID: [11, "UID"], // 32-bit user and group ids of the socket
  SEQ: [12, "SEQ"], // 32-bit sequence numbers: the group's, the global one
  SEQ_GLOBAL: [13, "SEQ_GLOBAL"],
  GID: [14, "GID"],
  HWTYPE: [15, "HWTYPE"], // 16-bit ARPHRD_ type
  HWHEADER: [16, "HWHEADER"], // the link-layer header
  HWLEN: [17, "HWLEN"], // 16-bit length of HWHEADER
  CT: [18, "CT"], // conntrack attributes (nested)
  CT_INFO: [19, "CT_INFO"], // 32-bit conntrack state
});
const T = NflogTlvType.codes;

/** Netfilter protocol families (linux/netfilter.h NFPROTO_*). */
const FAMILIES = codeTable({
  UNSPEC: [0, "unspecified"],
  INET: [1, "inet"],
  IPV4: [2, "IPv4"],
  ARP: [3, "ARP"],
  NETDEV: [5, "netdev"],
  BRIDGE: [7, "bridge"],
  IPV6: [10, "IPv6"],
  DECNET: [12, "DECnet"],
});
export const NflogFamily = FAMILIES.codes;

const HOOKS = ["pre-routing", "local in", "forward", "local out", "post-routing"];

export const NFLOG_HEADER_SIZE = 4;
const TLV_HEADER_SIZE = 4;
const FLAG = 0x8000;

export interface NflogTlv {
  /** NFULA_* attribute type: the low 15 bits of the type field (`NflogTlvType`). */
  type: number;
  /** The value as written (network byte order), without the padding. */
  value: Uint8Array;
  /** 1 when the type field's top bit is set (absent: clear). */
  flag?: number;
  /** "be" when length and type were written big-endian (absent: little-endian). */
  byteOrder?: "le" | "be";
  /** The bytes after the value up to the next multiple of 4, when not zeros (or fewer, where the capture ends). */
  padding?: Uint8Array;
}

/** How the PAYLOAD TLV is framed, for byte-exact encoding; every key may be left out. */
export interface NflogPayloadTlv {
  /** How many of `tlvs` come before it (absent: all of them, as the kernel writes it). */
  index?: number;
  flag?: number;
  byteOrder?: "le" | "be";
  padding?: Uint8Array;
  /** Bytes in the TLV after the end of the network packet (flagged when decoded). */
  trailer?: Uint8Array;
}

export interface NflogFields {
  /** Netfilter protocol family (2 IPv4, 10 IPv6, …); the builder fills it from the next layer. */
  family?: number;
  version: number;
  /** The NFLOG group (nfgenmsg res_id). */
  resourceId: number;
  /** Every TLV but the PAYLOAD one, in wire order. */
  tlvs: NflogTlv[];
  /** The PAYLOAD TLV's length field as written; computed when undefined (4 + the packet's length). */
  payloadLength?: number;
  /** The PAYLOAD TLV's framing; null when the message has none (the layer then carries nothing). */
  payload?: NflogPayloadTlv | null;
}

/** One TLV at a time, for the show rows and the builder: `nflogTlv.prefix("drop")`. */
export const nflogTlv = {
  packetHeader: (hwProtocol: number, hook: number): NflogTlv => ({
    type: T.PACKET_HDR,
    value: Uint8Array.of(hwProtocol >>> 8, hwProtocol & 0xff, hook, 0),
  }),
  mark: (mark: number): NflogTlv => u32Tlv(T.MARK, mark),
  /** Seconds and microseconds since 1970, each as a 64-bit number. */
  timestamp: (sec: number, usec: number): NflogTlv => {
    const value = new Uint8Array(16);
    const view = new DataView(value.buffer);
    view.setBigUint64(0, BigInt(sec));
    view.setBigUint64(8, BigInt(usec));
    return { type: T.TIMESTAMP, value };
  },
  inDevice: (ifindex: number): NflogTlv => u32Tlv(T.IFINDEX_INDEV, ifindex),
  outDevice: (ifindex: number): NflogTlv => u32Tlv(T.IFINDEX_OUTDEV, ifindex),
  physInDevice: (ifindex: number): NflogTlv => u32Tlv(T.IFINDEX_PHYSINDEV, ifindex),
  physOutDevice: (ifindex: number): NflogTlv => u32Tlv(T.IFINDEX_PHYSOUTDEV, ifindex),
  /** A hardware (MAC) address: its length, 2 pad bytes, the address in 8 bytes. */
  hwAddress: (mac: string): NflogTlv => {
    const address = parseMac(mac);
    const value = new Uint8Array(12);
    writeU16(value, 0, address.length);
    value.set(address, 4);
    return { type: T.HWADDR, value };
  },
  /** The log prefix, NUL-terminated as the kernel writes it. */
  prefix: (text: string): NflogTlv => ({ type: T.PREFIX, value: concatBytes(utf8.encode(text), Uint8Array.of(0)) }),
  uid: (uid: number): NflogTlv => u32Tlv(T.UID, uid),
  gid: (gid: number): NflogTlv => u32Tlv(T.GID, gid),
  seq: (seq: number): NflogTlv => u32Tlv(T.SEQ, seq),
  hwType: (type: number): NflogTlv => ({ type: T.HWTYPE, value: Uint8Array.of(type >>> 8, type & 0xff) }),
  hwHeader: (header: Uint8Array): NflogTlv => ({ type: T.HWHEADER, value: header }),
  other: (type: number, value: Uint8Array): NflogTlv => ({ type, value }),
};

const utf8 = new TextEncoder();

function u32Tlv(type: number, n: number): NflogTlv {
  const value = new Uint8Array(4);
  writeU32(value, 0, n);
  return { type, value };
}

/** Bytes of padding after a TLV whose length field says `length`. */
const padOf = (length: number) => (4 - (length % 4)) % 4;

/**
 * The length of the TLV at `at` (captured bytes end at `end`, at least 4 of them there): the
 * little-endian length when it fits (4 ≤ length ≤ end − at), else the big-endian one when it
 * fits, returned negated; 0 when neither does. Shared by the fast and the slow read.
 */
function tlvLength(b: Uint8Array, at: number, end: number): number {
  const room = end - at;
  const le = b[at]! | (b[at + 1]! << 8);
  if (le >= TLV_HEADER_SIZE && le <= room) return le;
  const be = (b[at]! << 8) | b[at + 1]!;
  if (be >= TLV_HEADER_SIZE && be <= room) return -be;
  return 0;
}

/** The raw 16-bit type field of the TLV at `at`, in its byte order. */
const tlvTypeField = (b: Uint8Array, at: number, bigEndian: boolean) =>
  bigEndian ? (b[at + 2]! << 8) | b[at + 3]! : b[at + 2]! | (b[at + 3]! << 8);

/** The EtherType of the packet in PAYLOAD: PACKET_HDR's hardware protocol when not 0, else by family. */
export function nflogEtherType(family: number, hwProtocol: number): number {
  if (hwProtocol !== 0) return hwProtocol;
  return family === NflogFamily.IPV4 ? 0x0800 : family === NflogFamily.IPV6 ? 0x86dd : 0;
}

/**
 * Fast read: walks the TLVs (each at least 4 bytes, never past the captured end) to PAYLOAD and
 * returns where the packet in it starts. The walker gives the network layer no end of its own,
 * so it reads up to the captured end; PAYLOAD is the last TLV the kernel writes, so only its
 * padding (under 4 bytes) follows, which the IP layer leaves aside by its own length as it does
 * an Ethernet trailer. A message cut before PAYLOAD is TRUNCATED, an impossible length
 * BAD_LENGTH; one without PAYLOAD stops the walk.
 */
export function fastNflog(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < NFLOG_HEADER_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const cut = out.wireLength > end - p;
  const family = buffer[p]!;
  let hwProtocol = 0;
  let at = p + NFLOG_HEADER_SIZE;
  while (end - at >= TLV_HEADER_SIZE) {
    const signed = tlvLength(buffer, at, end);
    if (signed === 0) {
      const length = buffer[at]! | (buffer[at + 1]! << 8);
      // A PAYLOAD TLV longer than the captured rest: the packet inside, as captured.
      if (length >= TLV_HEADER_SIZE && (tlvTypeField(buffer, at, false) & ~FLAG) === T.PAYLOAD) {
        if (!cut) out.anomalies |= Anomaly.BAD_LENGTH;
        out.etherType = nflogEtherType(family, hwProtocol);
        return at + TLV_HEADER_SIZE;
      }
      out.anomalies |= length >= TLV_HEADER_SIZE && cut ? Anomaly.TRUNCATED : Anomaly.BAD_LENGTH;
      return -1;
    }
    const length = signed < 0 ? -signed : signed;
    const type = tlvTypeField(buffer, at, signed < 0) & ~FLAG;
    if (type === T.PAYLOAD) {
      out.etherType = nflogEtherType(family, hwProtocol);
      return at + TLV_HEADER_SIZE;
    }
    if (type === T.PACKET_HDR && length === 8) hwProtocol = (buffer[at + 4]! << 8) | buffer[at + 5]!;
    at += length + padOf(length);
  }
  if (cut) out.anomalies |= Anomaly.TRUNCATED;
  return -1;
}

export interface DecodedNflog {
  /** The layer's fields (family, payloadLength and payload set). */
  fields: NflogFields & { family: number };
  anomalies: LayerAnomaly[];
  /** False when the 4-byte header is not all there. */
  complete: boolean;
  /** Bytes from the start to the packet in PAYLOAD (or to the end of the TLVs without one). */
  headerLength: number;
  /** The captured bytes of the packet in PAYLOAD ([-1, -1) without one). */
  payloadStart: number;
  payloadEnd: number;
  /** EtherType of that packet (0: none qoelab knows). */
  etherType: number;
  /** Where the readable TLVs end. */
  tlvEnd: number;
  /** Why the walk stopped before the end (a TLV cut or of impossible length), if it did. */
  stop?: LayerAnomaly;
}

/** The bytes after a value up to the next multiple of 4 (captured ones only); undefined when the zeros expected. */
function paddingAt(b: Uint8Array, from: number, length: number, end: number): Uint8Array | undefined {
  const want = padOf(length);
  const padding = b.subarray(from, Math.min(from + want, end));
  return padding.length === want && padding.every((x) => x === 0) ? undefined : padding.slice();
}

/** Decodes the header and the TLVs at `offset`; `cut` says the frame was cut by the capture (snaplen). */
export function decodeNflog(bytes: Uint8Array, offset: number, end: number, cut: boolean): DecodedNflog {
  const extent = headerExtent("NFLOG header", NFLOG_HEADER_SIZE, end - offset);
  const family = bytes[offset] ?? 0;
  const fields: DecodedNflog["fields"] = {
    family,
    version: bytes[offset + 1] ?? 0,
    resourceId: readU16(bytes, offset + 2),
    tlvs: [],
    payload: null,
  };
  const d: DecodedNflog = {
    fields,
    anomalies: extent.anomalies,
    complete: extent.complete,
    headerLength: extent.headerLength,
    payloadStart: -1,
    payloadEnd: -1,
    etherType: 0,
    tlvEnd: offset + extent.headerLength,
  };
  if (!extent.complete) return d;
  let hwProtocol = 0;
  let at = offset + NFLOG_HEADER_SIZE;
  while (end - at >= TLV_HEADER_SIZE) {
    let signed = tlvLength(bytes, at, end);
    const le = bytes[at]! | (bytes[at + 1]! << 8);
    const cutPayload = signed === 0 && le >= TLV_HEADER_SIZE && (tlvTypeField(bytes, at, false) & ~FLAG) === T.PAYLOAD;
    if (signed === 0 && !cutPayload) {
      d.stop =
        le >= TLV_HEADER_SIZE && cut
          ? anomaly("truncated", `NFLOG TLV of length ${le}: ${end - at} bytes captured`)
          : anomaly("bad-length", `NFLOG TLV length ${le} (0x${formatHex(bytes, at, at + 2)}): not 4 to ${end - at}`);
      break;
    }
    if (cutPayload) signed = le;
    const bigEndian = signed < 0;
    const length = bigEndian ? -signed : signed;
    const typeField = tlvTypeField(bytes, at, bigEndian);
    const type = typeField & ~FLAG;
    const framing = {
      ...(typeField & FLAG ? { flag: 1 } : {}),
      ...(bigEndian ? { byteOrder: "be" as const } : {}),
    };
    const valueEnd = Math.min(at + length, end);
    const padding = paddingAt(bytes, valueEnd, length, end);
    if (type === T.PAYLOAD && fields.payload === null) {
      fields.payloadLength = length;
      fields.payload = { index: fields.tlvs.length, ...framing, ...(padding ? { padding } : {}) };
      d.payloadStart = at + TLV_HEADER_SIZE;
      d.payloadEnd = valueEnd;
      d.headerLength = d.payloadStart - offset;
      d.etherType = nflogEtherType(family, hwProtocol);
      if (cutPayload && !cut) {
        d.anomalies.push(anomaly("bad-length", `NFLOG PAYLOAD length ${length}: ${end - at} bytes captured`));
      }
    } else {
      fields.tlvs.push({
        type,
        value: bytes.slice(at + TLV_HEADER_SIZE, valueEnd),
        ...framing,
        ...(padding ? { padding } : {}),
      });
      if (type === T.PACKET_HDR && length === 8) hwProtocol = readU16(bytes, at + 4);
    }
    at = Math.min(at + length + padOf(length), end);
  }
  d.tlvEnd = at;
  if (fields.payload === null) {
    d.headerLength = at - offset;
    if (cut && d.stop === undefined && at === end) {
      d.anomalies.push(anomaly("truncated", "NFLOG message cut before its PAYLOAD TLV"));
    }
  }
  return d;
}

/** Length and type field of a TLV in its byte order. */
function tlvHeader(length: number, type: number, flag: number | undefined, byteOrder: "le" | "be" | undefined) {
  const field = (type & ~FLAG) | (flag ? FLAG : 0);
  const out = new Uint8Array(TLV_HEADER_SIZE);
  const view = new DataView(out.buffer);
  view.setUint16(0, length & 0xffff, byteOrder !== "be");
  view.setUint16(2, field, byteOrder !== "be");
  return out;
}

function encodeTlv(t: NflogTlv): Uint8Array {
  const length = TLV_HEADER_SIZE + t.value.length;
  return concatBytes(
    tlvHeader(length, t.type, t.flag, t.byteOrder),
    t.value,
    t.padding ?? new Uint8Array(padOf(length)),
  );
}

/** The header, the TLVs and, at its place, a PAYLOAD TLV around `packet` (after the TLVs when `payload` is null). */
export function encodeNflog(fields: NflogFields, packet: Uint8Array): Uint8Array {
  const header = new Uint8Array(NFLOG_HEADER_SIZE);
  header[0] = fields.family ?? 0;
  header[1] = fields.version;
  writeU16(header, 2, fields.resourceId);
  const parts: Uint8Array[] = [header];
  const payload = fields.payload;
  const index = payload === null ? -1 : Math.min(payload?.index ?? fields.tlvs.length, fields.tlvs.length);
  for (let i = 0; i <= fields.tlvs.length; i++) {
    if (i === index) {
      const trailer = payload?.trailer ?? new Uint8Array(0);
      const length = fields.payloadLength ?? TLV_HEADER_SIZE + packet.length + trailer.length;
      parts.push(
        tlvHeader(length, T.PAYLOAD, payload?.flag, payload?.byteOrder),
        packet,
        trailer,
        payload?.padding ?? new Uint8Array(padOf(length)),
      );
    }
    const tlv = fields.tlvs[i];
    if (tlv !== undefined) parts.push(encodeTlv(tlv));
  }
  if (payload === null) parts.push(packet);
  return concatBytes(...parts);
}

/** A TLV's value in words: PACKET_HDR's protocol and hook, PREFIX as text, TIMESTAMP as a time… */
export function nflogTlvMeaning(type: number, v: Uint8Array): string {
  const u32 = v.length === 4 ? readU32(v, 0) : undefined;
  if (type === T.PACKET_HDR && v.length === 4) {
    const protocol = readU16(v, 0);
    const name = protocol === 0 ? "none: the family says" : etherTypeName(protocol);
    const hook = v[2]!;
    return `hw protocol 0x${protocol.toString(16).padStart(4, "0")} (${name}), hook ${hook} (${HOOKS[hook] ?? "unknown"})`;
  }
  if (type === T.PREFIX) return JSON.stringify(nflogPrefixText(v));
  if (type === T.TIMESTAMP && v.length === 16) return nflogTimeText(v);
  if (type === T.HWADDR && v.length === 12 && readU16(v, 0) <= 8) {
    const length = readU16(v, 0);
    return length === 6 ? formatMac(v, 4) : formatHex(v, 4, 4 + length);
  }
  if ((type === T.MARK || type === T.CT_INFO) && u32 !== undefined) return `0x${u32.toString(16).padStart(8, "0")}`;
  if (U32_DECIMAL.has(type) && u32 !== undefined) return String(u32);
  if ((type === T.HWTYPE || type === T.HWLEN) && v.length === 2) return String(readU16(v, 0));
  return v.length === 0 ? "empty" : previewBytes(v);
}

/** TLVs whose value is a 32-bit number shown in decimal: interface indexes, ids, sequence numbers. */
const U32_DECIMAL: ReadonlySet<number> = new Set([
  T.IFINDEX_INDEV,
  T.IFINDEX_OUTDEV,
  T.IFINDEX_PHYSINDEV,
  T.IFINDEX_PHYSOUTDEV,
  T.UID,
  T.GID,
  T.SEQ,
  T.SEQ_GLOBAL,
]);

/** PREFIX's text: the bytes before the first NUL. */
export function nflogPrefixText(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return new TextDecoder().decode(nul < 0 ? value : value.subarray(0, nul));
}

/** A TIMESTAMP value (64-bit seconds, 64-bit microseconds) as seconds and microseconds. */
export function nflogTimestamp(value: Uint8Array): { sec: number; usec: number } {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  return { sec: Number(view.getBigUint64(0)), usec: Number(view.getBigUint64(8)) };
}

function nflogTimeText(value: Uint8Array): string {
  const { sec, usec } = nflogTimestamp(value);
  const date = new Date(sec * 1000);
  if (Number.isNaN(date.getTime()) || usec >= 1_000_000) return `${sec} s ${usec} µs`;
  return `${date.toISOString().slice(0, 19)}.${String(usec).padStart(6, "0")}Z`;
}

/** The framing a TLV was written with when not the usual one (flag set, big-endian, padding not zeros). */
function framingNote(f: { flag?: number; byteOrder?: "le" | "be"; padding?: Uint8Array }): string {
  const notes: string[] = [];
  if (f.flag) notes.push("flag set");
  if (f.byteOrder === "be") notes.push("big-endian");
  if (f.padding !== undefined) notes.push(`padding ${f.padding.length > 0 ? formatHex(f.padding) : "cut"}`);
  return notes.length > 0 ? `; ${notes.join(", ")}` : "";
}

function nflogRows(f: NflogFields): ShowRow[] {
  const rows: ShowRow[] = [
    ["family", showNum(f.family), f.family === undefined ? undefined : (FAMILIES.names.get(f.family) ?? "unknown")],
    ["version", String(f.version)],
    ["resourceId", String(f.resourceId), "group"],
  ];
  const payload = f.payload;
  const index = payload === null ? -1 : Math.min(payload?.index ?? f.tlvs.length, f.tlvs.length);
  for (let i = 0; i <= f.tlvs.length; i++) {
    if (i === index) {
      const trailer = payload?.trailer ? `; ${payload.trailer.length} bytes after the packet` : "";
      rows.push([
        "payload",
        "PAYLOAD",
        `the network packet, TLV length ${showNum(f.payloadLength)}${trailer}${framingNote(payload ?? {})}`,
      ]);
    }
    const t = f.tlvs[i];
    if (t === undefined) continue;
    const name = NflogTlvType.names.get(t.type) ?? `type ${t.type}`;
    rows.push([`tlvs[${i}]`, name, nflogTlvMeaning(t.type, t.value) + framingNote(t)]);
  }
  if (payload === null) rows.push(["payload", "none", "no PAYLOAD TLV"]);
  return rows;
}

/** Slow decode: the NFLOG layer, the packet in PAYLOAD by EtherType, bytes that form no TLV as a trailer. */
function decodeNflogLink(w: DecodeWalker, end: number): void {
  const d = decodeNflog(w.bytes, 0, end, w.wireLength > end);
  if (!d.complete) {
    w.raw(0, end, false, "NFLOG", d.anomalies);
    return;
  }
  // A TLV after PAYLOAD that cannot be read is flagged here; its bytes are the trailer below.
  if (d.payloadStart >= 0 && d.stop !== undefined) d.anomalies.push(d.stop);
  w.push({ type: "NFLOG", fields: d.fields }, d, 0, false);
  if (d.payloadStart < 0) {
    if (d.stop !== undefined) w.raw(d.tlvEnd, end, false, "NFLOG TLV", [d.stop]);
    else if (d.tlvEnd < end && w.wireLength > end) {
      w.raw(d.tlvEnd, end, false, "NFLOG TLV", [anomaly("truncated", "NFLOG TLV header cut by the capture")]);
    } else w.trailer(d.tlvEnd, end, false);
    return;
  }
  const networkEnd = w.ether(d.etherType, d.payloadStart, d.payloadEnd, 0);
  if (networkEnd < d.payloadEnd) {
    // The NFLOG layer was pushed first (it is outermost); its fields and anomalies are ours still.
    d.fields.payload!.trailer = w.bytes.slice(networkEnd, d.payloadEnd);
    d.anomalies.push(anomaly("trailing-bytes", `${d.payloadEnd - networkEnd} bytes in PAYLOAD after the packet`));
  }
  // TLVs after PAYLOAD are in the layer's fields; what follows them forms no TLV.
  w.trailer(d.tlvEnd, end, false);
}

/** The log prefix, when the message has a PREFIX TLV. */
function nflogPrefix(f: NflogFields): string | undefined {
  const tlv = f.tlvs.find((t) => t.type === T.PREFIX);
  return tlv === undefined ? undefined : nflogPrefixText(tlv.value);
}

export const nflogLayer = defineLayer({
  type: "NFLOG",
  info: { title: "NFLOG", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.NFLOG],
  fastNext: "ether",
  fast: fastNflog,
  decodeLink: decodeNflogLink,
  encode: (layer, payload, context) =>
    encodeNflog(
      {
        ...layer.fields,
        family:
          layer.fields.family ??
          (context.next === "IPv4" ? NflogFamily.IPV4 : context.next === "IPv6" ? NflogFamily.IPV6 : 0),
      },
      payload,
    ),
  size: ({ fields: f }) => {
    const index = f.payload === null ? f.tlvs.length : Math.min(f.payload?.index ?? f.tlvs.length, f.tlvs.length);
    let size = NFLOG_HEADER_SIZE + (f.payload === null ? 0 : TLV_HEADER_SIZE);
    for (const t of f.tlvs.slice(0, index)) size += encodeTlv(t).length;
    return size;
  },
  rows: ({ fields }) => nflogRows(fields),
  summary: ({ fields: f }) => {
    const prefix = nflogPrefix(f);
    return `NFLOG group=${f.resourceId}${prefix ? ` prefix=${JSON.stringify(prefix)}` : ""}`;
  },
});
