import { parseHex } from "./address-text.ts";
import type { AnyLayer, RawFields, RtcpLayerFields, SipLayerFields } from "./layer.ts";
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
import { type PpiFields, ppi80211CommonField } from "./layers/ppi.ts";
import type { PppFields } from "./layers/ppp.ts";
import type { PppoeFields } from "./layers/pppoe.ts";
import { type RadiotapBuild, type RadiotapFields, radiotapHeaderFor } from "./layers/radiotap.ts";
import type { RtpFields } from "./layers/rtp.ts";
import { parseSdp, type SdpSession } from "./layers/sdp.ts";
import { parseTcpFlags, type TcpFields } from "./layers/tcp.ts";
import type { UdpFields } from "./layers/udp.ts";
import type { VlanFields } from "./layers/vlan.ts";
import type { VxlanFields } from "./layers/vxlan.ts";
import { Packet } from "./packet.ts";

/**
 * The packet builder, Scapy's `Ether()/IP()/UDP()` in TypeScript:
 *
 *   ether().over(ipv4({ dst: "10.77.0.2" })).over(udp({ dport: 5004 })).over(raw("hello"))
 *   stack(ether(), ipv4({ dst: "10.77.0.2" }), tcp({ flags: "S", options: [tcpOption.mss(1460)] }))
 *
 * Each function returns a one-layer `Packet`; `a.over(b)` puts b inside a; `stack(a, b, c)` is
 * `a.over(b).over(c)`. Fields not given take defaults (lab addresses 10.77.0.1 → 10.77.0.2,
 * fd00:77::1 → fd00:77::2, MACs 02:00:00:00:00:01 → 02:00:00:00:00:02, TTL 64, …). Lengths,
 * checksums, EtherTypes, IP protocol / next-header numbers and the IPv4 IHL / TCP data offset
 * are computed by `bytes()` unless given: give them to craft wrong values on purpose.
 */

export const BUILDER_DEFAULTS = {
  macSrc: "02:00:00:00:00:01",
  macDst: "02:00:00:00:00:02",
  ipv4Src: "10.77.0.1",
  ipv4Dst: "10.77.0.2",
  ipv6Src: "fd00:77::1",
  ipv6Dst: "fd00:77::2",
} as const;

function one(layer: AnyLayer): Packet {
  return new Packet([layer]);
}

/** Stacks parts outermost first: `stack(ether(), ipv4(), udp())`. */
export function stack(...parts: readonly (Packet | AnyLayer)[]): Packet {
  return new Packet([]).over(...parts);
}

export function ether(fields: Partial<EthernetFields> = {}): Packet {
  return one({ type: "Ether", fields: { dst: BUILDER_DEFAULTS.macDst, src: BUILDER_DEFAULTS.macSrc, ...fields } });
}

/** 802.1Q tag. For an 802.1ad outer tag give the enclosing layer `type: 0x88a8`. */
export function vlan(fields: Partial<VlanFields> = {}): Packet {
  return one({ type: "Dot1Q", fields: { prio: 0, dei: 0, vlan: 1, ...fields } });
}

/** What the two Linux cooked headers default to alike: a unicast to us from an Ethernet MAC. */
const COOKED_DEFAULTS = { pktType: 0, hatype: 1, addrLength: 6, addr: "0200000000010000" } as const;

export function sll(fields: Partial<SllFields> = {}): Packet {
  return one({ type: "SLL", fields: { ...COOKED_DEFAULTS, ...fields } });
}

export function sll2(fields: Partial<Sll2Fields> = {}): Packet {
  return one({ type: "SLL2", fields: { ...COOKED_DEFAULTS, reserved: 0, ifindex: 1, ...fields } });
}

export function loopback(fields: Partial<LoopbackFields> = {}): Packet {
  return one({ type: "Loopback", fields: { byteOrder: "le", ...fields } });
}

