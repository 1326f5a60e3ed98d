import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU32, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection, MAX_DEPTH } from "../dissection.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * MPLS label stack (RFC 3032 §2.1), EtherType 0x8847 (unicast) / 0x8848 (multicast), PPP
 * protocol 0x0281 / 0x0283 (RFC 3032 §4.3). Each entry is 4 bytes, outermost first, until the one
 * with S (bottom of stack) set:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Label                  | TC  |S|      TTL      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * TC: traffic class (RFC 5462, formerly EXP). Each entry is one MPLS layer (as in Scapy:
 * `mpls({ label: 100 })/mpls({ label: 200 })`, S filled from whether another entry follows).
 * Nothing names what the bottom entry carries (the label does, by the router's tables); as
 * tshark, the first nibble after it guesses: 4 IPv4, 6 IPv6, else not decoded (Raw).
 */

export const MPLS_ENTRY_SIZE = 4;
export const ETHERTYPE_MPLS = 0x8847;
export const ETHERTYPE_MPLS_MULTICAST = 0x8848;

export interface MplsFields {
  /** Label, 0..2^20-1 (0 IPv4 explicit null, 1 router alert, 2 IPv6 explicit null, 3 implicit null…). */
  label: number;
  /** Traffic class, 0..7 (formerly EXP). */
  tc: number;
  /** Bottom of stack, 0 or 1; the builder sets it unless another MPLS entry follows. */
  s?: number;
  ttl: number;
}

export interface DecodedMpls extends MplsFields, DecodeInfo {
  s: number;
}

const RESERVED_LABELS = new Map<number, string>([
  [0, "IPv4 explicit null"],
  [1, "router alert"],
  [2, "IPv6 explicit null"],
  [3, "implicit null"],
  [7, "entropy label indicator"],
  [13, "generic associated channel (GAL)"],
  [14, "OAM alert"],
  [15, "extension"],
]);

export function mplsLabelName(label: number): string | undefined {
  return RESERVED_LABELS.get(label) ?? (label < 16 ? "reserved" : undefined);
}

export function decodeMpls(bytes: Uint8Array, offset: number, end: number): DecodedMpls {
  const word = readU32(bytes, offset);
  return {
    label: word >>> 12,
    tc: (word >>> 9) & 7,
    s: (word >>> 8) & 1,
    ttl: word & 0xff,
    ...headerExtent("MPLS label stack entry", MPLS_ENTRY_SIZE, end - offset),
  };
}

export function encodeMpls(fields: MplsFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(MPLS_ENTRY_SIZE + payload.length);
  writeU32(
    out,
    0,
    ((fields.label & 0xfffff) << 12) | ((fields.tc & 7) << 9) | (((fields.s ?? 1) & 1) << 8) | (fields.ttl & 0xff),
  );
  out.set(payload, MPLS_ENTRY_SIZE);
  return out;
}

/** The EtherType guessed for what follows the bottom of the stack at `p`: by the IP version nibble, else 0. */
export function mplsPayloadEtherType(bytes: Uint8Array, p: number, end: number): number {
  const nibble = p < end ? bytes[p]! >> 4 : 0;
  return nibble === 4 ? 0x0800 : nibble === 6 ? 0x86dd : 0;
}

/**
 * Fast read of the whole stack (at most MAX_DEPTH entries, more is TOO_DEEP); the guessed
 * EtherType of the payload into `out.etherType` (0 stops the walk), its offset returned. A stack
 * that ends where the capture's snaplen cut the frame is TRUNCATED.
 */
function fastMpls(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  for (let entries = 0; ; entries++) {
    if (entries >= MAX_DEPTH) {
      out.anomalies |= Anomaly.TOO_DEEP;
      return -1;
    }
    if (end - p < MPLS_ENTRY_SIZE) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    const bottom = buffer[p + 2]! & 1;
    p += MPLS_ENTRY_SIZE;
    if (bottom === 1) break;
  }
  if (p === end && p === out.end && out.wireLength > out.end - out.linkOffset) {
    out.anomalies |= Anomaly.TRUNCATED; // the capture stopped at the bottom of the stack
    return -1;
  }
  out.etherType = mplsPayloadEtherType(buffer, p, end);
  return p;
}

export const mplsLayer = defineLayer({
  type: "MPLS",
  info: { title: "MPLS", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_MPLS, ETHERTYPE_MPLS_MULTICAST],
  pppProtocols: [0x0281, 0x0283],
  fast: fastMpls,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    let at = offset;
    for (let entries = 0; ; entries++) {
      if (entries >= MAX_DEPTH && at < end) {
        const message = `more than ${MAX_DEPTH} MPLS label stack entries`;
        w.raw(at, end, false, "MPLS", [anomaly("too-deep", message)]);
        return end;
      }
      const d = decodeMpls(w.bytes, at, end);
      if (!pushHeader(w, "MPLS", d, at, end, false)) return end;
      at += MPLS_ENTRY_SIZE;
      if (d.s === 1) break;
    }
    if (at >= end && end === w.bytes.length && w.wireLength > end) {
      w.raw(at, end, false, "MPLS payload", [
        anomaly("truncated", "the capture stops at the bottom of the MPLS stack"),
      ]);
      return end;
    }
    const etherType = mplsPayloadEtherType(w.bytes, at, end);
    if (etherType === 0) {
      w.raw(at, end, false);
      return end;
    }
    return w.ether(etherType, at, end, depth + 1);
  },
  encode: (layer, payload, context) =>
    encodeMpls({ ...layer.fields, s: layer.fields.s ?? (context.next === "MPLS" ? 0 : 1) }, payload),
  size: () => MPLS_ENTRY_SIZE,
  rows: ({ fields: f }) => [
    ["label", String(f.label), mplsLabelName(f.label)],
    ["tc", String(f.tc), "traffic class"],
    ["s", f.s === undefined ? "auto" : String(f.s), f.s === 1 ? "bottom of stack" : undefined],
    ["ttl", String(f.ttl)],
  ],
  summary: ({ fields: f }) => `MPLS label=${f.label}${f.s === 1 ? " (bottom)" : ""} ttl=${f.ttl}`,
});
