import { formatMac, parseMac } from "../address-text.ts";
import { anomaly, type ChecksumStatus, type LayerAnomaly } from "../anomaly.ts";
import { concatBytes, readU16LE, readU32LE } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { type DecodeWalker, defineLayer } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { previewBytes, showHex } from "../show-format.ts";
import { crc32 } from "./crc32.ts";
import { decodeLlcSnap, LLC_SNAP_SIZE, snapEtherType } from "./llc-snap.ts";

/*
 * IEEE 802.11 MAC frames (tcpdump.org LINKTYPE_IEEE802_11 = 105; inside radiotap and PPI too).
 * Multi-byte fields are little-endian. The header's shape depends on the frame control field:
 *
 * +---------------+---------------+---------------+---------------+
 * | Frame control: ver(2) type(2) subtype(4) | flags |  Duration/ID |  0
 * +---------------+---------------+---------------+---------------+
 * |                  Address 1 (receiver, 6 bytes) …              |  4
 * +---------------+---------------+---------------+---------------+
 * |  … Address 1  |   Address 2 (transmitter) …                   |
 * +---------------+---------------+---------------+---------------+
 * |  … Address 2                  |   Address 3 …                 |
 * +---------------+---------------+---------------+---------------+
 * |  … Address 3                  |   Sequence control            |  22: fragment(4) sequence(12)
 * +---------------+---------------+---------------+---------------+
 * |   Address 4 (data frames with ToDS and FromDS set, 6 bytes) … |  24
 * +---------------+---------------+---------------+---------------+
 * |   QoS control (QoS data)      |  HT control (QoS data or management with Order set, 4 bytes)
 * +---------------+---------------+---------------+---------------+
 * |   Frame body (data: 802.2 LLC/SNAP, then the packet) …  |  FCS (CRC-32, when the link has it)
 * +---------------+---------------+---------------+---------------+
 *
 * Management frames (type 0) have three addresses and sequence control; control frames (type 1)
 * only a receiver address (CTS, ACK) or a receiver and a transmitter address (RTS, PS-Poll,
 * BlockAck…). Flags: 0x01 ToDS, 0x02 FromDS, 0x04 more fragments, 0x08 retry, 0x10 power
 * management, 0x20 more data, 0x40 protected, 0x80 order (+HTC). The walk goes into the body only
 * for unprotected, unfragmented data frames that carry data (subtype bit 0x4 clear) and no A-MSDU:
 * a body that starts with an LLC/SNAP header hands over by its EtherType. Radiotap's "data pad"
 * flag puts padding after the header up to a multiple of 4 bytes.
 */

export const Dot11Type = { MANAGEMENT: 0, CONTROL: 1, DATA: 2, EXTENSION: 3 } as const;

export const Dot11Flag = {
  TO_DS: 0x01,
  FROM_DS: 0x02,
  MORE_FRAGMENTS: 0x04,
  RETRY: 0x08,
  POWER_MANAGEMENT: 0x10,
  MORE_DATA: 0x20,
  PROTECTED: 0x40,
  ORDER: 0x80,
} as const;

const FCS_SIZE = 4;
const ADDRESS_SIZE = 6;
/** QoS control bit 7: the body is an A-MSDU (several subframes), not one LLC packet. */
const QOS_AMSDU = 0x80;

/** How a link hands a frame over: whether it ends with the FCS, whether the header is padded to 4 bytes. */
export interface Dot11Framing {
  fcs: boolean;
  dataPad: boolean;
}

export const NO_FRAMING: Dot11Framing = { fcs: false, dataPad: false };