/** ARP request "who-has protoDst tell protoSrc" by default (op 2 for a reply). */
export function arp(fields: Partial<ArpFields> = {}): Packet {
  return one({
    type: "ARP",
    fields: {
      hwType: 1,
      protoType: 0x0800,
      hwLength: 6,
      protoLength: 4,
      op: 1,
      hwSrc: BUILDER_DEFAULTS.macSrc,
      protoSrc: BUILDER_DEFAULTS.ipv4Src,
      hwDst: "00:00:00:00:00:00",
      protoDst: BUILDER_DEFAULTS.ipv4Dst,
      ...fields,
    },
  });
}

/**
 * PPPoE header (RFC 2516): a session frame (code 0, session 1) by default, which the next layer
 * (`ppp()`) follows; give a discovery `code` (0x09 PADI, 0x07 PADO, …) and `tags` for the
 * discovery stage. The enclosing Ethernet type (0x8864 / 0x8863) and the length are filled.
 */
export function pppoe(fields: Partial<PppoeFields> = {}): Packet {
  return one({ type: "PPPoE", fields: { version: 1, type: 1, code: 0, session: 1, tags: [], ...fields } });
}

/** HDLC-like framing of PPP on a serial link (RFC 1662: address 0xff, control 0x03); `ppp()` follows. */
export function hdlc(fields: Partial<HdlcFields> = {}): Packet {
  return one({ type: "HDLC", fields: { address: 0xff, control: 0x03, ...fields } });
}

/** Cisco HDLC (address 0x0f unicast or 0x8f broadcast, control 0); the EtherType comes from the next layer. */
export function ciscoHdlc(fields: Partial<CiscoHdlcFields> = {}): Packet {
  return one({ type: "CiscoHDLC", fields: { address: 0x0f, control: 0, ...fields } });
}

/**
 * A Linux NFLOG message (LINKTYPE_NFLOG): group 0, no TLV by default (give them with `nflogTlv`:
 * `nflog({ resourceId: 20, tlvs: [nflogTlv.packetHeader(0x0800, 1), nflogTlv.prefix("drop")] })`);
 * the next layer (`ipv4()`, `ipv6()`) goes in a PAYLOAD TLV after them, the family (2, 10) is
 * filled from it.
 */
export function nflog(fields: Partial<NflogFields> = {}): Packet {
  return one({ type: "NFLOG", fields: { version: 0, resourceId: 0, tlvs: [], ...fields } });
}

/** IP over InfiniBand as Linux captures it: no GRH, destination QPN 1 at GID fe80::2; the EtherType comes from the next layer. */
export function ipoib(fields: Partial<IpoibFields> = {}): Packet {
  return one({
    type: "IPoIB",
    fields: { grh: "00".repeat(20), daddr: "00000001fe800000000000000000000000000002", reserved: 0, ...fields },
  });
}

/**
 * A radiotap header (LINKTYPE_IEEE802_11_RADIOTAP) with the radio values given, each aligned as
 * radiotap requires: `radiotap({ flags: 0x10, rate: 12, channel: [2437, 0xa0], dbmAntSignal: -40 })`
 * (see `RadiotapBit` for the names); `raw` sets the bitmaps and field bytes as they are. `dot11()` follows.
 */
export function radiotap(values: RadiotapBuild = { flags: 0 }, raw: Partial<RadiotapFields> = {}): Packet {
  return one({ type: "Radiotap", fields: { version: 0, pad: 0, ...radiotapHeaderFor(values), ...raw } });
}

/**
 * A PPI header (LINKTYPE_PPI) in front of an 802.11 frame, with an 802.11-common field (`fcs`:
 * its flag saying the frame ends with an FCS; then give `dot11({ fcs: "auto" })`).
 */
export function ppi(fields: Partial<PpiFields> & { fcs?: boolean; frequency?: number } = {}): Packet {
  const { fcs, frequency, ...rest } = fields;
  const data = ppi80211CommonField({ flags: fcs ? 1 : 0, frequency: frequency ?? 2437, rate: 2 });
  return one({ type: "PPI", fields: { version: 0, flags: 0, dlt: 105, data, ...rest } });
}

