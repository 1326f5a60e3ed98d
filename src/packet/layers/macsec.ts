import { formatHex, formatMac, parseMac } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { AnyLayer, ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { showHex, showNum } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * MACsec, IEEE 802.1AE-2018 §9, EtherType 0x88E5: a SecTAG after the MAC addresses, then the
 * secure data and the integrity check value (ICV):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V|E|S|S|E|C| AN|R R|    SL     |     Packet Number (PN) ...    |  TCI/AN: V ES SC SCB E C, AN
 * | |S|C|C| | |   |   |           |                               |
 * | | | |B| | |   |   |           |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      ... Packet Number        |  Secure Channel Identifier ...  SCI (8 bytes) when SC is set:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                                 system identifier (a MAC),
 * ~                          ... SCI              |                 port identifier (16 bits)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * V: version (0); ES: end station (the SCI is the source MAC and port 1); SC: the SCI is present;
 * SCB: single copy broadcast; E: encrypted; C: changed text; AN: association number. SL (short
 * length, 6 bits after 2 reserved ones): the secure data's length when under 48 bytes, else 0;
 * when not 0 it bounds the secure data, and bytes after the ICV are the Ethernet frame's padding.
 * The ICV is 16 bytes (GCM-AES, as tshark assumes).
 *
 * Encrypted (E or C set): the secure data is Raw, the ICV the last 16 captured bytes (or the 16
 * after the SL bytes). Integrity only (E and C clear): the secure data is the frame's user data, an
 * EtherType (`type`) and the packet it announces, decoded through the walker as tshark 4.0 does
 * it: the packet inside takes the bytes it announces (the SL bytes at most) and the bytes after it
 * are the ICV, a trailing field of this layer, so a decoded frame re-encodes byte for byte. A frame
 * with at most 16 bytes after the SecTAG, or of another version, is not read as MACsec (tshark
 * does not either): Raw, flagged.
 */

export const ETHERTYPE_MACSEC = 0x88e5;
export const MACSEC_SECTAG_SIZE = 6;
export const MACSEC_SCI_SIZE = 8;
export const MACSEC_ICV_SIZE = 16;

/** Bits of the TCI/AN byte. */
export const MacsecTci = { V: 0x80, ES: 0x40, SC: 0x20, SCB: 0x10, E: 0x08, C: 0x04 } as const;

export interface MacsecFields {
  /** V, the version bit: 0 (802.1AE version 0). */
  version: number;
  /** ES: end station, 0 or 1. */
  es: number;
  /** SC: the SCI is present, 0 or 1; set when undefined and `sciSystem` is given. */
  sc?: number;
  /** SCB: single copy broadcast, 0 or 1. */
  scb: number;
  /** E: encrypted, 0 or 1. */
  e: number;
  /** C: changed text, 0 or 1 (E and C clear: integrity only, the user data readable). */
  c: number;
  /** Association number, 0..3. */
  an: number;
  /** The two reserved bits before the short length, 0..3. */
  reserved: number;
  /** Short length, 0..63: the secure data's bytes when under 48, else 0; computed when undefined. */
  shortLength?: number;
  /** Packet number, 32 bits. */
  pn: number;
  /** SCI's system identifier (a MAC address), with SC. */
  sciSystem?: string;
  /** SCI's port identifier, 16 bits, with SC. */
  sciPort?: number;
  /** Integrity only: the EtherType the user data starts with; the builder fills it from the next layer. */
  type?: number;
  /** The integrity check value after the secure data (16 bytes; decoded: the bytes after the packet inside). */
  icv?: Uint8Array;
}

export interface DecodedMacsec extends MacsecFields, DecodeInfo {
  sc: number;
  shortLength: number;
}

const isEncrypted = (f: { e: number; c: number }) => f.e !== 0 || f.c !== 0;
const hasSci = (f: MacsecFields) => (f.sc ?? (f.sciSystem !== undefined ? 1 : 0)) !== 0;

/** SecTAG bytes (and the EtherType of integrity-only user data) `encode` writes for these fields. */
export function macsecHeaderSize(f: MacsecFields): number {
  return MACSEC_SECTAG_SIZE + (hasSci(f) ? MACSEC_SCI_SIZE : 0) + (isEncrypted(f) ? 0 : 2);
}

/**
 * Decodes the SecTAG at `offset` (and, integrity only, the user data's EtherType). Incomplete
 * (Raw) when cut, of another version, or with no room for more than the ICV after the SecTAG.
 */
export function decodeMacsec(bytes: Uint8Array, offset: number, end: number, cut: boolean): DecodedMacsec {
  const available = end - offset;
  const tci = bytes[offset] ?? 0;
  const slByte = bytes[offset + 1] ?? 0;
  const sc = tci & MacsecTci.SC ? 1 : 0;
  const tag = MACSEC_SECTAG_SIZE + (sc ? MACSEC_SCI_SIZE : 0);
  const d: DecodedMacsec = {
    version: tci >> 7,
    es: (tci >> 6) & 1,
    sc,
    scb: (tci >> 4) & 1,
    e: (tci >> 3) & 1,
    c: (tci >> 2) & 1,
    an: tci & 3,
    reserved: slByte >> 6,
    shortLength: slByte & 0x3f,
    pn: readU32(bytes, offset + 2),
    ...headerExtent(sc ? "MACsec SecTAG with SCI" : "MACsec SecTAG", tag, available),
  };
  if (sc) {
    d.sciSystem = formatMac(bytes, offset + MACSEC_SECTAG_SIZE);
    d.sciPort = readU16(bytes, offset + MACSEC_SECTAG_SIZE + 6);
  }
  if (!d.complete) return d;
  if (d.version !== 0) {
    d.complete = false;
    d.anomalies.push(anomaly("bad-version", "MACsec version 1 (0 is defined)"));
    return d;
  }
  if (available <= tag + MACSEC_ICV_SIZE) {
    d.complete = false;
    const message = `MACsec frame with ${available - tag} bytes after its SecTAG, not more than its ${MACSEC_ICV_SIZE}-byte ICV`;
    d.anomalies.push(anomaly(cut ? "truncated" : "bad-length", message));
    return d;
  }
  if (!isEncrypted(d)) {
    d.type = readU16(bytes, offset + tag);
    d.headerLength = tag + 2;
  }
  return d;
}

export function encodeMacsec(fields: MacsecFields, payload: Uint8Array): Uint8Array {
  const sci = hasSci(fields);
  const size = macsecHeaderSize(fields);
  const icv = fields.icv ?? new Uint8Array(MACSEC_ICV_SIZE);
  const out = new Uint8Array(size + payload.length + icv.length);
  const secure = size - MACSEC_SECTAG_SIZE - (sci ? MACSEC_SCI_SIZE : 0) + payload.length;
  const shortLength = fields.shortLength ?? (secure < 48 ? secure : 0);
  out[0] =
    ((fields.version & 1) << 7) |
    ((fields.es & 1) << 6) |
    (sci ? MacsecTci.SC : 0) |
    ((fields.scb & 1) << 4) |
    ((fields.e & 1) << 3) |
    ((fields.c & 1) << 2) |
    (fields.an & 3);
  out[1] = ((fields.reserved & 3) << 6) | (shortLength & 0x3f);
  writeU32(out, 2, fields.pn >>> 0);
  if (sci) {
    out.set(parseMac(fields.sciSystem ?? "00:00:00:00:00:00"), MACSEC_SECTAG_SIZE);
    writeU16(out, MACSEC_SECTAG_SIZE + 6, fields.sciPort ?? 0);
  }
  if (!isEncrypted(fields)) writeU16(out, size - 2, fields.type ?? 0);
  out.set(payload, size);
  out.set(icv, size + payload.length);
  return out;
}

/** True when the capture's snaplen cut the frame at `end` (more bytes on the wire than captured). */
function cutAtEnd(end: number, out: Dissection): boolean {
  return end === out.end && out.wireLength > out.end - out.linkOffset;
}

/**
 * Fast read: skips the SecTAG; integrity only, announces the user data's EtherType (the packet
 * inside read as any other), encrypted stops the walk (`out.etherType` 0), as does another
 * version or a frame with no more than its ICV after the SecTAG (TRUNCATED when the capture cut it).
 */
function fastMacsec(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < MACSEC_SECTAG_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const tci = buffer[p]!;
  const tag = MACSEC_SECTAG_SIZE + (tci & MacsecTci.SC ? MACSEC_SCI_SIZE : 0);
  if (end - p < tag || (end - p <= tag + MACSEC_ICV_SIZE && cutAtEnd(end, out))) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  if (tci & MacsecTci.V || end - p <= tag + MACSEC_ICV_SIZE || tci & (MacsecTci.E | MacsecTci.C)) {
    out.etherType = 0;
    return p + tag;
  }
  out.etherType = (buffer[p + tag]! << 8) | buffer[p + tag + 1]!;
  return p + tag + 2;
}

export const macsecLayer = defineLayer({
  type: "MACsec",
  info: { title: "MACsec", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_MACSEC],
  fast: fastMacsec,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const captureCut = end === w.bytes.length && w.wireLength > w.bytes.length;
    const d = decodeMacsec(w.bytes, offset, end, captureCut);
    if (!d.complete) {
      w.raw(offset, end, false, "MACsec", d.anomalies);
      return end;
    }
    const { headerLength: _h, complete: _c, anomalies: _a, ...fields } = d;
    const layer = { type: "MACsec", fields } as AnyLayer & { type: "MACsec" };
    w.push(layer, d, offset, false);
    const tag = offset + MACSEC_SECTAG_SIZE + (d.sc ? MACSEC_SCI_SIZE : 0);
    const sl = d.shortLength;
    let icvStart: number;
    let icvEnd: number;
    if (isEncrypted(d)) {
      icvStart = sl !== 0 ? Math.min(end, tag + sl) : end - MACSEC_ICV_SIZE;
      icvEnd = sl !== 0 ? Math.min(end, icvStart + MACSEC_ICV_SIZE) : end;
      w.raw(tag, icvStart, false);
    } else {
      // The packet inside takes what it announces, within the SL bytes when SL is given.
      const dataEnd = sl >= 2 ? Math.min(end, tag + sl) : end;
      if (sl === 1) d.anomalies.push(anomaly("bad-length", "MACsec short length 1, under the user data's EtherType"));
      icvStart = Math.min(w.ether(d.type!, tag + 2, dataEnd, depth + 1), dataEnd);
      icvEnd = sl >= 2 ? Math.min(end, dataEnd + MACSEC_ICV_SIZE) : end;
    }
    fields.icv = w.bytes.slice(icvStart, icvEnd);
    if (fields.icv.length !== MACSEC_ICV_SIZE && !(captureCut && icvEnd === end)) {
      d.anomalies.push(anomaly("bad-length", `MACsec ICV of ${fields.icv.length} bytes, ${MACSEC_ICV_SIZE} expected`));
    }
    return icvEnd;
  },
  encode: (layer, payload, context) =>
    encodeMacsec(
      isEncrypted(layer.fields) ? layer.fields : { ...layer.fields, type: layer.fields.type ?? context.nextEtherType },
      payload,
    ),
  size: (layer) => macsecHeaderSize(layer.fields),
  rows({ fields: f }) {
    const flags = (["es", "sc", "scb", "e", "c"] as const).filter((k) => (k === "sc" ? hasSci(f) : f[k] !== 0));
    const rows: ShowRow[] = [
      ["version", String(f.version), f.version === 0 ? undefined : "unknown version"],
      ["es", String(f.es), "end station"],
      ["sc", showNum(f.sc), hasSci(f) ? "SCI present" : "no SCI"],
      ["scb", String(f.scb), "single copy broadcast"],
      ["e", String(f.e), "encrypted"],
      ["c", String(f.c), isEncrypted(f) ? "changed text" : "integrity only"],
      ["an", String(f.an), `association number (flags: ${flags.join(" ").toUpperCase() || "none"})`],
      ["reserved", String(f.reserved)],
      [
        "shortLength",
        showNum(f.shortLength),
        f.shortLength === 0 ? "48 bytes of secure data or more" : "bytes of secure data",
      ],
      ["pn", String(f.pn), "packet number"],
    ];
    if (hasSci(f)) {
      rows.push(["sciSystem", f.sciSystem ?? "00:00:00:00:00:00", "SCI system identifier"]);
      rows.push(["sciPort", String(f.sciPort ?? 0), "SCI port identifier"]);
    }
    if (!isEncrypted(f))
      rows.push(["type", showHex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)]);
    rows.push(["icv", f.icv === undefined ? "auto" : formatHex(f.icv), "integrity check value"]);
    return rows;
  },
  summary: ({ fields: f }) =>
    `MACsec an=${f.an} pn=${f.pn}${hasSci(f) ? ` sci=${f.sciSystem ?? "00:00:00:00:00:00"}/${f.sciPort ?? 0}` : ""}${isEncrypted(f) ? (f.e ? " encrypted" : " changed") : ""}`,
});