export interface Dot11Fields {
  /** Protocol version (0). */
  version?: number;
  /** 0 management, 1 control, 2 data, 3 extension. */
  type: number;
  subtype: number;
  /** The frame control flags byte (`Dot11Flag`). */
  flags: number;
  /** Duration/ID. */
  duration: number;
  addr1: string;
  /** Addresses 2–4 where the frame type has them. */
  addr2?: string;
  addr3?: string;
  addr4?: string;
  /** Sequence control: fragment number and sequence number. */
  fragment?: number;
  sequence?: number;
  /** QoS control (QoS data frames). */
  qos?: number;
  /** HT control (QoS data and management frames with the order flag). */
  htc?: number;
  /** Padding after the header to a multiple of 4 bytes (radiotap's data pad flag). */
  padding?: Uint8Array;
  /** Bytes after the packet in the body, before the FCS. */
  trailer?: Uint8Array;
  /** Frame check sequence (the frame ends with it): a value, or "auto" to compute it. */
  fcs?: number | "auto";
}

/** Which header fields a frame control gives (sizes in bytes, 0: absent). */
export interface Dot11Shape {
  addresses: number;
  sequence: boolean;
  qos: boolean;
  htc: boolean;
  size: number;
}

/** The header's shape from the frame control: type, subtype, flags. */
export function dot11Shape(type: number, subtype: number, flags: number): Dot11Shape {
  let addresses = 1;
  let sequence = false;
  let qos = false;
  let htc = false;
  if (type === Dot11Type.MANAGEMENT) {
    addresses = 3;
    sequence = true;
    htc = (flags & Dot11Flag.ORDER) !== 0;
  } else if (type === Dot11Type.DATA) {
    addresses = (flags & 3) === 3 ? 4 : 3;
    sequence = true;
    qos = (subtype & 0x8) !== 0;
    htc = qos && (flags & Dot11Flag.ORDER) !== 0;
  } else if (type === Dot11Type.CONTROL) {
    // CTS (12) and ACK (13) carry only the receiver; the others a transmitter too.
    addresses = subtype === 12 || subtype === 13 ? 1 : 2;
  } else addresses = 0;
  const size = 4 + addresses * ADDRESS_SIZE + (sequence ? 2 : 0) + (qos ? 2 : 0) + (htc ? 4 : 0);
  return { addresses, sequence, qos, htc, size };
}

/** The header's size for the frame control at `p` (2 bytes there), before any data pad. */
function headerSizeAt(b: Uint8Array, p: number): number {
  const fc = b[p]!;
  const flags = b[p + 1]!;
  const type = (fc >> 2) & 3;
  if (type === Dot11Type.DATA) {
    let size = (flags & 3) === 3 ? 30 : 24;
    if (fc & 0x80) size += (flags & Dot11Flag.ORDER) !== 0 ? 6 : 2;
    return size;
  }
  if (type === Dot11Type.MANAGEMENT) return (flags & Dot11Flag.ORDER) !== 0 ? 28 : 24;
  if (type === Dot11Type.CONTROL) {
    const subtype = fc >> 4;
    return subtype === 12 || subtype === 13 ? 10 : 16;
  }
  return 4;
}

const padTo4 = (n: number) => (4 - (n % 4)) % 4;

/**
 * Fast read of the frame at `p` (captured bytes end at `end`; `fcs`: the frame ends with a 4-byte
 * FCS, `dataPad`: the header is padded to a multiple of 4): for an unprotected, unfragmented data
 * frame with an LLC/SNAP body, the EtherType into `out.etherType` and the packet's offset
 * returned; -1 for every other frame (the walk stops), TRUNCATED when the header is cut.
 */
