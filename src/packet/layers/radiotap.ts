import { formatHex } from "../address-text.ts";
import { anomaly } from "../anomaly.ts";
import { concatBytes, readI8, readU16LE, readU32LE } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex, showNum } from "../show-format.ts";
import { decodeIeee80211Walk, fastIeee80211 } from "./ieee80211.ts";
import {
  heDataRate,
  heParameterNames,
  htDataRate,
  htMcsInfo,
  vhtBandwidth,
  vhtDataRate,
  vhtModulation,
  vhtTableRate,
} from "./wifi-rates.ts";

/*
 * Radiotap (tcpdump.org LINKTYPE_IEEE802_11_RADIOTAP = 127, radiotap.org): a header of radio
 * information in front of an 802.11 frame. Multi-byte fields are little-endian.
 *
 * +---------------+---------------+---------------+---------------+
 * |  Version (0)  |      Pad      |   Length (whole header)       |
 * +---------------+---------------+---------------+---------------+
 * |  Present bitmap (bit 31: another bitmap follows) …            |
 * +---------------+---------------+---------------+---------------+
 * |  Fields, in bit order, each aligned to its natural size from the start of the header …
 * +---------------+---------------+---------------+---------------+
 *
 * In each bitmap, bit 29 says the next one is in the radiotap namespace again (its bits numbered
 * from 0: a second antenna's fields), bit 30 that it is in a vendor namespace: a 6-byte field
 * (OUI, sub-namespace, skip length), aligned to 2, then `skip length` bytes of vendor data. A
 * field whose bit qoelab does not know stops the field decoding (its size and alignment are
 * unknown); the length still says where the 802.11 frame starts. Flags 0x10 says the frame ends
 * with its FCS, 0x20 that the 802.11 header is padded to a multiple of 4 bytes.
 *
 * The rows add the data rate the MCS (HT), VHT and HE fields imply (`wifi-rates.ts`), as tshark
 * gives it: `radiotap.datarate` for MCS (beside the Rate field's), `radiotap.vht.datarate.N` and
 * the 802.11 radio information's rate for VHT users, the latter for HE.
 */

export const RADIOTAP_MIN_SIZE = 8;
const EXT = 0x80000000;
const RADIOTAP_NAMESPACE = 1 << 29;
const VENDOR_NAMESPACE = 1 << 30;

export const RadiotapFlag = {
  CFP: 0x01,
  SHORT_PREAMBLE: 0x02,
  WEP: 0x04,
  FRAGMENTED: 0x08,
  FCS_AT_END: 0x10,
  DATA_PAD: 0x20,
  BAD_FCS: 0x40,
  SHORT_GI: 0x80,
} as const;

/** Radiotap namespace fields by present bit: [name, alignment, size]. */
const FIELDS: readonly (readonly [string, number, number])[] = [
  ["tsft", 8, 8],
  ["flags", 1, 1],
  ["rate", 1, 1],
  ["channel", 2, 4],
  ["fhss", 1, 2],
  ["dbmAntSignal", 1, 1],
  ["dbmAntNoise", 1, 1],
  ["lockQuality", 2, 2],
  ["txAttenuation", 2, 2],
  ["dbTxAttenuation", 2, 2],
  ["dbmTxPower", 1, 1],
  ["antenna", 1, 1],
  ["dbAntSignal", 1, 1],
  ["dbAntNoise", 1, 1],
  ["rxFlags", 2, 2],
  ["txFlags", 2, 2],
  ["rtsRetries", 1, 1],
  ["dataRetries", 1, 1],
  ["xChannel", 4, 8],
  ["mcs", 1, 3],
  ["ampdu", 4, 8],
  ["vht", 2, 12],
  ["timestamp", 8, 12],
  ["he", 2, 12],
  ["heMu", 2, 12],
  ["heMuOtherUser", 2, 6],
  ["zeroLengthPsdu", 1, 1],
  ["lsig", 2, 4],
];
export const RadiotapBit = Object.fromEntries(FIELDS.map(([name], bit) => [name, bit])) as Record<string, number>;

