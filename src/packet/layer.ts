import type { ChecksumStatus, LayerAnomaly } from "./anomaly.ts";
import type { AhFields } from "./layers/ah.ts";
import type { ArpFields } from "./layers/arp.ts";
import type { ErspanFields } from "./layers/erspan.ts";
import type { EthernetFields } from "./layers/ethernet.ts";
import type { GeneveFields } from "./layers/geneve.ts";
import type { GreFields } from "./layers/gre.ts";
import type { GtpuFields } from "./layers/gtp-u.ts";
import type { CiscoHdlcFields, HdlcFields } from "./layers/hdlc.ts";
import type { IcmpFields } from "./layers/icmp.ts";
import type { Icmpv6Fields } from "./layers/icmpv6.ts";
import type { Dot11Fields } from "./layers/ieee80211.ts";
import type { IpoibFields } from "./layers/ipoib.ts";
import type { Ipv4Fields } from "./layers/ipv4.ts";
import type { Ipv6Fields } from "./layers/ipv6.ts";
import type { Sll2Fields, SllFields } from "./layers/linux-sll.ts";
import type { LlcFields } from "./layers/llc-snap.ts";
import type { MacsecFields } from "./layers/macsec.ts";
import type { MplsFields } from "./layers/mpls.ts";
import type { NflogFields } from "./layers/nflog.ts";
import type { NshFields } from "./layers/nsh.ts";
import type { LoopbackFields } from "./layers/null-loopback.ts";
import type { PpiFields } from "./layers/ppi.ts";
import type { PppFields } from "./layers/ppp.ts";
import type { PppoeFields } from "./layers/pppoe.ts";
import type { RadiotapFields } from "./layers/radiotap.ts";
import type { RtcpPacketFields } from "./layers/rtcp.ts";
import type { RtpFields } from "./layers/rtp.ts";
import type { SdpSession } from "./layers/sdp.ts";
import type { SipRequest, SipResponse } from "./layers/sip.ts";
import type { TcpFields } from "./layers/tcp.ts";
import type { UdpFields } from "./layers/udp.ts";
import type { VlanFields } from "./layers/vlan.ts";
import type { VxlanFields } from "./layers/vxlan.ts";
import { layerDef, layerInfo, layerTypes } from "./registry.ts";

/**
 * The slow-path layer model (display and crafting). A packet is a list of layers, outermost
 * first; each layer is `{ type, fields }` where `fields` are the header fields of that protocol
 * (the same shapes the per-protocol `encodeX` take). Fields left undefined (lengths, checksums,
 * EtherType / protocol selectors) are filled when the packet is encoded.
 */

/** Payload bytes that no decoder claimed (or that a truncated header left over). */
export interface RawFields {
  data: Uint8Array;
  /** Set when these bytes are a header that could not be decoded (e.g. "TCP" cut short). */
  undecoded?: string;
}

export interface RtcpLayerFields {
  packets: RtcpPacketFields[];
  /** Padding octets at the end of the last packet (0 = none). */
  paddingLength?: number;
}

/** A SIP message without its body (the body is the next layer: SDP or Raw). */
export type SipLayerFields = Omit<SipRequest, "body"> | Omit<SipResponse, "body">;

