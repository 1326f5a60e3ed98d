import type { DecodeInfo } from "../anomaly.ts";
import { readU32, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showHex, showNum } from "../show-format.ts";
import { ETHERTYPE_TRANSPARENT_ETHERNET } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";
import { nextProtocolEtherType, nextProtocolName, nextProtocolOf } from "./nsh.ts";
import { decodeTunnelled, UDP_HEADER_BYTES } from "./udp-tunnel.ts";

/*
 * VXLAN, Virtual eXtensible Local Area Network (RFC 7348 §5), UDP port 4789: an Ethernet frame
 * behind an 8-byte header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|R|R|I|R|R|R|            Reserved                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * I: the VNI is valid. The Group Policy extension (VXLAN-GBP, draft-smith-vxlan-group-policy,
 * Linux's `gbp`) uses the first word as G|R|R|R|I|R|R|R|R|D|R|R|A|R|R|R| Group Policy ID (16):
 * G 0x80 of the flags, D ("don't learn") and A ("policy applied") and the group policy id in the
 * 24 bits after them (tshark shows the first 16 bits as vxlan.flags, the next 16 as vxlan.gbp).
 *
 * VXLAN-GPE, Generic Protocol Extension (draft-ietf-nvo3-vxlan-gpe-12 §3.2), UDP port 4790: the
 * same layer type, with the packet it carries named by a next protocol field:
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |R|R|Ver|I|P|B|O|       Reserved                |Next Protocol  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                VXLAN Network Identifier (VNI) |   Reserved    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Ver: version (0); P: next protocol present; B: BUM traffic; O: OAM packet. Next protocol: 1 IPv4,
 * 2 IPv6, 3 Ethernet, 4 NSH (RFC 8300, nsh.ts: EtherType 0x894F), 5 MPLS. Which header it is goes by the
 * UDP port (the lower port first, as tshark), not by the bits.
 *
 * The reserved bits are kept as decoded, so a decoded header re-encodes byte for byte.
 */

export const VXLAN_HEADER_SIZE = 8;
export const UDP_PORT_VXLAN = 4789;
export const UDP_PORT_VXLAN_GPE = 4790;

/** Flag bits of the first byte. */
export const VxlanFlag = {
  /** VXLAN-GBP: the group policy id is set. */
  G: 0x80,
  /** The VNI is valid. */
  I: 0x08,
  /** VXLAN-GPE: the next protocol field is set. */
  P: 0x04,
  /** VXLAN-GPE: BUM (broadcast, unknown unicast, multicast) traffic. */
  B: 0x02,
  /** VXLAN-GPE: an OAM packet. */
  O: 0x01,
} as const;

/** VXLAN-GPE next protocol numbers. */

export interface VxlanFields {
  /** VXLAN-GPE (UDP 4790, with a next protocol) rather than VXLAN (UDP 4789); absent: VXLAN. */
  gpe?: boolean;
  /** The first byte: I 0x08 (VNI valid); GPE: version (0x30), P 0x04, B 0x02, O 0x01; GBP: G 0x80. */
  flags: number;
  /**
   * The bits between the flags and the VNI: VXLAN's 24 reserved bits (GBP: D 0x400000,
   * A 0x080000, the group policy id in the low 16); GPE's 16 reserved bits before the next protocol.
   */
  reserved1: number;
  /** GPE: next protocol (1 IPv4, 2 IPv6, 3 Ethernet, 4 NSH, 5 MPLS); built: from the next layer. */
  nextProtocol?: number;
  /** VXLAN network identifier, 24 bits. */
  vni: number;
  /** The last byte, reserved. */
  reserved2: number;
}

export type DecodedVxlan = VxlanFields & DecodeInfo;

/**
 * True when the UDP datagram whose payload starts at `p` is VXLAN-GPE's: the port that names the
 * tunnel (the lower of the two when both are tunnel ports, as tshark tries it first) is 4790.
 */
export function isVxlanGpeDatagram(bytes: Uint8Array, p: number): boolean {
  if (p < UDP_HEADER_BYTES) return false;
  const sport = (bytes[p - UDP_HEADER_BYTES]! << 8) | bytes[p - UDP_HEADER_BYTES + 1]!;
  const dport = (bytes[p - UDP_HEADER_BYTES + 2]! << 8) | bytes[p - UDP_HEADER_BYTES + 3]!;
  const low = sport < dport ? sport : dport;
  const port = low === UDP_PORT_VXLAN || low === UDP_PORT_VXLAN_GPE ? low : sport < dport ? dport : sport;
  return port === UDP_PORT_VXLAN_GPE;
}

/** Decodes the header at `offset`; `gpe`: the VXLAN-GPE layout (UDP port 4790). */
export function decodeVxlan(bytes: Uint8Array, offset: number, end: number, gpe = false): DecodedVxlan {
  const first = readU32(bytes, offset);
  const second = readU32(bytes, offset + 4);
  const extent = headerExtent(gpe ? "VXLAN-GPE header" : "VXLAN header", VXLAN_HEADER_SIZE, end - offset);
  const common = { flags: first >>> 24, vni: second >>> 8, reserved2: second & 0xff };
  if (!gpe) return { ...common, reserved1: first & 0xffffff, ...extent };
  return { gpe: true, ...common, reserved1: (first >>> 8) & 0xffff, nextProtocol: first & 0xff, ...extent };
}

