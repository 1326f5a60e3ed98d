import { anomaly } from "../anomaly.ts";
import { concatBytes, readI8, readU16LE, readU32LE } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { LinkType, linkTypeName } from "../link-type.ts";
import { previewBytes, showHex, showNum } from "../show-format.ts";
import { codeTable } from "./code-table.ts";
import { headerLayout } from "./header-layout.ts";
import { decodeIeee80211Walk, fastIeee80211 } from "./ieee80211.ts";

/*
 * Per-Packet Information (tcpdump.org LINKTYPE_PPI = 192; CACE Technologies PPI 1.0): a header
 * of typed fields in front of a frame of another link type. Multi-byte fields are little-endian.
 *
 * +---------------+---------------+---------------+---------------+
 * |  Version (0)  |     Flags     |   Length (whole header)       |  flag 0x01: fields 32-bit aligned
 * +---------------+---------------+---------------+---------------+
 * |                 DLT of the frame that follows                 |
 * +---------------+---------------+---------------+---------------+
 * |         Field type            |        Field length           |  then `length` bytes of data,
 * +---------------+---------------+---------------+---------------+  fields up to the header's length
 *
 * 802.11-common (type 2, 20 bytes): TSF timer (8), flags (2: 0x1 FCS present, 0x2 TSF in ms,
 * 0x4 FCS invalid, 0x8 PHY error), rate (2, in 500 kb/s), channel frequency (2, MHz), channel
 * flags (2), FHSS hopset (1), FHSS pattern (1), dBm antenna signal (1), dBm antenna noise (1).
 * A frame of DLT 105 (802.11) is decoded, its FCS by the 802.11-common flag; others are Raw.
 */

const PPI = headerLayout({ version: 1, flags: 1, length: 2, dlt: 4 });
export const PPI_HEADER_SIZE = PPI.size;
const FIELD_HEADER_SIZE = 4;
const ALIGNED = 0x01;
const COMMON_FCS = 0x0001;

export const PpiFieldType = codeTable({
  COMMON_80211: [2, "802.11-common"],
  MAC_80211N: [3, "802.11n MAC extensions"],
  MAC_PHY_80211N: [4, "802.11n MAC+PHY extensions"],
  SPECTRUM_MAP: [5, "spectrum map"],
  PROCESS_INFO: [6, "process info"],
  CAPTURE_INFO: [7, "capture info"],
  AGGREGATION: [8, "aggregation extension"],
  DOT3: [9, "802.3 extension"],
  GPS: [30002, "GPS"],
  VECTOR: [30003, "vector"],
  SENSOR: [30004, "sensor"],
  ANTENNA: [30005, "antenna"],
});

export interface PpiFields {
  version?: number;
  flags?: number;
  /** Header length; computed when undefined. */
  length?: number;
  /** LINKTYPE of the frame that follows; the builder's default is 105 (802.11). */
  dlt: number;
  /** The field TLVs as written (with padding when aligned). */
  data: Uint8Array;
}

export interface PpiField {
  type: number;
  value: Uint8Array;
}

export interface Ppi80211Common {
  tsf: number;
  flags: number;
  rate: number;
  frequency: number;
  channelFlags: number;
  fhssHopset: number;
  fhssPattern: number;
  dbmAntSignal: number;
  dbmAntNoise: number;
}

/** The fields in the TLV area `data` (`aligned`: each padded to 4 bytes); stops at one that overruns. */
export function ppiFields(data: Uint8Array, aligned: boolean): PpiField[] {
  const out: PpiField[] = [];
  let at = 0;
  while (at + FIELD_HEADER_SIZE <= data.length) {
    const length = readU16LE(data, at + 2);
    if (at + FIELD_HEADER_SIZE + length > data.length) break;
    out.push({ type: readU16LE(data, at), value: data.slice(at + 4, at + 4 + length) });
    at += FIELD_HEADER_SIZE + length;
    if (aligned) at += (4 - (at % 4)) % 4;
  }
  return out;
}

export function ppi80211Common(value: Uint8Array): Ppi80211Common | undefined {
  if (value.length < 20) return undefined;
  return {
    tsf: readU32LE(value, 0) + readU32LE(value, 4) * 2 ** 32,
    flags: readU16LE(value, 8),
    rate: readU16LE(value, 10),
    frequency: readU16LE(value, 12),
    channelFlags: readU16LE(value, 14),
    fhssHopset: value[16]!,
    fhssPattern: value[17]!,
    dbmAntSignal: readI8(value, 18),
    dbmAntNoise: readI8(value, 19),
  };
}

/** A TLV for the builder: `ppiField(2, bytes)`; `ppi80211CommonField({ flags: 1, frequency: 2437 })`. */
export function ppiField(type: number, value: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(type & 0xff, type >>> 8, value.length & 0xff, value.length >>> 8), value);
}

export function ppi80211CommonField(c: Partial<Ppi80211Common>): Uint8Array {
  const v = new Uint8Array(20);
  const put = (at: number, x: number, size: number) => {
    for (let k = 0; k < size; k++) v[at + k] = (x >>> (8 * k)) & 0xff;
  };
  put(0, c.tsf ?? 0, 4);
  put(4, Math.floor((c.tsf ?? 0) / 2 ** 32), 4);
  put(8, c.flags ?? 0, 2);
  put(10, c.rate ?? 0, 2);
  put(12, c.frequency ?? 0, 2);
  put(14, c.channelFlags ?? 0, 2);
  v[16] = c.fhssHopset ?? 0;
  v[17] = c.fhssPattern ?? 0;
  v[18] = (c.dbmAntSignal ?? 0) & 0xff;
  v[19] = (c.dbmAntNoise ?? 0) & 0xff;
  return ppiField(PpiFieldType.codes.COMMON_80211, v);
}