export interface RadiotapFields {
  version?: number;
  pad?: number;
  /** Header length; computed when undefined. */
  length?: number;
  /** The present bitmaps, as written. */
  present: number[];
  /** The bytes after the bitmaps up to the header's length (the fields). */
  data: Uint8Array;
}

/** One decoded field: its name, the namespace's antenna index (0 for the first), and the value(s). */
export interface RadiotapField {
  name: string;
  /** Which radiotap namespace it was in (0: the first; more for per-antenna namespaces). */
  namespace: number;
  values: number[];
}

export interface RadiotapValues {
  fields: RadiotapField[];
  vendor: { oui: number; subNamespace: number; skipLength: number }[];
  /** The bit (numbered within its namespace's bitmaps) of a field qoelab does not know: decoding stopped. */
  unknownBit?: number;
  /** A field ran past the header's length: decoding stopped. */
  overrun?: boolean;
}

const alignUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Where the fields start: after the bitmaps (bit 31 chains them), relative to `p`; 0 when they overrun `length`. */
function fieldsStart(b: Uint8Array, p: number, length: number): number {
  let at = 4;
  while (at + 4 <= length) {
    if ((readU32LE(b, p + at) & EXT) === 0) return at + 4;
    at += 4;
  }
  return 0;
}

/**
 * The Flags field (bit 1 of the first bitmap) of the header at `p`, of `length` bytes, or 0 when
 * it has none. Flags comes right after TSFT, the only field before it, so no walk is needed.
 */
export function radiotapFlags(b: Uint8Array, p: number, length: number): number {
  const first = readU32LE(b, p + 4);
  if ((first & 2) === 0) return 0;
  let at = fieldsStart(b, p, length);
  if (at === 0) return 0;
  if (first & 1) at = alignUp(at, 8) + 8;
  return at < length ? b[p + at]! : 0;
}

/** Decodes every field of the header `b[p, p + length)` it knows, in order. */
export function radiotapValues(b: Uint8Array, p: number, length: number): RadiotapValues {
  const out: RadiotapValues = { fields: [], vendor: [] };
  const start = fieldsStart(b, p, length);
  if (start === 0) return out;
  let at = start;
  let namespace = 0;
  let vendor = false;
  let bitBase = 0;
  for (let w = p + 4; w < p + start; w += 4) {
    const word = readU32LE(b, w);
    for (let bit = 0; bit < 29; bit++) {
      if ((word & (1 << bit)) === 0 || vendor) continue;
      const spec = FIELDS[bitBase + bit];
      if (spec === undefined) {
        out.unknownBit = bitBase + bit;
        return out;
      }
      const [name, align, size] = spec;
      at = alignUp(at, align);
      if (at + size > length) {
        out.overrun = true;
        return out;
      }
      out.fields.push({ name, namespace, values: fieldValues(name, b, p + at) });
      at += size;
    }
    if (word & VENDOR_NAMESPACE) {
      at = alignUp(at, 2);
      if (at + 6 > length) {
        out.overrun = true;
        return out;
      }
      const skipLength = readU16LE(b, p + at + 4);
      out.vendor.push({
        oui: (b[p + at]! << 16) | (b[p + at + 1]! << 8) | b[p + at + 2]!,
        subNamespace: b[p + at + 3]!,
        skipLength,
      });
      at += 6 + skipLength;
      vendor = true;
      bitBase = 0;
    } else if (word & RADIOTAP_NAMESPACE) {
      if (!vendor) namespace++;
      vendor = false;
      bitBase = 0;
    } else bitBase += 32;
  }
  return out;
}