/**
 * An IEEE 802.11 MAC header; by default a QoS data frame to the distribution system (ToDS):
 * BSSID 02:00:00:00:00:01, source …02, destination …03. `llc()` then the packet follow a data frame.
 */
export function dot11(fields: Partial<Dot11Fields> = {}): Packet {
  return one({
    type: "Dot11",
    fields: {
      type: 2,
      subtype: 8,
      flags: 0x01,
      duration: 0,
      addr1: "02:00:00:00:00:01",
      addr2: "02:00:00:00:00:02",
      addr3: "02:00:00:00:00:03",
      sequence: 0,
      fragment: 0,
      qos: 0,
      ...fields,
    },
  });
}

/** An 802.2 LLC/SNAP header (RFC 1042); the EtherType comes from the next layer. */
export function llc(fields: Partial<LlcFields> = {}): Packet {
  return one({ type: "LLC", fields: { dsap: 0xaa, ssap: 0xaa, control: 3, oui: 0, ...fields } });
}

/** PPP protocol field inside a PPPoE session; the protocol (IPv4 0x0021, IPv6 0x0057) comes from the next layer. */
export function ppp(fields: Partial<PppFields> = {}): Packet {
  return one({ type: "PPP", fields: { ...fields } });
}

/**
 * GRE header (RFC 2784/2890): version 0, no optional field by default; giving `checksum` (or
 * `checksumPresent: 1` to have it computed), `key` or `sequence` sets its bit. The protocol type
 * comes from the next layer (IPv4 0x0800, Ether 0x6558, MPLS 0x8847, ERSPAN 0x88be / 0x22eb, PPP
 * 0x880b). `version: 1` is PPTP's enhanced GRE: key bit set, `callId`, payload length computed,
 * `ack` sets A. For ERSPAN type I give `protocol: 0x88be` with an `ether()` next.
 */
export function gre(fields: Partial<GreFields> = {}): Packet {
  return one({ type: "GRE", fields: { strictRoute: 0, recursion: 0, flags: 0, version: 0, ...fields } });
}

/** ERSPAN type II header (session 1, VLAN 0) by default, `version: 2` for type III; an `ether()` follows. */
export function erspan(fields: Partial<ErspanFields> = {}): Packet {
  const three = fields.version === 2;
  const defaults = three
    ? { timestamp: 0, sgt: 0, p: 0, ft: 0, hwId: 0, direction: 0, gra: 0 }
    : { reserved: 0, index: 0 };
  return one({
    type: "ERSPAN",
    fields: { version: 1, vlan: 0, cos: 0, encap: 0, truncated: 0, sessionId: 1, ...defaults, ...fields },
  });
}

/** One MPLS label stack entry (label 16, TTL 64); the bottom-of-stack bit is set unless another `mpls()` follows. */
export function mpls(fields: Partial<MplsFields> = {}): Packet {
  return one({ type: "MPLS", fields: { label: 16, tc: 0, ttl: 64, ...fields } });
}

/**
 * VXLAN header (RFC 7348): I flag set, VNI 0; an `ether()` follows, and the UDP before it goes to
 * port 4789 unless given one. `gpe: true` makes a VXLAN-GPE header: flags I and P, the next
 * protocol from the next layer (IPv4 1, IPv6 2, Ether 3, NSH 4, MPLS 5), and the UDP before it goes
 * to port 4790, the port that tells VXLAN-GPE from VXLAN.
 */
export function vxlan(fields: Partial<VxlanFields> = {}): Packet {
  const gpe = fields.gpe === true;
  return one({
    type: "VXLAN",
    fields: { ...(gpe ? { gpe } : {}), flags: gpe ? 0x0c : 0x08, reserved1: 0, vni: 0, reserved2: 0, ...fields },
  });
}