export function encodeVxlan(fields: VxlanFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(VXLAN_HEADER_SIZE + payload.length);
  const middle = fields.gpe
    ? ((fields.reserved1 & 0xffff) << 8) | ((fields.nextProtocol ?? 0) & 0xff)
    : fields.reserved1 & 0xffffff;
  writeU32(out, 0, (((fields.flags & 0xff) << 24) | middle) >>> 0);
  writeU32(out, 4, (((fields.vni & 0xffffff) << 8) | (fields.reserved2 & 0xff)) >>> 0);
  out.set(payload, VXLAN_HEADER_SIZE);
  return out;
}

/**
 * Fast read: VXLAN announces an Ethernet frame (0x6558); VXLAN-GPE what its next protocol names
 * (IPv4, IPv6, Ethernet, NSH, MPLS), else (unknown) the walk stops with `out.etherType` 0.
 */
function fastVxlan(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < VXLAN_HEADER_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.etherType = isVxlanGpeDatagram(buffer, p)
    ? nextProtocolEtherType(buffer[p + 3]!)
    : ETHERTYPE_TRANSPARENT_ETHERNET;
  return out.etherType === 0 ? -1 : p + VXLAN_HEADER_SIZE;
}

const GPE_FLAG_NAMES: readonly [number, string][] = [
  [VxlanFlag.I, "I"],
  [VxlanFlag.P, "P"],
  [VxlanFlag.B, "B"],
  [VxlanFlag.O, "O"],
];
const VXLAN_FLAG_NAMES: readonly [number, string][] = [
  [VxlanFlag.G, "G"],
  [VxlanFlag.I, "I"],
];

/** The flag bits set, by name ("I P, version 0"). */
function flagNames(f: VxlanFields): string {
  const set = (f.gpe ? GPE_FLAG_NAMES : VXLAN_FLAG_NAMES).filter(([bit]) => f.flags & bit).map(([, name]) => name);
  const version = f.gpe ? `, version ${(f.flags >> 4) & 3}` : "";
  return `${set.length > 0 ? set.join(" ") : "none"}${version}`;
}

export const vxlanLayer = defineLayer({
  type: "VXLAN",
  info: { title: "VXLAN", tcpip: "link", osi: 2 },
  udpPorts: [UDP_PORT_VXLAN, UDP_PORT_VXLAN_GPE],
  udpPortFor: (layer) => (layer.fields.gpe ? UDP_PORT_VXLAN_GPE : UDP_PORT_VXLAN),
  fast: fastVxlan,
  fastNext: "ether",
  decodeNetwork(w, offset, end, depth) {
    const gpe = isVxlanGpeDatagram(w.bytes, offset);
    const d = decodeVxlan(w.bytes, offset, end, gpe);
    if (!pushHeader(w, "VXLAN", d, offset, end, false)) return end;
    const etherType = gpe ? nextProtocolEtherType(d.nextProtocol ?? 0) : ETHERTYPE_TRANSPARENT_ETHERNET;
    return decodeTunnelled(w, etherType, offset + VXLAN_HEADER_SIZE, end, depth);
  },
  encode: (layer, payload, context) =>
    encodeVxlan(
      layer.fields.gpe
        ? { ...layer.fields, nextProtocol: layer.fields.nextProtocol ?? nextProtocolOf(context.nextEtherType) }
        : layer.fields,
      payload,
    ),
  size: () => VXLAN_HEADER_SIZE,
  rows({ fields: f }) {
    const gbp = !f.gpe && (f.flags & VxlanFlag.G) !== 0;
    const rows: ShowRow[] = [
      ["gpe", f.gpe ? "true" : "false", f.gpe ? "VXLAN-GPE (UDP 4790)" : "VXLAN (UDP 4789)"],
      ["flags", showHex(f.flags, 2), flagNames(f)],
      ["reserved1", showHex(f.reserved1, f.gpe ? 4 : 6), gbp ? `group policy id ${f.reserved1 & 0xffff}` : "reserved"],
    ];
    if (f.gpe) {
      rows.push([
        "nextProtocol",
        showNum(f.nextProtocol),
        f.nextProtocol === undefined ? undefined : nextProtocolName(f.nextProtocol),
      ]);
    }
    rows.push(["vni", String(f.vni), "VXLAN network identifier"], ["reserved2", String(f.reserved2), "reserved"]);
    return rows;
  },
  summary: ({ fields: f }) =>
    f.gpe
      ? `VXLAN-GPE vni=${f.vni}${f.nextProtocol === undefined ? "" : ` next=${nextProtocolName(f.nextProtocol)}`}`
      : `VXLAN vni=${f.vni}`,
});