export function fastIeee80211(
  buffer: Uint8Array,
  p: number,
  end: number,
  out: Dissection,
  fcs: boolean,
  dataPad: boolean,
): number {
  if (end - p < 2) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  let size = headerSizeAt(buffer, p);
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const fc = buffer[p]!;
  const flags = buffer[p + 1]!;
  // Data frames that carry data, not protected, not a fragment.
  if ((fc & 0x4c) !== 0x08 || (flags & (Dot11Flag.PROTECTED | Dot11Flag.MORE_FRAGMENTS)) !== 0) return -1;
  const seqAt = p + 22;
  if ((buffer[seqAt]! & 0x0f) !== 0) return -1;
  if (fc & 0x80 && (buffer[p + ((flags & 3) === 3 ? 30 : 24)]! & QOS_AMSDU) !== 0) return -1;
  if (dataPad) size += padTo4(size);
  const body = p + size;
  const bodyEnd = fcs && out.wireLength <= end - out.linkOffset ? end - FCS_SIZE : end;
  if (bodyEnd - body < LLC_SNAP_SIZE) return -1;
  const etherType = snapEtherType(buffer, body);
  if (etherType < 0) return -1;
  out.etherType = etherType;
  return body + LLC_SNAP_SIZE;
}

export interface DecodedDot11 {
  fields: Dot11Fields;
  anomalies: LayerAnomaly[];
  complete: boolean;
  headerLength: number;
  checksumStatus?: ChecksumStatus;
  /** The frame body, FCS excluded. */
  bodyStart: number;
  bodyEnd: number;
  /** Where the FCS is, or -1 when the frame has none or it was not captured whole. */
  fcsAt: number;
  /** Why the walk stops at the body (undefined: an LLC/SNAP body may follow). */
  stop?: string;
}

/**
 * Decodes the frame at `offset` up to `end`; `wireEnd` is where it ended on the wire (so an FCS
 * is only read when the capture kept it whole).
 */
export function decodeIeee80211(
  bytes: Uint8Array,
  offset: number,
  end: number,
  wireEnd: number,
  framing: Dot11Framing,
): DecodedDot11 {
  const available = end - offset;
  const fc = available >= 1 ? bytes[offset]! : 0;
  const flags = available >= 2 ? bytes[offset + 1]! : 0;
  const type = (fc >> 2) & 3;
  const subtype = fc >> 4;
  const shape = dot11Shape(type, subtype, flags);
  const fields: Dot11Fields = { type, subtype, flags, duration: readU16LE(bytes, offset + 2), addr1: "" };
  if (fc & 3) fields.version = fc & 3;
  const d: DecodedDot11 = {
    fields,
    anomalies: [],
    complete: available >= shape.size,
    headerLength: Math.max(0, Math.min(available, shape.size)),
    bodyStart: offset + shape.size,
    bodyEnd: end,
    fcsAt: -1,
  };
  if (!d.complete) {
    d.anomalies.push(anomaly("truncated", `802.11 header needs ${shape.size} bytes, ${available} captured`));
    return d;
  }
  let at = offset + 4;
  const mac = () => {
    const text = formatMac(bytes, at);
    at += ADDRESS_SIZE;
    return text;
  };
  if (shape.addresses >= 1) fields.addr1 = mac();
  if (shape.addresses >= 2) fields.addr2 = mac();
  if (shape.addresses >= 3) fields.addr3 = mac();
  if (shape.sequence) {
    const control = readU16LE(bytes, at);
    fields.fragment = control & 0x0f;
    fields.sequence = control >> 4;
    at += 2;
  }
  if (shape.addresses >= 4) fields.addr4 = mac();
  if (shape.qos) {
    fields.qos = readU16LE(bytes, at);
    at += 2;
  }
  if (shape.htc) {
    fields.htc = readU32LE(bytes, at);
    at += 4;
  }
  if (framing.dataPad && padTo4(shape.size) > 0) {
    const pad = bytes.slice(at, Math.min(at + padTo4(shape.size), end));
    fields.padding = pad;
    at += pad.length;
    d.headerLength = at - offset;
  }
  d.bodyStart = at;
  if (framing.fcs) {
    const fcsAt = wireEnd - FCS_SIZE;
    if (fcsAt >= at && fcsAt + FCS_SIZE <= end) {
      d.fcsAt = fcsAt;
      d.bodyEnd = fcsAt;
      fields.fcs = readU32LE(bytes, fcsAt);
      const good = crc32(bytes, offset, fcsAt) === fields.fcs;
      d.checksumStatus = good ? "good" : "bad";
      if (!good) d.anomalies.push(anomaly("bad-checksum", `802.11 FCS 0x${fields.fcs.toString(16).padStart(8, "0")}`));
    } else {
      d.checksumStatus = "unverified";
      d.bodyEnd = Math.max(at, Math.min(end, fcsAt));
    }
  }
  d.stop = walkStop(fields);
  return d;
}