/**
 * Network Service Header (RFC 8300): version 0, TTL 63, SPI 1, SI 255, MD type 1 with 16 zero
 * bytes of context (give `context`); `mdType: 2` carries `tlvs` (metadata TLVs, each padded to 4
 * bytes). The length is computed, the next protocol comes from the next layer (IPv4 1, IPv6 2, an
 * `ether()` 3, NSH 4, MPLS 5), and the EtherType before it (or VXLAN-GPE's next protocol) is NSH's.
 */
export function nsh(fields: Partial<NshFields> = {}): Packet {
  const md2 = fields.mdType === 2;
  return one({
    type: "NSH",
    fields: {
      version: 0,
      oam: 0,
      u: 0,
      ttl: 63,
      reserved: 0,
      mdType: 1,
      spi: 1,
      si: 255,
      ...(md2
        ? { tlvs: [] }
        : fields.mdType === undefined || fields.mdType === 1
          ? { context: new Uint8Array(16) }
          : {}),
      ...fields,
    },
  });
}

/**
 * MACsec SecTAG (IEEE 802.1AE): integrity only (E and C clear), AN 0, PN 1, with an SCI (the
 * builder's source MAC, port 1; `sc: 0` leaves it out); the EtherType of the user data comes from
 * the next layer, the short length from the secure data's size (under 48 bytes, else 0), and a
 * 16-byte zero ICV follows the packet inside (give `icv`). `e: 1, c: 1` marks the frame encrypted:
 * then a `raw()` holds the secure data.
 */
export function macsec(fields: Partial<MacsecFields> = {}): Packet {
  const sci = fields.sc === 0 ? {} : { sc: 1, sciSystem: BUILDER_DEFAULTS.macSrc, sciPort: 1 };
  return one({
    type: "MACsec",
    fields: { version: 0, es: 0, scb: 0, e: 0, c: 0, an: 0, reserved: 0, pn: 1, ...sci, ...fields },
  });
}

/**
 * Geneve header (RFC 8926): version 0, VNI 0, no options; the protocol type comes from the next
 * layer (an `ether()`: 0x6558; IPv4, IPv6…), the options length from `options`, and C is set when
 * an option is critical. The UDP before it goes to port 6081 unless given one.
 */
export function geneve(fields: Partial<GeneveFields> = {}): Packet {
  return one({
    type: "Geneve",
    fields: { version: 0, oam: 0, reserved: 0, vni: 0, reserved2: 0, options: [], ...fields },
  });
}

/**
 * GTPv1-U header (3GPP TS 29.281): a G-PDU (message type 255) on TEID 1 carrying the `ipv4()` or
 * `ipv6()` that follows; giving `sequence`, `npdu` or `extensions` sets S, PN or E (and adds the
 * optional word); the length is computed. The UDP before it goes to port 2152 unless given one.
 */
export function gtpu(fields: Partial<GtpuFields> = {}): Packet {
  return one({
    type: "GTPU",
    fields: { version: 1, protocolType: 1, reserved: 0, messageType: 255, teid: 1, extensions: [], ...fields },
  });
}

/** IPsec Authentication Header over IPv4 (SPI 0x100, sequence 1, a 12-byte zero ICV as HMAC-96's); next header from the next layer. */
export function ah(fields: Partial<AhFields> = {}): Packet {
  return one({ type: "AH", fields: { reserved: 0, spi: 0x100, sequence: 1, icv: new Uint8Array(12), ...fields } });
}

export function ipv4(fields: Partial<Ipv4Fields> = {}): Packet {
  return one({
    type: "IPv4",
    fields: {
      version: 4,
      tos: 0,
      id: 1,
      reserved: 0,
      df: 0,
      mf: 0,
      fragOffset: 0,
      ttl: 64,
      src: BUILDER_DEFAULTS.ipv4Src,
      dst: BUILDER_DEFAULTS.ipv4Dst,
      options: [],
      ...fields,
    },
  });
}

