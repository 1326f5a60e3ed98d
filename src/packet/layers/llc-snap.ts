import type { LayerAnomaly } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { defineLayer } from "../layer-def.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * IEEE 802.2 LLC with a SNAP header (RFC 1042), as 802.11 data frames carry network packets:
 *
 * +---------------+---------------+---------------+---------------+
 * |  DSAP (0xAA)  |  SSAP (0xAA)  | Control (0x03)|  OUI …        |
 * +---------------+---------------+---------------+---------------+
 * |  … OUI (000000: EtherType follows)            |  Protocol ID (EtherType) …
 * +---------------+---------------+---------------+---------------+
 *
 * OUI 00-00-00 (RFC 1042) and 00-00-F8 (802.1H bridge tunnel) give an EtherType; other OUIs a
 * protocol of that organisation, which is not walked into.
 */

const SNAP = headerLayout({ dsap: 1, ssap: 1, control: 1, oui: 3, type: 2 });
export const LLC_SNAP_SIZE = SNAP.size;
const SAP_SNAP = 0xaa;
const CONTROL_UI = 0x03;
const OUI_BRIDGE_TUNNEL = 0x0000f8;

export interface LlcFields {
  dsap?: number;
  ssap?: number;
  control?: number;
  /** Organisationally unique identifier (0: an EtherType follows). */
  oui?: number;
  /** EtherType (protocol id); the builder fills it from the next layer. */
  type?: number;
}

/**
 * The EtherType a SNAP header at `at` gives (8 bytes there), or -1 when the bytes are not an
 * LLC/SNAP header with an RFC 1042 or 802.1H OUI. Allocates nothing.
 */
export function snapEtherType(b: Uint8Array, at: number): number {
  if (b[at] !== SAP_SNAP || b[at + 1] !== SAP_SNAP || b[at + 2] !== CONTROL_UI) return -1;
  const oui = (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!;
  if (oui !== 0 && oui !== OUI_BRIDGE_TUNNEL) return -1;
  return (b[at + 6]! << 8) | b[at + 7]!;
}

export interface DecodedLlc {
  fields: LlcFields;
  etherType: number;
  anomalies: LayerAnomaly[];
  headerLength: number;
}

/** Reads a SNAP header known to be there (`snapEtherType` ≥ 0). */
export function decodeLlcSnap(b: Uint8Array, at: number, _end: number): DecodedLlc {
  const etherType = readU16(b, at + SNAP.type);
  const oui = (b[at + 3]! << 16) | (b[at + 4]! << 8) | b[at + 5]!;
  return {
    fields: { dsap: b[at]!, ssap: b[at + 1]!, control: b[at + 2]!, oui, type: etherType },
    etherType,
    anomalies: [],
    headerLength: LLC_SNAP_SIZE,
  };
}

export function encodeLlcSnap(f: LlcFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(LLC_SNAP_SIZE + payload.length);
  out[SNAP.dsap] = f.dsap ?? SAP_SNAP;
  out[SNAP.ssap] = f.ssap ?? SAP_SNAP;
  out[SNAP.control] = f.control ?? CONTROL_UI;
  const oui = f.oui ?? 0;
  out[SNAP.oui] = oui >>> 16;
  out[SNAP.oui + 1] = (oui >>> 8) & 0xff;
  out[SNAP.oui + 2] = oui & 0xff;
  writeU16(out, SNAP.type, f.type ?? 0);
  out.set(payload, LLC_SNAP_SIZE);
  return out;
}

export const llcLayer = defineLayer({
  type: "LLC",
  info: { title: "802.2 LLC/SNAP", tcpip: "link", osi: 2 },
  encode: (layer, payload, context) =>
    encodeLlcSnap({ ...layer.fields, type: layer.fields.type ?? context.nextEtherType ?? 0 }, payload),
  size: () => LLC_SNAP_SIZE,
  rows: ({ fields: f }) => [
    ["dsap", showHex(f.dsap ?? SAP_SNAP, 2), "SNAP"],
    ["ssap", showHex(f.ssap ?? SAP_SNAP, 2), "SNAP"],
    ["control", showHex(f.control ?? CONTROL_UI, 2), "unnumbered information"],
    ["oui", showHex(f.oui ?? 0, 6), (f.oui ?? 0) === 0 ? "encapsulated Ethernet" : "bridge tunnel"],
    ["type", showHex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
  ],
  summary: ({ fields: f }) => (f.type === undefined ? "LLC/SNAP" : `LLC/SNAP ${etherTypeName(f.type)}`),
});