/** Why the body is not walked into (undefined when it may hold an LLC/SNAP packet). */
function walkStop(f: Dot11Fields): string | undefined {
  if (f.type === Dot11Type.MANAGEMENT) return "management frame";
  if (f.type !== Dot11Type.DATA) return "control or extension frame";
  if (f.subtype & 0x4) return "no data";
  if (f.flags & Dot11Flag.PROTECTED) return "protected";
  if (f.flags & Dot11Flag.MORE_FRAGMENTS || (f.fragment ?? 0) > 0) return "fragment";
  if (f.qos !== undefined && f.qos & QOS_AMSDU) return "A-MSDU";
  return undefined;
}

/**
 * Slow decode of a frame at `offset` (a link layer of its own or after radiotap/PPI): the 802.11
 * layer, the LLC/SNAP header and the packet when the frame carries one, else the body as Raw;
 * bytes between the packet and the FCS go to the layer's `trailer`.
 */
export function decodeIeee80211Walk(w: DecodeWalker, offset: number, end: number, framing: Dot11Framing): void {
  const d = decodeIeee80211(w.bytes, offset, end, w.wireLength, framing);
  if (!d.complete) {
    w.raw(offset, end, false, "802.11", d.anomalies);
    return;
  }
  w.push({ type: "Dot11", fields: d.fields }, d, offset, false);
  const { bodyStart, bodyEnd } = d;
  if (d.stop === undefined && bodyEnd - bodyStart >= LLC_SNAP_SIZE && snapEtherType(w.bytes, bodyStart) >= 0) {
    const llc = decodeLlcSnap(w.bytes, bodyStart, bodyEnd);
    w.push({ type: "LLC", fields: llc.fields }, llc, bodyStart, false);
    const networkEnd = w.ether(llc.etherType, bodyStart + LLC_SNAP_SIZE, bodyEnd, 0);
    if (networkEnd < bodyEnd) {
      d.fields.trailer = w.bytes.slice(networkEnd, bodyEnd);
      d.anomalies.push(anomaly("trailing-bytes", `${bodyEnd - networkEnd} bytes after the end of the network packet`));
    }
  } else if (bodyEnd > bodyStart) w.raw(bodyStart, bodyEnd, false);
  const tail = d.fcsAt >= 0 ? d.fcsAt + FCS_SIZE : bodyEnd;
  // A cut FCS (snaplen) is kept as the trailer.
  if (tail < end) {
    if (d.fcsAt < 0) d.fields.trailer = concatBytes(d.fields.trailer ?? new Uint8Array(0), w.bytes.slice(tail, end));
    else w.trailer(tail, end, false);
  }
}

/** The header (and data pad) for `fields`. */
export function encodeIeee80211Header(f: Dot11Fields): Uint8Array {
  const shape = dot11Shape(f.type, f.subtype, f.flags);
  const out = new Uint8Array(shape.size);
  out[0] = ((f.subtype & 15) << 4) | ((f.type & 3) << 2) | ((f.version ?? 0) & 3);
  out[1] = f.flags;
  out[2] = f.duration & 0xff;
  out[3] = (f.duration >>> 8) & 0xff;
  let at = 4;
  const put = (text: string | undefined) => {
    if (text) out.set(parseMac(text).subarray(0, ADDRESS_SIZE), at);
    at += ADDRESS_SIZE;
  };
  const putLe = (value: number, size: number) => {
    for (let i = 0; i < size; i++) out[at + i] = (value >>> (8 * i)) & 0xff;
    at += size;
  };
  if (shape.addresses >= 1) put(f.addr1);
  if (shape.addresses >= 2) put(f.addr2);
  if (shape.addresses >= 3) put(f.addr3);
  if (shape.sequence) putLe(((f.sequence ?? 0) << 4) | ((f.fragment ?? 0) & 15), 2);
  if (shape.addresses >= 4) put(f.addr4);
  if (shape.qos) putLe(f.qos ?? 0, 2);
  if (shape.htc) putLe(f.htc ?? 0, 4);
  return f.padding === undefined ? out : concatBytes(out, f.padding);
}

