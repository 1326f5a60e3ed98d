import { formatHex } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU32, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showNum } from "../show-format.ts";
import { ETHERTYPE_TRANSPARENT_ETHERNET } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * ERSPAN (Cisco's Encapsulated Remote SPAN, draft-foschiano-erspan-03), carried in GRE (gre.ts):
 * a mirrored Ethernet frame behind an ERSPAN header. Type I has no header (GRE 0x88BE without the
 * sequence bit: gre.ts announces the frame itself). Type II, GRE protocol 0x88BE (§4.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Ver  |          VLAN         | COS | En|T|    Session ID     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Reserved         |                  Index                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Ver = 1. En: how the frame was tagged when mirrored; T: the frame was truncated.
 *
 * Type III, GRE protocol 0x22EB (§4.2):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Ver  |          VLAN         | COS |BSO|T|     Session ID    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Timestamp                            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             SGT               |P|    FT   |   Hw ID   |D|Gra|O|
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Platf ID |   Platform Specific Info (8 octets in all, O set)  ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Ver = 2. BSO: bad/short/oversized; SGT: security group tag; P: Ethernet PDU; FT: frame type
 * (0 = Ethernet; others are not decoded); D: direction (0 ingress); Gra: timestamp granularity;
 * O: the 8-octet platform-specific subheader follows.
 */

export const ERSPAN_II_HEADER_SIZE = 8;
export const ERSPAN_III_HEADER_SIZE = 12;
export const ERSPAN_SUBHEADER_SIZE = 8;
export const ETHERTYPE_ERSPAN_II = 0x88be;
export const ETHERTYPE_ERSPAN_III = 0x22eb;

/** Both types' fields: `reserved`/`index` are type II's, `timestamp` … `subheader` type III's. */
export interface ErspanFields {
  /** 1 = type II, 2 = type III. */
  version: number;
  /** VLAN of the mirrored frame, 0..4095. */
  vlan: number;
  /** Class of service, 0..7. */
  cos: number;
  /** Type II: En (0 untagged, 1 ISL, 2 802.1Q, 3 VLAN preserved); type III: BSO (bad/short/oversized). */
  encap: number;
  /** T: the mirrored frame was truncated. */
  truncated: number;
  /** Session ID, 0..1023. */
  sessionId: number;
  /** Type II: 12 reserved bits. */
  reserved?: number;
  /** Type II: port index, 20 bits. */
  index?: number;
  /** Type III: timestamp in units of `gra`. */
  timestamp?: number;
  /** Type III: security group tag. */
  sgt?: number;
  /** Type III: P, the frame is an Ethernet PDU. */
  p?: number;
  /** Type III: frame type (0 Ethernet). */
  ft?: number;
  /** Type III: hardware id, 6 bits. */
  hwId?: number;
  /** Type III: D, 0 ingress, 1 egress. */
  direction?: number;
  /** Type III: timestamp granularity (0 100 µs, 1 100 ns, 2 IEEE 1588, 3 custom). */
  gra?: number;
  /** Type III: O, the platform-specific subheader follows; undefined: set when `subheader` is given. */
  o?: number;
  /** Type III: the 8-octet platform-specific subheader (platform id in the first 6 bits). */
  subheader?: Uint8Array;
}

export type DecodedErspan = ErspanFields & DecodeInfo;

const GRANULARITY = ["100 microseconds", "100 nanoseconds", "IEEE 1588", "custom"];
const BSO = ["good or unknown integrity", "short frame", "oversized frame", "CRC or alignment error"];
const ENCAP = ["originally without VLAN tag", "ISL encapsulated", "802.1Q encapsulated", "VLAN tag preserved"];

/** Bytes of the ERSPAN header starting with `first` and (type III) whose last header byte is `last`; 0: unknown version. */
function erspanHeaderSize(first: number, last: number): number {
  const version = first >> 4;
  if (version === 1) return ERSPAN_II_HEADER_SIZE;
  if (version === 2) return ERSPAN_III_HEADER_SIZE + ((last & 1) === 1 ? ERSPAN_SUBHEADER_SIZE : 0);
  return 0;
}

export function decodeErspan(bytes: Uint8Array, offset: number, end: number): DecodedErspan {
  const available = end - offset;
  const word = readU32(bytes, offset);
  const version = word >>> 28;
  const common = {
    version,
    vlan: (word >>> 16) & 0x0fff,
    cos: (word >>> 13) & 7,
    encap: (word >>> 11) & 3,
    truncated: (word >>> 10) & 1,
    sessionId: word & 0x3ff,
  };
  if (version !== 1 && version !== 2) {
    const extent = headerExtent("ERSPAN header", ERSPAN_II_HEADER_SIZE, available);
    if (extent.complete) {
      extent.complete = false;
      extent.anomalies.push(anomaly("bad-version", `ERSPAN version ${version} (1 = type II, 2 = type III)`));
    }
    return { ...common, ...extent };
  }
  if (version === 1) {
    const second = readU32(bytes, offset + 4);
    return {
      ...common,
      reserved: second >>> 20,
      index: second & 0xfffff,
      ...headerExtent("ERSPAN type II header", ERSPAN_II_HEADER_SIZE, available),
    };
  }
  const third = readU32(bytes, offset + 8);
  const o = third & 1;
  const size = erspanHeaderSize(bytes[offset] ?? 0, third);
  const d: DecodedErspan = {
    ...common,
    timestamp: readU32(bytes, offset + 4),
    sgt: third >>> 16,
    p: (third >>> 15) & 1,
    ft: (third >>> 10) & 0x1f,
    hwId: (third >>> 4) & 0x3f,
    direction: (third >>> 3) & 1,
    gra: (third >>> 1) & 3,
    o,
    ...headerExtent(o ? "ERSPAN type III header with subheader" : "ERSPAN type III header", size, available),
  };
  if (d.complete && o) d.subheader = bytes.slice(offset + ERSPAN_III_HEADER_SIZE, offset + size);
  return d;
}

export function encodeErspan(fields: ErspanFields, payload: Uint8Array): Uint8Array {
  const first =
    ((fields.version & 0x0f) << 28) |
    ((fields.vlan & 0x0fff) << 16) |
    ((fields.cos & 7) << 13) |
    ((fields.encap & 3) << 11) |
    ((fields.truncated & 1) << 10) |
    (fields.sessionId & 0x3ff);
  if (fields.version !== 2) {
    const out = new Uint8Array(ERSPAN_II_HEADER_SIZE + payload.length);
    writeU32(out, 0, first);
    writeU32(out, 4, (((fields.reserved ?? 0) & 0x0fff) << 20) | ((fields.index ?? 0) & 0xfffff));
    out.set(payload, ERSPAN_II_HEADER_SIZE);
    return out;
  }
  const o = fields.o ?? (fields.subheader !== undefined ? 1 : 0);
  const size = ERSPAN_III_HEADER_SIZE + (o ? ERSPAN_SUBHEADER_SIZE : 0);
  const out = new Uint8Array(size + payload.length);
  writeU32(out, 0, first);
  writeU32(out, 4, fields.timestamp ?? 0);
  writeU32(
    out,
    8,
    (((fields.sgt ?? 0) & 0xffff) << 16) |
      (((fields.p ?? 0) & 1) << 15) |
      (((fields.ft ?? 0) & 0x1f) << 10) |
      (((fields.hwId ?? 0) & 0x3f) << 4) |
      (((fields.direction ?? 0) & 1) << 3) |
      (((fields.gra ?? 0) & 3) << 1) |
      (o & 1),
  );
  if (o) out.set((fields.subheader ?? new Uint8Array(0)).subarray(0, ERSPAN_SUBHEADER_SIZE), ERSPAN_III_HEADER_SIZE);
  out.set(payload, size);
  return out;
}

/**
 * Fast read: skips the header (type II or III by its version nibble) and announces the mirrored
 * Ethernet frame (EtherType 0x6558); a type III frame type other than Ethernet, or an unknown
 * version, stops the walk.
 */
function fastErspan(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < ERSPAN_II_HEADER_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const size = erspanHeaderSize(buffer[p]!, end - p > 11 ? buffer[p + 11]! : 0);
  if (size === 0) {
    out.etherType = 0;
    return -1;
  }
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  if (size > ERSPAN_II_HEADER_SIZE && ((buffer[p + 10]! >> 2) & 0x1f) !== 0) {
    out.etherType = 0;
    return -1;
  }
  out.etherType = ETHERTYPE_TRANSPARENT_ETHERNET;
  return p + size;
}

export const erspanLayer = defineLayer({
  type: "ERSPAN",
  info: { title: "ERSPAN", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_ERSPAN_II, ETHERTYPE_ERSPAN_III],
  etherTypeFor: (layer) => (layer.fields.version === 2 ? ETHERTYPE_ERSPAN_III : ETHERTYPE_ERSPAN_II),
  fast: fastErspan,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const d = decodeErspan(w.bytes, offset, end);
    if (!pushHeader(w, "ERSPAN", d, offset, end, false)) return end;
    const frame = offset + d.headerLength;
    if (d.version === 2 && d.ft !== 0) {
      w.raw(frame, end, false);
      return end;
    }
    return w.ether(ETHERTYPE_TRANSPARENT_ETHERNET, frame, end, depth + 1);
  },
  encode: (layer, payload) => encodeErspan(layer.fields, payload),
  size: (layer) =>
    layer.fields.version !== 2
      ? ERSPAN_II_HEADER_SIZE
      : ERSPAN_III_HEADER_SIZE + ((layer.fields.o ?? (layer.fields.subheader ? 1 : 0)) ? ERSPAN_SUBHEADER_SIZE : 0),
  rows({ fields: f }) {
    const three = f.version === 2;
    const rows: ShowRow[] = [
      ["version", String(f.version), three ? "type III" : f.version === 1 ? "type II" : "unknown"],
      ["vlan", String(f.vlan)],
      ["cos", String(f.cos), "class of service"],
      ["encap", String(f.encap), (three ? BSO : ENCAP)[f.encap & 3]],
      ["truncated", String(f.truncated), f.truncated ? "mirrored frame truncated" : "not truncated"],
      ["sessionId", String(f.sessionId), "session id"],
    ];
    if (!three) {
      rows.push(["reserved", showNum(f.reserved)], ["index", showNum(f.index), "port index"]);
      return rows;
    }
    rows.push(
      ["timestamp", showNum(f.timestamp), f.gra === undefined ? undefined : `units: ${GRANULARITY[f.gra & 3]}`],
      ["sgt", showNum(f.sgt), "security group tag"],
      ["p", showNum(f.p), "Ethernet PDU"],
      ["ft", showNum(f.ft), f.ft === 0 ? "Ethernet frame" : "frame type not decoded"],
      ["hwId", showNum(f.hwId), "hardware id"],
      ["direction", showNum(f.direction), f.direction ? "egress" : "ingress"],
      ["gra", showNum(f.gra), f.gra === undefined ? undefined : GRANULARITY[f.gra & 3]],
      ["o", showNum(f.o), f.o ? "a platform subheader follows" : "no platform subheader"],
    );
    if (f.subheader !== undefined) {
      rows.push(["subheader", formatHex(f.subheader), `platform id ${(f.subheader[0] ?? 0) >> 2}`]);
    }
    return rows;
  },
  summary: ({ fields: f }) =>
    `ERSPAN ${f.version === 2 ? "III" : f.version === 1 ? "II" : `v${f.version}`} session=${f.sessionId} vlan=${f.vlan}`,
});