function fieldValues(name: string, b: Uint8Array, at: number): number[] {
  switch (name) {
    case "tsft":
      return [readU32LE(b, at) + readU32LE(b, at + 4) * 2 ** 32];
    case "channel":
      return [readU16LE(b, at), readU16LE(b, at + 2)];
    case "fhss":
      return [b[at]!, b[at + 1]!];
    case "dbmAntSignal":
    case "dbmAntNoise":
    case "dbmTxPower":
      return [readI8(b, at)];
    case "lockQuality":
    case "txAttenuation":
    case "dbTxAttenuation":
    case "rxFlags":
    case "txFlags":
      return [readU16LE(b, at)];
    case "xChannel":
      return [readU32LE(b, at), readU16LE(b, at + 4), b[at + 6]!, b[at + 7]!];
    case "mcs":
      return [b[at]!, b[at + 1]!, b[at + 2]!];
    case "ampdu":
      return [readU32LE(b, at), readU16LE(b, at + 4), b[at + 6]!, b[at + 7]!];
    case "vht":
      // known, flags, bandwidth, MCS/NSS of four users, coding, group id, partial AID
      return [
        readU16LE(b, at),
        b[at + 2]!,
        b[at + 3]!,
        b[at + 4]!,
        b[at + 5]!,
        b[at + 6]!,
        b[at + 7]!,
        b[at + 8]!,
        b[at + 9]!,
        readU16LE(b, at + 10),
      ];
    case "timestamp":
      return [readU32LE(b, at) + readU32LE(b, at + 4) * 2 ** 32, readU16LE(b, at + 8), b[at + 10]!, b[at + 11]!];
    case "he":
    case "heMu":
      return [0, 2, 4, 6, 8, 10].map((i) => readU16LE(b, at + i));
    case "heMuOtherUser":
      return [readU16LE(b, at), readU16LE(b, at + 2), b[at + 4]!, b[at + 5]!];
    case "lsig":
      return [readU16LE(b, at), readU16LE(b, at + 2)];
    default:
      return [b[at]!];
  }
}

/** The values of the first occurrence of a field, or undefined. */
export function radiotapField(values: RadiotapValues, name: string): number[] | undefined {
  return values.fields.find((f) => f.name === name)?.values;
}

/** MCS field: known bits (bandwidth, MCS index, guard interval) and flags (bandwidth, short GI). */
const MCS_KNOWN_BW = 0x01;
const MCS_KNOWN_INDEX = 0x02;
const MCS_KNOWN_GI = 0x04;
const MCS_BW_40 = 1;
const MCS_SHORT_GI = 0x04;
/** VHT field: known bits (guard interval, bandwidth), flags (short GI), bandwidth code (low 5 bits). */
const VHT_KNOWN_GI = 0x0004;
const VHT_KNOWN_BW = 0x0040;
const VHT_SHORT_GI = 0x04;
/** HE field: data1 says the data MCS and the bandwidth/RU allocation are known, data2 the GI. */
const HE_DATA1_MCS_KNOWN = 0x0020;
const HE_DATA1_BWRU_KNOWN = 0x4000;
const HE_DATA2_GI_KNOWN = 0x0002;

/**
 * A data rate the header gives or implies, in the order of its fields: the Rate field's (in
 * 500 kb/s units), or derived from an MCS field (HT) that says its bandwidth, index and guard
 * interval (rate as a float, as tshark keeps it).
 */
export interface RadiotapDataRate {
  namespace: number;
  source: "rate" | "mcs";
  /** Mb/s. */
  mbps: number;
  /** MCS: index, bandwidth, guard interval, e.g. "MCS 7 (64-QAM 5/6, 1 stream), 20 MHz, short GI". */
  detail?: string;
}

/**
 * The Rate fields' rates and the rates derived from MCS fields, as tshark's `radiotap.datarate`
 * lists them: a Rate value is taken as 500 kb/s units whatever its top bit; an MCS field gives a
 * rate when it knows its bandwidth (40 MHz, or 20: 20, 20L, 20U), its index (0–76) and its
 * guard interval. VHT and HE fields give none here (see `radiotapVhtUsers`).
 */