/** The frame: header, `payload`, trailer, FCS (computed when "auto"). */
export function encodeIeee80211(f: Dot11Fields, payload: Uint8Array): Uint8Array {
  const frame = concatBytes(encodeIeee80211Header(f), payload, f.trailer ?? new Uint8Array(0));
  if (f.fcs === undefined) return frame;
  const fcs = f.fcs === "auto" ? crc32(frame, 0, frame.length) : f.fcs;
  return concatBytes(frame, Uint8Array.of(fcs & 0xff, (fcs >>> 8) & 0xff, (fcs >>> 16) & 0xff, fcs >>> 24));
}

const MANAGEMENT_NAMES = [
  "Association Request",
  "Association Response",
  "Reassociation Request",
  "Reassociation Response",
  "Probe Request",
  "Probe Response",
  "Timing Advertisement",
  "Reserved",
  "Beacon",
  "ATIM",
  "Disassociate",
  "Authentication",
  "Deauthentication",
  "Action",
  "Action No Ack",
  "Reserved",
];
const CONTROL_NAMES = [
  "Reserved",
  "Reserved",
  "Trigger",
  "TACK",
  "Beamforming Report Poll",
  "VHT/HE NDP Announcement",
  "Control Frame Extension",
  "Control Wrapper",
  "Block Ack Request",
  "Block Ack",
  "PS-Poll",
  "RTS",
  "CTS",
  "ACK",
  "CF-End",
  "CF-End + CF-Ack",
];
const DATA_NAMES = [
  "Data",
  "Data + CF-Ack",
  "Data + CF-Poll",
  "Data + CF-Ack + CF-Poll",
  "Null",
  "CF-Ack",
  "CF-Poll",
  "CF-Ack + CF-Poll",
  "QoS Data",
  "QoS Data + CF-Ack",
  "QoS Data + CF-Poll",
  "QoS Data + CF-Ack + CF-Poll",
  "QoS Null",
  "Reserved",
  "QoS CF-Poll",
  "QoS CF-Ack + CF-Poll",
];

/** "Beacon", "QoS Data", "ACK"… */
export function dot11SubtypeName(type: number, subtype: number): string {
  const names = type === 0 ? MANAGEMENT_NAMES : type === 1 ? CONTROL_NAMES : type === 2 ? DATA_NAMES : undefined;
  return names?.[subtype] ?? (type === 3 && subtype === 0 ? "DMG Beacon" : "Reserved");
}

/** The addresses by role (tshark's wlan.ra/ta/da/sa/bssid), from the ToDS/FromDS flags. */
export function dot11Addresses(f: Dot11Fields): { ra?: string; ta?: string; da?: string; sa?: string; bssid?: string } {
  const ra = f.addr1 || undefined;
  const ta = f.addr2;
  if (f.type === Dot11Type.CONTROL || f.type === Dot11Type.EXTENSION) return { ra, ta };
  if (f.type === Dot11Type.MANAGEMENT) return { ra, ta, da: ra, sa: ta, bssid: f.addr3 };
  switch (f.flags & 3) {
    case 0:
      return { ra, ta, da: ra, sa: ta, bssid: f.addr3 };
    case 1:
      return { ra, ta, da: f.addr3, sa: ta, bssid: ra };
    case 2:
      return { ra, ta, da: ra, sa: f.addr3, bssid: ta };
    default:
      return { ra, ta, da: f.addr3, sa: f.addr4 };
  }
}