export function ipv6(fields: Partial<Ipv6Fields> = {}): Packet {
  return one({
    type: "IPv6",
    fields: {
      version: 6,
      trafficClass: 0,
      flowLabel: 0,
      hopLimit: 64,
      src: BUILDER_DEFAULTS.ipv6Src,
      dst: BUILDER_DEFAULTS.ipv6Dst,
      extensions: [],
      ...fields,
    },
  });
}

/** ICMP echo request id 1 seq 1 by default. */
export function icmp(fields: Partial<IcmpFields> = {}): Packet {
  const echo = fields.type === undefined || [0, 8, 13, 14].includes(fields.type);
  const defaults = echo && fields.rest === undefined ? { id: 1, seq: 1 } : {};
  return one({ type: "ICMP", fields: { type: 8, code: 0, ...defaults, ...fields } });
}

/** ICMPv6 echo request id 1 seq 1 by default. */
export function icmpv6(fields: Partial<Icmpv6Fields> = {}): Packet {
  const echo = fields.type === undefined || fields.type === 128 || fields.type === 129;
  const defaults = echo && fields.rest === undefined ? { id: 1, seq: 1 } : {};
  return one({ type: "ICMPv6", fields: { type: 128, code: 0, ...defaults, ...fields } });
}

/** UDP from port 5004; the destination port is a UDP tunnel's when one follows (VXLAN 4789, Geneve 6081, GTP-U 2152), else 5004. */
export function udp(fields: Partial<UdpFields> = {}): Packet {
  return one({ type: "UDP", fields: { sport: 5004, ...fields } });
}

/** `flags` takes letters ("S", "SA", "PA", "FA", "R") or a number. SYN from 49152 to port 80 by default. */
export function tcp(fields: Partial<Omit<TcpFields, "flags">> & { flags?: string | number } = {}): Packet {
  const { flags, ...rest } = fields;
  return one({
    type: "TCP",
    fields: {
      sport: 49152,
      dport: 80,
      seq: 0,
      ack: 0,
      window: 64240,
      urgentPointer: 0,
      options: [],
      ...rest,
      flags: parseTcpFlags(flags ?? "S"),
    },
  });
}

export function rtp(fields: Partial<RtpFields> = {}): Packet {
  return one({
    type: "RTP",
    fields: {
      version: 2,
      marker: false,
      payloadType: 0,
      sequence: 1,
      timestamp: 0,
      ssrc: 0x12345678,
      csrc: [],
      extension: null,
      paddingLength: 0,
      ...fields,
    },
  });
}

export function rtcp(fields: RtcpLayerFields): Packet {
  return one({ type: "RTCP", fields });
}

/** A SIP message without body (the next layer is the body); Content-Length is set on encode. */
export function sip(fields: SipLayerFields): Packet {
  return one({ type: "SIP", fields });
}

/** An SDP body, from a session object or its text. */
export function sdp(session: SdpSession | string): Packet {
  return one({ type: "SDP", fields: typeof session === "string" ? parseSdp(session).session : session });
}

const utf8 = new TextEncoder();

/** Payload bytes: a Uint8Array, a UTF-8 string, `{ hex: "…" }` or `{ size: n }` (zeros). */
export function raw(data: Uint8Array | string | { hex: string } | { size: number } = new Uint8Array(0)): Packet {
  let bytes: Uint8Array;
  if (data instanceof Uint8Array) bytes = data;
  else if (typeof data === "string") bytes = utf8.encode(data);
  else if ("hex" in data) bytes = parseHex(data.hex);
  else bytes = new Uint8Array(data.size);
  const fields: RawFields = { data: bytes };
  return one({ type: "Raw", fields });
}

/** Link-layer padding after the network packet (e.g. to the 60-byte Ethernet minimum). */
export function padding(size: number | Uint8Array): Packet {
  return one({ type: "Padding", fields: { data: typeof size === "number" ? new Uint8Array(size) : size } });
}