export function radiotapDataRates(values: RadiotapValues): RadiotapDataRate[] {
  const out: RadiotapDataRate[] = [];
  for (const { name, namespace, values: v } of values.fields) {
    if (name === "rate") out.push({ namespace, source: "rate", mbps: v[0]! / 2 });
    if (name !== "mcs") continue;
    const [known = 0, flags = 0, index = 0] = v;
    const all = MCS_KNOWN_BW | MCS_KNOWN_INDEX | MCS_KNOWN_GI;
    if ((known & all) !== all) continue;
    const bandwidth40 = (flags & 3) === MCS_BW_40;
    const shortGi = (flags & MCS_SHORT_GI) !== 0;
    const mbps = htDataRate(index, bandwidth40, shortGi);
    const info = htMcsInfo(index);
    if (mbps === undefined || info === undefined) continue;
    const streams = `${info.streams} stream${info.streams > 1 ? "s" : ""}`;
    const detail = `MCS ${index} (${info.modulation}, ${streams}), ${bandwidth40 ? 40 : 20} MHz, ${shortGi ? "short" : "long"} GI`;
    out.push({ namespace, source: "mcs", mbps, detail });
  }
  return out;
}

/** One user of a VHT field (one with spatial streams), with the rates its MCS, streams, bandwidth and GI give. */
export interface RadiotapVhtUser {
  namespace: number;
  /** 0–3. */
  user: number;
  mcs: number;
  streams: number;
  /** MHz, when the field knows its bandwidth (and the code is one of radiotap's 0–25). */
  bandwidth?: number;
  /** When the field knows its guard interval. */
  shortGi?: boolean;
  /** The 802.11ac rate (Mb/s), or undefined when bandwidth or GI is unknown or the combination invalid. */
  mbps?: number;
  /** The rate tshark's radiotap dissector shows for the user (`radiotap.vht.datarate.N`): see `vhtTableRate`. */
  tableMbps?: number;
}

/** Every user with spatial streams of every VHT field, in order. */
export function radiotapVhtUsers(values: RadiotapValues): RadiotapVhtUser[] {
  const out: RadiotapVhtUser[] = [];
  for (const { name, namespace, values: v } of values.fields) {
    if (name !== "vht") continue;
    const [known = 0, flags = 0, bw = 0] = v;
    const bandwidth = known & VHT_KNOWN_BW ? vhtBandwidth(bw & 0x1f) : undefined;
    const shortGi = known & VHT_KNOWN_GI ? (flags & VHT_SHORT_GI) !== 0 : undefined;
    for (let user = 0; user < 4; user++) {
      const mcsNss = v[3 + user] ?? 0;
      const mcs = mcsNss >> 4;
      const streams = mcsNss & 0x0f;
      if (streams === 0) continue;
      const entry: RadiotapVhtUser = { namespace, user, mcs, streams };
      if (bandwidth !== undefined) entry.bandwidth = bandwidth;
      if (shortGi !== undefined) entry.shortGi = shortGi;
      if (bandwidth !== undefined && shortGi !== undefined) {
        const mbps = vhtDataRate(mcs, streams, bandwidth, shortGi);
        const tableMbps = vhtTableRate(mcs, streams, bandwidth, shortGi);
        if (mbps !== undefined) entry.mbps = mbps;
        if (tableMbps !== undefined) entry.tableMbps = tableMbps;
      }
      out.push(entry);
    }
  }
  return out;
}

/** The rate parameters of an HE field that knows its MCS, bandwidth/RU and GI, and the rate they give. */
export interface RadiotapHeRate {
  namespace: number;
  mcs: number;
  /** Space-time streams (data6 bits 0–3). */
  nsts: number;
  /** Bandwidth/RU allocation code (data5 bits 0–3). */
  bwru: number;
  /** GI code (data5 bits 4–5): 0.8, 1.6, 3.2 µs. */
  gi: number;
  /** Mb/s (see `heDataRate`), or undefined when the parameters give none (no streams, a reserved code). */
  mbps?: number;
}

/**
 * Every HE field that knows its data MCS, bandwidth/RU allocation and GI, with its rate. tshark
 * shows it as the 802.11 radio information's data rate, not as `radiotap.datarate`.
 */
