import { formatMac, parseMac } from "../address-text.ts";
import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex } from "../show-format.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * Ethernet II / IEEE 802.3 MAC header (IEEE 802.3 clause 3.1.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                   Destination MAC address                     |
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+                               +
 * |                      Source MAC address                       |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   EtherType (> 1500) or 802.3 Length (<= 1500)                |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The frame check sequence is not captured on Linux and not decoded.
 *
 * A whole frame also travels inside a tunnel, announced by EtherType 0x6558 (Transparent Ethernet
 * Bridging, RFC 1701 §3.3): GRE (gre.ts), ERSPAN (erspan.ts). Bytes after its network packet are
 * its padding (frames under 60 bytes) or trailer, as on the link.
 */

const ETHERNET = headerLayout({ dst: 6, src: 6, type: 2 });
export const ETHERNET_HEADER_SIZE = ETHERNET.size;
/** Minimum frame size without FCS: shorter frames are padded on the wire. */
export const ETHERNET_MIN_FRAME = 60;
/** Transparent Ethernet Bridging (RFC 1701): a whole Ethernet frame follows. */
export const ETHERTYPE_TRANSPARENT_ETHERNET = 0x6558;

export interface EthernetFields {
  dst: string;
  src: string;
  /** EtherType, or the payload length for 802.3 frames (values <= 1500); the builder fills it from the next layer. */
  type?: number;
}

export interface DecodedEthernet extends EthernetFields, DecodeInfo {
  type: number;
}

export function decodeEthernet(bytes: Uint8Array, offset: number, end: number): DecodedEthernet {
  return {
    dst: formatMac(bytes, offset + ETHERNET.dst),
    src: formatMac(bytes, offset + ETHERNET.src),
    type: readU16(bytes, offset + ETHERNET.type),
    ...headerExtent("Ethernet header", ETHERNET_HEADER_SIZE, end - offset),
  };
}

export function encodeEthernet(fields: EthernetFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ETHERNET_HEADER_SIZE + payload.length);
  out.set(parseMac(fields.dst), ETHERNET.dst);
  out.set(parseMac(fields.src), ETHERNET.src);
  writeU16(out, ETHERNET.type, fields.type ?? 0x9000);
  out.set(payload, ETHERNET_HEADER_SIZE);
  return out;
}

const etherTypeNames = new Map<number, string>([
  [0x0800, "IPv4"],
  [0x0806, "ARP"],
  [0x8100, "802.1Q VLAN"],
  [0x88a8, "802.1ad QinQ"],
  [0x9100, "VLAN (0x9100)"],
  [0x86dd, "IPv6"],
  [0x8847, "MPLS"],
  [0x8848, "MPLS multicast"],
  [0x8863, "PPPoE discovery"],
  [0x8864, "PPPoE session"],
  [0x6558, "Transparent Ethernet Bridging"],
  [0x880b, "PPP"],
  [0x88be, "ERSPAN"],
  [0x22eb, "ERSPAN type III"],
  [0x88cc, "LLDP"],
  [0x88e5, "MACsec"],
  [0x88f7, "PTP"],
  [0x894f, "NSH"],
  [0x9000, "Loopback"],
]);

export function etherTypeName(type: number): string {
  if (type <= 1500) return "802.3 length";
  return etherTypeNames.get(type) ?? "unknown";
}

export const ethernetLayer = defineLayer({
  type: "Ether",
  info: { title: "Ethernet", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.ETHERNET],
  etherTypes: [ETHERTYPE_TRANSPARENT_ETHERNET],
  fastNext: "ether",
  fast(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
    if (end - p < ETHERNET_HEADER_SIZE) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    const type = (buffer[p + ETHERNET.type]! << 8) | buffer[p + ETHERNET.type + 1]!;
    out.etherType = type <= 1500 ? 0 : type; // 802.3 length field: LLC frame, not decoded here
    return p + ETHERNET_HEADER_SIZE;
  },
  decodeLink(w, end) {
    const d = decodeEthernet(w.bytes, 0, end);
    if (!pushHeader(w, "Ether", d, 0, end, false)) return;
    w.trailer(w.ether(d.type, ETHERNET_HEADER_SIZE, end, 0), end, true);
  },
  decodeNetwork(w, offset, end, depth) {
    const d = decodeEthernet(w.bytes, offset, end);
    if (!pushHeader(w, "Ether", d, offset, end, false)) return end;
    w.trailer(w.ether(d.type, offset + ETHERNET_HEADER_SIZE, end, depth + 1), end, true, offset);
    return end;
  },
  encode: (layer, payload, context) =>
    encodeEthernet({ ...layer.fields, type: layer.fields.type ?? context.nextEtherType }, payload),
  size: () => ETHERNET_HEADER_SIZE,
  rows: ({ fields: f }) => [
    ["dst", f.dst, f.dst === "ff:ff:ff:ff:ff:ff" ? "broadcast" : undefined],
    ["src", f.src],
    ["type", showHex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
  ],
  summary: () => "Ether",
});
