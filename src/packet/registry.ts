import type { Dissection } from "./dissection.ts";
import type { AnyLayer, LayerInfo, LayerType } from "./layer.ts";
import type { AppPayload, DecodeWalker, LayerDef } from "./layer-def.ts";
import { ahLayer } from "./layers/ah.ts";
import { arpLayer } from "./layers/arp.ts";
import { erspanLayer } from "./layers/erspan.ts";
import { ethernetLayer } from "./layers/ethernet.ts";
import { geneveLayer } from "./layers/geneve.ts";
import { greLayer } from "./layers/gre.ts";
import { gtpuLayer } from "./layers/gtp-u.ts";
import { ciscoHdlcLayer, hdlcLayer } from "./layers/hdlc.ts";
import { icmpLayer } from "./layers/icmp.ts";
import { icmpv6Layer } from "./layers/icmpv6.ts";
import { ieee80211Layer } from "./layers/ieee80211.ts";
import { ipoibLayer } from "./layers/ipoib.ts";
import { ipv4Layer } from "./layers/ipv4.ts";
import { ipv6Layer } from "./layers/ipv6.ts";
import { sll2Layer, sllLayer } from "./layers/linux-sll.ts";
import { llcLayer } from "./layers/llc-snap.ts";
import { macsecLayer } from "./layers/macsec.ts";
import { mplsLayer } from "./layers/mpls.ts";
import { nflogLayer } from "./layers/nflog.ts";
import { nshLayer } from "./layers/nsh.ts";
import { loopbackLayer } from "./layers/null-loopback.ts";
import { ppiLayer } from "./layers/ppi.ts";
import { pppLayer } from "./layers/ppp.ts";
import { pppoeLayer } from "./layers/pppoe.ts";
import { radiotapLayer } from "./layers/radiotap.ts";
import { paddingLayer, rawLayer } from "./layers/raw.ts";
import { rtcpLayer } from "./layers/rtcp.ts";
import { rtpLayer } from "./layers/rtp.ts";
import { sdpLayer } from "./layers/sdp.ts";
import { sipLayer } from "./layers/sip.ts";
import { tcpLayer } from "./layers/tcp.ts";
import { udpLayer } from "./layers/udp.ts";
import { vlanLayer } from "./layers/vlan.ts";
import { vxlanLayer } from "./layers/vxlan.ts";
import { LinkType } from "./link-type.ts";
import { EtherType } from "./protocol-numbers.ts";

/**
 * The protocol registry: every layer (layers/*.ts) once, and the tables that map the numbers an
 * enclosing header carries (LINKTYPE, EtherType, PPP protocol, IP protocol) to the layer it
 * announces. The fast walker (dissect.ts), the slow walker and encoder (packet.ts), `show()`
 * (layer.ts) and the filter compiler (filter-compile.ts) all dispatch through these tables.
 *
 * Adding a protocol: write layers/NAME.ts exporting a `defineLayer({...})` (its numbers, fast
 * read, decode, encode, size, rows), add its field type to `LayerFieldMap` (layer.ts) and list it
 * in LAYERS below.
 */

/** Every layer, in the order application decoders are tried (SIP, RTCP, RTP). */
const LAYERS = [
  ethernetLayer,
  sllLayer,
  sll2Layer,
  loopbackLayer,
  hdlcLayer,
  ciscoHdlcLayer,
  vlanLayer,
  arpLayer,
  pppoeLayer,
  pppLayer,
  ipv4Layer,
  ipv6Layer,
  icmpLayer,
  icmpv6Layer,
  tcpLayer,
  udpLayer,
  sipLayer,
  sdpLayer,
  rtcpLayer,
  rtpLayer,
  rawLayer,
  paddingLayer,
  greLayer,
  erspanLayer,
  mplsLayer,
  ahLayer,
  nflogLayer,
  ipoibLayer,
  radiotapLayer,
  ppiLayer,
  ieee80211Layer,
  llcLayer,
  vxlanLayer,
  geneveLayer,
  gtpuLayer,
  nshLayer,
  macsecLayer,
] as const;

// biome-ignore lint/suspicious/noExplicitAny: the tables hold every layer's definition.
type AnyDef = LayerDef<any>;

const BY_TYPE = new Map<LayerType, AnyDef>();
const BY_LINK = new Map<number, AnyDef>();
const BY_ETHER = new Map<number, AnyDef>();
const BY_PPP = new Map<number, AnyDef>();
const BY_IP = new Map<number, AnyDef>();
const BY_UDP_PORT = new Map<number, AnyDef>();
const APP: AnyDef[] = [];
/** Fast tables indexed by the number itself (holey arrays: one load per header, no hashing). */
const FAST_LINK: (AnyDef | undefined)[] = [];
const FAST_ETHER: (AnyDef | undefined)[] = new Array(0x10000);
const FAST_PPP: (AnyDef | undefined)[] = new Array(0x10000);
const FAST_IP: (AnyDef | undefined)[] = new Array(0x100);
/** Headers an IP protocol number announces that carry another network packet (IP in IP, GRE, AH). */
const FAST_IP_CARRIER: (AnyDef | undefined)[] = new Array(0x100);
const FAST_UDP_TUNNEL: (AnyDef | undefined)[] = new Array(0x10000);