export function radiotapHeRates(values: RadiotapValues): RadiotapHeRate[] {
  const out: RadiotapHeRate[] = [];
  for (const { name, namespace, values: v } of values.fields) {
    if (name !== "he") continue;
    const [data1 = 0, data2 = 0, data3 = 0, , data5 = 0, data6 = 0] = v;
    const known = HE_DATA1_MCS_KNOWN | HE_DATA1_BWRU_KNOWN;
    if ((data1 & known) !== known || (data2 & HE_DATA2_GI_KNOWN) === 0) continue;
    const rate: RadiotapHeRate = {
      namespace,
      mcs: (data3 >> 8) & 0x0f,
      nsts: data6 & 0x0f,
      bwru: data5 & 0x0f,
      gi: (data5 >> 4) & 0x03,
    };
    const mbps = heDataRate(rate.mcs, rate.nsts, rate.bwru, rate.gi);
    if (mbps !== undefined) rate.mbps = mbps;
    out.push(rate);
  }
  return out;
}

/** Header bytes for `fields` (the 802.11 frame follows). */
export function encodeRadiotapHeader(f: RadiotapFields): Uint8Array {
  const size = 4 + 4 * f.present.length + f.data.length;
  const out = new Uint8Array(4 + 4 * f.present.length);
  out[0] = f.version ?? 0;
  out[1] = f.pad ?? 0;
  const length = f.length ?? size;
  out[2] = length & 0xff;
  out[3] = (length >>> 8) & 0xff;
  f.present.forEach((word, i) => {
    for (let k = 0; k < 4; k++) out[4 + 4 * i + k] = (word >>> (8 * k)) & 0xff;
  });
  return concatBytes(out, f.data);
}

/** Radio values a builder may give, by field name: numbers, or several for a multi-value field. */
export type RadiotapBuild = Partial<Record<keyof typeof RadiotapBit | string, number | number[]>>;

/**
 * Present bitmap and field bytes for the radio values `values` (first namespace only), each
 * field aligned as radiotap requires: `{ flags: 0x10, rate: 12, channel: [2437, 0xa0], dbmAntSignal: -40 }`.
 */
export function radiotapHeaderFor(values: RadiotapBuild): { present: number[]; data: Uint8Array } {
  let present = 0;
  const bytes: number[] = [];
  const put = (at: number, value: number, size: number) => {
    for (let k = 0; k < size; k++)
      bytes[at + k] =
        size === 8 && k >= 4 ? (Math.floor(value / 2 ** 32) >>> (8 * (k - 4))) & 0xff : (value >>> (8 * k)) & 0xff;
  };
  // Offsets relative to the header start: the fields begin after version, pad, length and one bitmap.
  let at = 8;
  FIELDS.forEach(([name, align, size], bit) => {
    const given = values[name];
    if (given === undefined) return;
    present |= 1 << bit;
    at = alignUp(at, align);
    while (bytes.length < at - 8) bytes.push(0);
    const list = typeof given === "number" ? [given] : given;
    const layout = FIELD_LAYOUT[name] ?? [size];
    let k = at - 8;
    layout.forEach((width, i) => {
      put(k, list[i] ?? 0, width);
      k += width;
    });
    at += size;
  });
  while (bytes.length < at - 8) bytes.push(0);
  return { present: [present >>> 0], data: Uint8Array.from(bytes, (x) => x ?? 0) };
}

/** Widths of the values of multi-value fields, as `fieldValues` gives them. */
const FIELD_LAYOUT: Readonly<Record<string, number[]>> = {
  channel: [2, 2],
  fhss: [1, 1],
  xChannel: [4, 2, 1, 1],
  mcs: [1, 1, 1],
  ampdu: [4, 2, 1, 1],
  vht: [2, 1, 1, 1, 1, 1, 1, 1, 1, 2],
  timestamp: [8, 2, 1, 1],
  he: [2, 2, 2, 2, 2, 2],
  heMu: [2, 2, 2, 2, 2, 2],
  heMuOtherUser: [2, 2, 1, 1],
  lsig: [2, 2],
};