/** True when the 802.11-common field of the TLVs at b[from, to) says the frame ends with its FCS. Allocates nothing. */
function commonSaysFcs(b: Uint8Array, from: number, to: number, aligned: boolean): boolean {
  let at = from;
  while (at + FIELD_HEADER_SIZE <= to) {
    const type = readU16LE(b, at);
    const length = readU16LE(b, at + 2);
    if (at + FIELD_HEADER_SIZE + length > to) return false;
    if (type === PpiFieldType.codes.COMMON_80211 && length >= 20) return (readU16LE(b, at + 12) & COMMON_FCS) !== 0;
    at += FIELD_HEADER_SIZE + length;
    if (aligned) at += (4 - ((at - from) % 4)) % 4;
  }
  return false;
}

/** Fast read: the header's length and DLT; an 802.11 frame is read on, other DLTs end the walk. */
export function fastPpi(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < PPI_HEADER_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const length = readU16LE(buffer, p + 2);
  if (length < PPI_HEADER_SIZE) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (length > end - p) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  if (readU32LE(buffer, p + PPI.dlt) !== LinkType.IEEE802_11) return -1;
  const aligned = (buffer[p + 1]! & ALIGNED) !== 0;
  const fcs = commonSaysFcs(buffer, p + PPI_HEADER_SIZE, p + length, aligned);
  return fastIeee80211(buffer, p + length, end, out, fcs, false);
}

export function encodePpiHeader(f: PpiFields): Uint8Array {
  const out = new Uint8Array(PPI_HEADER_SIZE);
  const length = f.length ?? PPI_HEADER_SIZE + f.data.length;
  out[PPI.version] = f.version ?? 0;
  out[PPI.flags] = f.flags ?? 0;
  out[PPI.length] = length & 0xff;
  out[PPI.length + 1] = (length >>> 8) & 0xff;
  for (let k = 0; k < 4; k++) out[PPI.dlt + k] = (f.dlt >>> (8 * k)) & 0xff;
  return concatBytes(out, f.data);
}

function ppiRows(f: PpiFields): ShowRow[] {
  const rows: ShowRow[] = [
    ["version", String(f.version ?? 0)],
    ["flags", showHex(f.flags ?? 0, 2), (f.flags ?? 0) & ALIGNED ? "32-bit aligned" : undefined],
    ["length", showNum(f.length)],
    ["dlt", String(f.dlt), linkTypeName(f.dlt)],
  ];
  ppiFields(f.data, ((f.flags ?? 0) & ALIGNED) !== 0).forEach((field, i) => {
    const name = PpiFieldType.names.get(field.type) ?? `type ${field.type}`;
    const common = field.type === PpiFieldType.codes.COMMON_80211 ? ppi80211Common(field.value) : undefined;
    const meaning = common
      ? `flags 0x${common.flags.toString(16).padStart(4, "0")}${common.flags & COMMON_FCS ? " (FCS present)" : ""}, rate ${common.rate / 2} Mb/s, ${common.frequency} MHz, signal ${common.dbmAntSignal} dBm, noise ${common.dbmAntNoise} dBm`
      : `${field.value.length} bytes ${previewBytes(field.value)}`;
    rows.push([`fields[${i}]`, name, meaning]);
  });
  return rows;
}

export const ppiLayer = defineLayer({
  type: "PPI",
  info: { title: "Per-Packet Information", tcpip: "link", osi: 1 },
  linkTypes: [LinkType.PPI],
  fastNext: "ether",
  fast: fastPpi,
  decodeLink(w, end) {
    const b = w.bytes;
    const length = end >= 4 ? readU16LE(b, PPI.length) : 0;
    if (end < PPI_HEADER_SIZE || length > end || length < PPI_HEADER_SIZE) {
      const why =
        end < PPI_HEADER_SIZE || length > end
          ? anomaly("truncated", `PPI header needs ${Math.max(length, PPI_HEADER_SIZE)} bytes, ${end} captured`)
          : anomaly("bad-length", `PPI length ${length} < ${PPI_HEADER_SIZE}`);
      w.raw(0, end, false, "PPI", [why]);
      return;
    }
    const fields: PpiFields = {
      version: b[PPI.version]!,
      flags: b[PPI.flags]!,
      length,
      dlt: readU32LE(b, PPI.dlt),
      data: b.slice(PPI_HEADER_SIZE, length),
    };
    w.push({ type: "PPI", fields }, { anomalies: [], headerLength: length }, 0, false);
    if (fields.dlt !== LinkType.IEEE802_11) {
      if (end > length) w.raw(length, end, false);
      return;
    }
    const aligned = (fields.flags! & ALIGNED) !== 0;
    decodeIeee80211Walk(w, length, end, { fcs: commonSaysFcs(b, PPI_HEADER_SIZE, length, aligned), dataPad: false });
  },
  encode: (layer, payload) => concatBytes(encodePpiHeader(layer.fields), payload),
  size: ({ fields: f }) => PPI_HEADER_SIZE + f.data.length,
  rows: ({ fields }) => ppiRows(fields),
  summary: ({ fields: f }) => `PPI ${linkTypeName(f.dlt)}`,
});