const FLAG_NAMES: [number, string][] = [
  [Dot11Flag.TO_DS, "to-DS"],
  [Dot11Flag.FROM_DS, "from-DS"],
  [Dot11Flag.MORE_FRAGMENTS, "more-fragments"],
  [Dot11Flag.RETRY, "retry"],
  [Dot11Flag.POWER_MANAGEMENT, "power-mgmt"],
  [Dot11Flag.MORE_DATA, "more-data"],
  [Dot11Flag.PROTECTED, "protected"],
  [Dot11Flag.ORDER, "order"],
];

const flagText = (flags: number) =>
  FLAG_NAMES.filter(([bit]) => flags & bit)
    .map(([, name]) => name)
    .join(" ");

function dot11Rows(f: Dot11Fields): ShowRow[] {
  const a = dot11Addresses(f);
  const typeNames = ["management", "control", "data", "extension"];
  const role = (address: string | undefined) =>
    (Object.entries(a) as [string, string | undefined][])
      .filter(([, v]) => v === address)
      .map(([k]) => k.toUpperCase())
      .join("/");
  const rows: ShowRow[] = [
    ["type", String(f.type), typeNames[f.type]],
    ["subtype", String(f.subtype), dot11SubtypeName(f.type, f.subtype)],
    ["flags", showHex(f.flags, 2), flagText(f.flags) || undefined],
    ["duration", String(f.duration)],
  ];
  if (f.version) rows.unshift(["version", String(f.version)]);
  for (const key of ["addr1", "addr2", "addr3", "addr4"] as const) {
    const value = f[key];
    if (value) rows.push([key, value, role(value) || undefined]);
  }
  if (f.sequence !== undefined) rows.push(["sequence", String(f.sequence)], ["fragment", String(f.fragment ?? 0)]);
  if (f.qos !== undefined) {
    rows.push(["qos", showHex(f.qos, 4), `TID ${f.qos & 15}${f.qos & QOS_AMSDU ? ", A-MSDU" : ""}`]);
  }
  if (f.htc !== undefined) rows.push(["htc", showHex(f.htc, 8)]);
  if (f.padding !== undefined) rows.push(["padding", previewBytes(f.padding)]);
  if (f.trailer !== undefined) rows.push(["trailer", previewBytes(f.trailer), "bytes after the packet"]);
  if (f.fcs !== undefined) rows.push(["fcs", f.fcs === "auto" ? "auto" : showHex(f.fcs, 8)]);
  return rows;
}

export function dot11Summary(f: Dot11Fields): string {
  const a = dot11Addresses(f);
  const flags = f.flags & Dot11Flag.PROTECTED ? " protected" : "";
  const route = a.ta !== undefined ? ` ${a.ta} > ${a.ra ?? ""}` : a.ra !== undefined ? ` > ${a.ra}` : "";
  return `802.11 ${dot11SubtypeName(f.type, f.subtype)}${route}${flags}`;
}

export const ieee80211Layer = defineLayer({
  type: "Dot11",
  info: { title: "IEEE 802.11", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.IEEE802_11],
  fastNext: "ether",
  fast: (buffer, p, end, out) => fastIeee80211(buffer, p, end, out, false, false),
  decodeLink: (w, end) => decodeIeee80211Walk(w, 0, end, NO_FRAMING),
  encode: (layer, payload) => encodeIeee80211(layer.fields, payload),
  size: ({ fields: f }) => dot11Shape(f.type, f.subtype, f.flags).size + (f.padding?.length ?? 0),
  rows: ({ fields }) => dot11Rows(fields),
  summary: ({ fields }) => dot11Summary(fields),
});