/**
 * Fast read: the header's length, the Flags (FCS at the end, data pad), then the 802.11 frame.
 * A header cut short is TRUNCATED; a version other than 0 or a length under 8 BAD_VERSION/BAD_LENGTH.
 */
export function fastRadiotap(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < RADIOTAP_MIN_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const length = readU16LE(buffer, p + 2);
  if (buffer[p] !== 0) {
    out.anomalies |= Anomaly.BAD_VERSION;
    return -1;
  }
  if (length < RADIOTAP_MIN_SIZE) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (length > end - p) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const flags = radiotapFlags(buffer, p, length);
  return fastIeee80211(
    buffer,
    p + length,
    end,
    out,
    (flags & RadiotapFlag.FCS_AT_END) !== 0,
    (flags & RadiotapFlag.DATA_PAD) !== 0,
  );
}

const MBIT = (rate: number) => `${rate / 2} Mb/s`;

function radiotapRows(f: RadiotapFields): ShowRow[] {
  const header = encodeRadiotapHeader(f);
  const values = radiotapValues(header, 0, header.length);
  const rows: ShowRow[] = [
    ["version", String(f.version ?? 0)],
    ["pad", String(f.pad ?? 0)],
    ["length", showNum(f.length)],
  ];
  for (const [i, word] of f.present.entries()) rows.push([`present[${i}]`, showHex(word, 8)]);
  for (const field of values.fields) {
    const name = field.namespace > 0 ? `${field.name}[${field.namespace}]` : field.name;
    const [first = 0, second = 0] = field.values;
    if (field.name === "flags") rows.push([name, showHex(first, 2), flagsMeaning(first)]);
    else if (field.name === "rate") rows.push([name, String(first), MBIT(first)]);
    else if (field.name === "channel") rows.push([name, `${first} MHz`, `flags ${showHex(second, 4)}`]);
    else if (field.name.startsWith("dbm")) rows.push([name, `${first} dBm`]);
    else if (field.name === "mcs")
      rows.push([name, `index ${field.values[2]}`, `known 0x${first.toString(16)}, flags 0x${second.toString(16)}`]);
    else rows.push([name, field.values.join(" ")]);
    rows.push(...derivedRateRows(field));
  }
  for (const v of values.vendor) {
    rows.push([
      "vendor",
      `OUI ${v.oui.toString(16).padStart(6, "0")}`,
      `sub-namespace ${v.subNamespace}, ${v.skipLength} bytes`,
    ]);
  }
  if (values.unknownBit !== undefined)
    rows.push(["fields", `bit ${values.unknownBit}`, "unknown field: not decoded further"]);
  if (values.overrun) rows.push(["fields", formatHex(f.data), "a field runs past the header's length"]);
  return rows;
}

/**
 * `datarate` rows derived from an MCS field (HT), from each user of a VHT field, from an HE field
 * ("none" for a combination that has no rate); none when a parameter is not known.
 */
function derivedRateRows(field: RadiotapField): ShowRow[] {
  const name = field.namespace > 0 ? `datarate[${field.namespace}]` : "datarate";
  const one: RadiotapValues = { fields: [field], vendor: [] };
  if (field.name === "mcs")
    return radiotapDataRates(one).map((r) => [name, `${r.mbps.toFixed(1)} Mb/s`, `from ${r.detail}`] as const);
  if (field.name !== "vht" && field.name !== "he") return [];
  const rows: ShowRow[] = [];
  for (const u of radiotapVhtUsers(one)) {
    if (u.bandwidth === undefined || u.shortGi === undefined) continue;
    const modulation = vhtModulation(u.mcs);
    const what = `user ${u.user}: MCS ${u.mcs}${modulation ? ` (${modulation})` : ""}, ${u.streams} stream${u.streams > 1 ? "s" : ""}, ${u.bandwidth} MHz, ${u.shortGi ? "short" : "long"} GI`;
    if (u.mbps === undefined) rows.push([name, "none", `VHT ${what}: not an 802.11ac rate`]);
    else rows.push([name, `${u.mbps.toFixed(1)} Mb/s`, `from VHT ${what}`]);
  }
  for (const he of radiotapHeRates(one)) {
    const names = heParameterNames(he.mcs, he.bwru, he.gi);
    const what = `MCS ${he.mcs}${names.modulation ? ` (${names.modulation})` : ""}, ${he.nsts} space-time stream${he.nsts === 1 ? "" : "s"}, ${names.bwru ?? `bandwidth/RU ${he.bwru}`}, ${names.gi ? `${names.gi} GI` : `GI code ${he.gi}`}`;
    if (he.mbps === undefined) rows.push([name, "none", `HE ${what}: no HE rate`]);
    else rows.push([name, `${he.mbps.toFixed(1)} Mb/s`, `from HE ${what}`]);
  }
  return rows;
}