for (const def of LAYERS as readonly AnyDef[]) {
  BY_TYPE.set(def.type, def);
  for (const n of def.linkTypes ?? []) {
    if (def.decodeLink !== undefined) BY_LINK.set(n, def);
    if (def.decodeLink !== undefined && def.fast !== undefined) FAST_LINK[n] = def;
  }
  for (const n of def.etherTypes ?? []) {
    BY_ETHER.set(n, def);
    if (def.fast !== undefined) FAST_ETHER[n] = def;
  }
  for (const n of def.pppProtocols ?? []) {
    BY_PPP.set(n, def);
    if (def.fast !== undefined) FAST_PPP[n] = def;
  }
  for (const n of def.ipProtocols ?? []) {
    BY_IP.set(n, def);
    if (def.fast !== undefined && def.fastNext === "payload") FAST_IP[n] = def;
    else if (def.fast !== undefined) FAST_IP_CARRIER[n] = def;
  }
  for (const n of def.udpPorts ?? []) {
    BY_UDP_PORT.set(n, def);
    if (def.fast !== undefined) FAST_UDP_TUNNEL[n] = def;
  }
  if (def.decodeApp !== undefined) APP.push(def);
}

/** The definition of a layer type. */
export function layerDef<T extends LayerType>(type: T): LayerDef<T> {
  return BY_TYPE.get(type) as LayerDef<T>;
}

/** Every layer type the registry holds. */
export function layerTypes(): LayerType[] {
  return [...BY_TYPE.keys()];
}

export function layerInfo(type: LayerType): LayerInfo {
  return BY_TYPE.get(type)!.info;
}

/** Link layers with a header, by LINKTYPE. */
export function linkLayer(linkType: number): AnyDef | undefined {
  return BY_LINK.get(linkType);
}

export function etherLayer(etherType: number): AnyDef | undefined {
  return BY_ETHER.get(etherType);
}

export function pppLayerFor(protocol: number): AnyDef | undefined {
  return BY_PPP.get(protocol);
}

export function ipLayer(protocol: number): AnyDef | undefined {
  return BY_IP.get(protocol);
}

/**
 * The UDP tunnel a datagram between these ports carries, or undefined: the lower port is tried
 * first, as tshark's UDP dissector does.
 */
export function udpTunnelLayer(sport: number, dport: number): AnyDef | undefined {
  const low = sport < dport ? sport : dport;
  return BY_UDP_PORT.get(low) ?? BY_UDP_PORT.get(low === sport ? dport : sport);
}

/** Application layers in the order they are tried on a transport payload. */
export function appLayers(): readonly AnyDef[] {
  return APP;
}

/**
 * Link types without a header of their own: the EtherType of the packet they carry (RAW: by the
 * IP version nibble of `firstByte`, -1 when there is no byte), or undefined for other link types.
 */
export function headerlessLinkEtherType(linkType: number, firstByte: number): number | undefined {
  if (linkType === LinkType.RAW || linkType === LinkType.RAW_12 || linkType === LinkType.RAW_14) {
    return firstByte < 0 ? -1 : firstByte >> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4;
  }
  if (linkType === LinkType.IPV4) return EtherType.IPV4;
  if (linkType === LinkType.IPV6) return EtherType.IPV6;
  return undefined;
}

export const fastLink = (linkType: number): AnyDef | undefined => FAST_LINK[linkType];
export const fastEther = (etherType: number): AnyDef | undefined => FAST_ETHER[etherType];
export const fastPpp = (protocol: number): AnyDef | undefined => FAST_PPP[protocol];
export const fastIp = (protocol: number): AnyDef | undefined => FAST_IP[protocol];
export const fastIpCarrier = (protocol: number): AnyDef | undefined => FAST_IP_CARRIER[protocol];
/** `udpTunnelLayer` for the fast walker (layers with a fast read only). */
export function fastUdpTunnel(sport: number, dport: number): AnyDef | undefined {
  const low = sport < dport ? sport : dport;
  return FAST_UDP_TUNNEL[low] ?? FAST_UDP_TUNNEL[low === sport ? dport : sport];
}

/** The EtherType `encode` writes in front of `layer` (undefined when it has none). */
export function etherTypeOf(layer: AnyLayer | undefined): number | undefined {
  if (layer === undefined) return undefined;
  const def = BY_TYPE.get(layer.type);
  return def?.etherTypeFor?.(layer) ?? def?.etherTypes?.[0];
}

export function pppProtocolOf(layer: AnyLayer | undefined): number | undefined {
  return layer === undefined ? undefined : BY_TYPE.get(layer.type)?.pppProtocols?.[0];
}

export function ipProtocolOf(layer: AnyLayer | undefined): number | undefined {
  return layer === undefined ? undefined : BY_TYPE.get(layer.type)?.ipProtocols?.[0];
}

/** The UDP port a tunnel layer is carried on (undefined for other layers). */
export function udpPortOf(layer: AnyLayer | undefined): number | undefined {
  if (layer === undefined) return undefined;
  const def = BY_TYPE.get(layer.type);
  return def?.udpPortFor?.(layer) ?? def?.udpPorts?.[0];
}

/** The first application layer that takes `payload` (pushing its layers), or false. */
export function decodeAppPayload(w: DecodeWalker, payload: AppPayload): boolean {
  for (const def of APP) if (def.decodeApp!(w, payload)) return true;
  return false;
}

/** For dissect.ts: a transport the registry has no fast read for still gets its offsets. */
export function fastOtherTransport(p: number, end: number, out: Dissection): void {
  out.l4Offset = p;
  out.setPayload(p, out.l4Length, end);
}