export interface LayerFieldMap {
  Ether: EthernetFields;
  Dot1Q: VlanFields;
  SLL: SllFields;
  SLL2: Sll2Fields;
  Loopback: LoopbackFields;
  HDLC: HdlcFields;
  CiscoHDLC: CiscoHdlcFields;
  ARP: ArpFields;
  PPPoE: PppoeFields;
  PPP: PppFields;
  IPv4: Ipv4Fields;
  IPv6: Ipv6Fields;
  ICMP: IcmpFields;
  ICMPv6: Icmpv6Fields;
  UDP: UdpFields;
  TCP: TcpFields;
  RTP: RtpFields;
  RTCP: RtcpLayerFields;
  SIP: SipLayerFields;
  SDP: SdpSession;
  Raw: RawFields;
  /** Link-layer padding / trailer after the network packet. */
  Padding: RawFields;
  GRE: GreFields;
  ERSPAN: ErspanFields;
  /** One MPLS label stack entry (a stack is one layer per entry). */
  MPLS: MplsFields;
  AH: AhFields;
  NFLOG: NflogFields;
  IPoIB: IpoibFields;
  Radiotap: RadiotapFields;
  PPI: PpiFields;
  /** An IEEE 802.11 MAC header (and FCS). */
  Dot11: Dot11Fields;
  /** An 802.2 LLC/SNAP header. */
  LLC: LlcFields;
  /** A VXLAN or VXLAN-GPE header (UDP 4789 / 4790). */
  VXLAN: VxlanFields;
  /** A Geneve header with its options (UDP 6081). */
  Geneve: GeneveFields;
  /** A GTPv1-U header with its extension headers (UDP 2152). */
  GTPU: GtpuFields;
  /** A Network Service Header with its context (RFC 8300, EtherType 0x894F). */
  NSH: NshFields;
  /** An IEEE 802.1AE MACsec SecTAG and ICV (EtherType 0x88E5). */
  MACsec: MacsecFields;
}

export type LayerType = keyof LayerFieldMap;

export interface Layer<T extends LayerType = LayerType> {
  type: T;
  fields: LayerFieldMap[T];
  /** Decoded layers: anomalies found in this layer. */
  anomalies?: LayerAnomaly[];
  /** Decoded layers with a checksum: how it verified. */
  checksumStatus?: ChecksumStatus;
  /** Decoded layers: byte offset of the header in the packet and header length. */
  offset?: number;
  headerLength?: number;
  /** Layers inside an ICMP/ICMPv6 error message (the quoted original datagram). */
  quoted?: boolean;
}

/** The typed union: narrowing on `type` gives the fields of that protocol. */
export type AnyLayer = { [K in LayerType]: Layer<K> }[LayerType];

export interface LayerInfo {
  /** Display title in `show()`. */
  title: string;
  /** TCP/IP model layer (RFC 1122 naming). */
  tcpip: "link" | "internet" | "transport" | "application";
  /** OSI layer number. */
  osi: number;
}

/** Title and TCP/IP / OSI layer of each layer type (from the layers' definitions, registry.ts). */
export const LAYER_INFO: Readonly<Record<LayerType, LayerInfo>> = Object.fromEntries(
  layerTypes().map((type) => [type, layerInfo(type)]),
) as Record<LayerType, LayerInfo>;

/** One `show()` line: field name, value, and (optional) meaning. */
export type ShowRow = readonly [name: string, value: string, meaning?: string];

/** Every field of a layer with its value and meaning. `previous` is the enclosing layer. */
export function layerRows(layer: AnyLayer, previous?: AnyLayer): ShowRow[] {
  return layerDef(layer.type).rows(layer as Layer<LayerType>, previous);
}

/** One-line summary of a layer (Scapy/tshark style). */
export function layerSummary(layer: AnyLayer, previous?: AnyLayer): string {
  return layerDef(layer.type).summary(layer as Layer<LayerType>, previous);
}

/** `###[ IPv4 ]### (TCP/IP: internet, OSI 3)` plus aligned `name = value  (meaning)` lines. */
export function showLayer(layer: AnyLayer, previous?: AnyLayer, indent = ""): string {
  const info = layerInfo(layer.type);
  const title = layer.quoted ? `${info.title} (quoted in ICMP error)` : info.title;
  const lines = [`${indent}###[ ${title} ]### (TCP/IP: ${info.tcpip}, OSI ${info.osi})`];
  const rows = layerRows(layer, previous);
  const width = Math.max(...rows.map(([name]) => name.length), 1);
  for (const [name, value, meaning] of rows) {
    lines.push(`${indent}  ${name.padEnd(width)} = ${value}${meaning ? `  (${meaning})` : ""}`);
  }
  for (const a of layer.anomalies ?? []) lines.push(`${indent}  !! ${a.code}: ${a.message}`);
  return lines.join("\n");
}