function flagsMeaning(flags: number): string | undefined {
  const names: string[] = [];
  if (flags & RadiotapFlag.FCS_AT_END) names.push("FCS at end");
  if (flags & RadiotapFlag.DATA_PAD) names.push("data pad");
  if (flags & RadiotapFlag.BAD_FCS) names.push("bad FCS");
  if (flags & RadiotapFlag.SHORT_PREAMBLE) names.push("short preamble");
  if (flags & RadiotapFlag.SHORT_GI) names.push("short GI");
  if (flags & RadiotapFlag.FRAGMENTED) names.push("fragmented");
  if (flags & RadiotapFlag.WEP) names.push("WEP");
  return names.length > 0 ? names.join(", ") : undefined;
}

export const radiotapLayer = defineLayer({
  type: "Radiotap",
  info: { title: "Radiotap", tcpip: "link", osi: 1 },
  linkTypes: [LinkType.IEEE802_11_RADIOTAP],
  fastNext: "ether",
  fast: fastRadiotap,
  decodeLink(w, end) {
    const b = w.bytes;
    const length = end >= 4 ? readU16LE(b, 2) : 0;
    const start = end >= RADIOTAP_MIN_SIZE && length <= end ? fieldsStart(b, 0, length) : 0;
    if (end < RADIOTAP_MIN_SIZE || length > end || start === 0 || b[0] !== 0) {
      const why =
        end < RADIOTAP_MIN_SIZE || length > end
          ? anomaly("truncated", `radiotap header needs ${Math.max(length, RADIOTAP_MIN_SIZE)} bytes, ${end} captured`)
          : b[0] !== 0
            ? anomaly("bad-version", `radiotap version ${b[0]}`)
            : anomaly("bad-length", `radiotap length ${length}: the present bitmaps do not fit`);
      w.raw(0, end, false, "Radiotap", [why]);
      return;
    }
    const present: number[] = [];
    for (let at = 4; at < start; at += 4) present.push(readU32LE(b, at));
    const fields: RadiotapFields = { version: 0, pad: b[1]!, length, present, data: b.slice(start, length) };
    w.push({ type: "Radiotap", fields }, { anomalies: [], headerLength: length }, 0, false);
    const flags = radiotapFlags(b, 0, length);
    decodeIeee80211Walk(w, length, end, {
      fcs: (flags & RadiotapFlag.FCS_AT_END) !== 0,
      dataPad: (flags & RadiotapFlag.DATA_PAD) !== 0,
    });
  },
  encode: (layer, payload) => concatBytes(encodeRadiotapHeader(layer.fields), payload),
  size: ({ fields: f }) => 4 + 4 * f.present.length + f.data.length,
  rows: ({ fields }) => radiotapRows(fields),
  summary: ({ fields: f }) => {
    const header = encodeRadiotapHeader(f);
    const values = radiotapValues(header, 0, header.length);
    const channel = radiotapField(values, "channel");
    const signal = radiotapField(values, "dbmAntSignal");
    const rate = radiotapField(values, "rate");
    const parts = ["Radiotap"];
    if (channel) parts.push(`${channel[0]} MHz`);
    if (rate) parts.push(MBIT(rate[0]!));
    if (signal) parts.push(`${signal[0]} dBm`);
    return parts.join(" ");
  },
});
