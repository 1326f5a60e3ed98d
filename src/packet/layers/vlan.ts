import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { Anomaly, type Dissection, MAX_DEPTH } from "../dissection.ts";
import type { AnyLayer } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * IEEE 802.1Q tag (802.1ad S-tag has the same layout). The TPID (0x8100 C-tag, 0x88a8 S-tag,
 * 0x9100 legacy QinQ) is the EtherType of the enclosing header; this layer is the 4 bytes after it:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | PCP |D|        VLAN id        |     Inner EtherType / length  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Tags stack (QinQ): the inner EtherType is again a TPID.
 */

const TCI = 0;
const TYPE = 2;
export const VLAN_HEADER_SIZE = 4;
/** EtherTypes that announce a VLAN tag. */
export const VLAN_TPIDS: readonly number[] = [0x8100, 0x88a8, 0x9100];
/** More stacked tags than this are treated as malformed. */
export const VLAN_MAX_DEPTH = 8;

export interface VlanFields {
  /** Priority code point (802.1p), 0..7. */
  prio: number;
  /** Drop eligible indicator (formerly CFI), 0 or 1. */
  dei: number;
  /** VLAN identifier, 0..4095. */
  vlan: number;
  /** EtherType of what follows; the builder fills it from the next layer. */
  type?: number;
}

export interface DecodedVlan extends VlanFields, DecodeInfo {
  type: number;
}

export function isVlanTpid(etherType: number): boolean {
  return etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100;
}

export function decodeVlan(bytes: Uint8Array, offset: number, end: number): DecodedVlan {
  const tci = readU16(bytes, offset + TCI);
  return {
    prio: tci >> 13,
    dei: (tci >> 12) & 1,
    vlan: tci & 0x0fff,
    type: readU16(bytes, offset + TYPE),
    ...headerExtent("802.1Q tag", VLAN_HEADER_SIZE, end - offset),
  };
}

export function encodeVlan(fields: VlanFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(VLAN_HEADER_SIZE + payload.length);
  writeU16(out, TCI, ((fields.prio & 7) << 13) | ((fields.dei & 1) << 12) | (fields.vlan & 0x0fff));
  writeU16(out, TYPE, fields.type ?? 0x9000);
  out.set(payload, VLAN_HEADER_SIZE);
  return out;
}

/** The EtherType / protocol the enclosing link layer announced (the TPID of a VLAN tag). */
function enclosingType(previous: AnyLayer | undefined): number | undefined {
  if (previous?.type === "Ether" || previous?.type === "Dot1Q") return previous.fields.type;
  if (previous?.type === "SLL" || previous?.type === "SLL2") return previous.fields.protocol;
  return undefined;
}

export const vlanLayer = defineLayer({
  type: "Dot1Q",
  info: { title: "802.1Q", tcpip: "link", osi: 2 },
  etherTypes: VLAN_TPIDS,
  fastNext: "ether",
  fast(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
    if (out.vlanCount >= MAX_DEPTH) {
      out.anomalies |= Anomaly.TOO_DEEP;
      return -1;
    }
    if (end - p < VLAN_HEADER_SIZE) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    const vid = ((buffer[p]! << 8) | buffer[p + 1]!) & 0x0fff;
    if (out.vlanCount === 0) out.vlanOuter = vid;
    out.vlanInner = vid;
    out.vlanCount++;
    const type = (buffer[p + TYPE]! << 8) | buffer[p + TYPE + 1]!;
    out.etherType = type <= 1500 ? 0 : type;
    return p + VLAN_HEADER_SIZE;
  },
  decodeNetwork(w, offset, end, depth) {
    const d = decodeVlan(w.bytes, offset, end);
    if (d.complete && depth >= VLAN_MAX_DEPTH) {
      w.raw(offset, end, false, "Dot1Q", [anomaly("too-deep", `more than ${VLAN_MAX_DEPTH} stacked VLAN tags`)]);
      return end;
    }
    if (!pushHeader(w, "Dot1Q", d, offset, end, false)) return end;
    return w.ether(d.type, offset + d.headerLength, end, depth + 1);
  },
  encode: (layer, payload, context) =>
    encodeVlan({ ...layer.fields, type: layer.fields.type ?? context.nextEtherType }, payload),
  size: () => VLAN_HEADER_SIZE,
  rows(layer, previous) {
    const f = layer.fields;
    const tpid = enclosingType(previous);
    return [
      ["tpid", showHex(tpid, 4), tpid === 0x88a8 ? "802.1ad service tag" : "802.1Q customer tag"],
      ["prio", String(f.prio), "priority code point (802.1p)"],
      ["dei", String(f.dei), "drop eligible"],
      ["vlan", String(f.vlan), "VLAN id"],
      ["type", showHex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
    ];
  },
  summary(layer, previous) {
    const tpid = enclosingType(previous);
    return `${tpid === 0x88a8 ? "802.1ad" : "802.1Q"} vlan=${layer.fields.vlan}`;
  },
});
