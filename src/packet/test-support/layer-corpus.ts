import { parseIpv6, parseMac } from "../address-text.ts";
import {
  ah,
  arp,
  ciscoHdlc,
  erspan,
  ether,
  geneve,
  gre,
  gtpu,
  hdlc,
  icmp,
  icmpv6,
  ipoib,
  ipv4,
  ipv6,
  loopback,
  macsec,
  mpls,
  nflog,
  nsh,
  padding,
  ppp,
  raw,
  rtp,
  sll,
  sll2,
  stack,
  tcp,
  udp,
  vlan,
  vxlan,
} from "../builder.ts";
import { ipv4Option } from "../layers/ipv4.ts";
import { ipv6Extension } from "../layers/ipv6.ts";
import { nflogTlv } from "../layers/nflog.ts";
import { tcpOption } from "../layers/tcp.ts";
import type { Packet } from "../packet.ts";

/**
 * Built packets that together use every layer, every option helper and the auto-filled fields,
 * plus a few crafted-wrong ones (bad checksums, zero UDP checksum). Grouped by link type so each
 * group can be written to one pcap.
 */
export function layerCorpus(): Packet[] {
  const allTcpOptions = [
    tcpOption.mss(1460),
    tcpOption.sackPermitted(),
    tcpOption.timestamps(123456, 0),
    tcpOption.nop(),
    tcpOption.windowScale(7),
  ];
  const prefixInfo = new Uint8Array(30);
  prefixInfo[0] = 64;
  prefixInfo[1] = 0xc0;
  new DataView(prefixInfo.buffer).setUint32(2, 86400);
  new DataView(prefixInfo.buffer).setUint32(6, 14400);
  prefixInfo.set(parseIpv6("fd00:77:5::"), 14);
  const naFlags = 0x60000000; // S and O
  return [
    stack(
      ether(),
      ipv4({ id: 0x1234, df: 1, options: [ipv4Option.routerAlert()] }),
      udp({ dport: 5004 }),
      raw("hello"),
    ),
    stack(
      ether(),
      vlan({ vlan: 10, prio: 5 }),
      ipv6({ flowLabel: 0x12345 }),
      tcp({ flags: "S", seq: 3_000_000_000, options: allTcpOptions }),
    ),
    stack(ether(), ipv4({ tos: 0xb8 }), tcp({ flags: "SA", seq: 7, ack: 3_000_000_001, options: allTcpOptions })),
    stack(
      ether(),
      ipv4(),
      tcp({
        flags: "A",
        seq: 8,
        ack: 1,
        options: [
          tcpOption.nop(),
          tcpOption.nop(),
          tcpOption.sack([
            [100, 200],
            [300, 400],
          ]),
        ],
      }),
    ),
    stack(
      ether(),
      ipv4(),
      tcp({ flags: "FPAU", urgentPointer: 3, options: [tcpOption.other(99, Uint8Array.of(1, 2)), tcpOption.eol(3)] }),
      raw("data"),
    ),
    stack(ether(), ipv4({ mf: 1, id: 77 }), udp({ length: 1008 }), raw({ size: 32 })),
    stack(ether(), ipv4({ fragOffset: 125, id: 77, protocol: 17 }), raw({ size: 16 })),
    stack(
      ether(),
      ipv4({
        options: [
          ipv4Option.nop(),
          ipv4Option.recordRoute(3, ["10.77.0.9"]),
          ipv4Option.timestamp(2, [1000]),
          ipv4Option.eol(3),
        ],
      }),
      icmp({ id: 0x4242, seq: 7 }),
      raw("ping"),
    ),
    stack(
      ether(),
      ipv4({ options: [ipv4Option.lsrr(["10.77.0.5", "10.77.0.6"]), ipv4Option.eol()] }),
      icmp({ type: 0, id: 1, seq: 2 }),
    ),
    stack(
      ether(),
      ipv4({ options: [ipv4Option.ssrr(["10.77.0.5"]), ipv4Option.eol()] }),
      udp({ sport: 40000, dport: 9 }),
    ),
    stack(
      ether(),
      ipv4({ src: "10.77.0.2", dst: "10.77.0.1" }),
      icmp({ type: 3, code: 3 }),
      ipv4({ src: "10.77.0.1", dst: "10.77.0.2" }),
      udp({ sport: 41000, dport: 9 }),
      raw("quoted"),
    ),
    stack(
      ether(),
      ipv4({ src: "10.77.0.254", dst: "10.77.0.1" }),
      icmp({ type: 11, code: 0 }),
      ipv4({ ttl: 1 }),
      tcp({ flags: "S", options: allTcpOptions }),
    ),
    stack(ether(), ipv4(), icmp({ type: 3, code: 4, rest: 1400 }), ipv4({ df: 1 }), udp(), raw({ size: 8 })),
    stack(ether({ dst: "ff:ff:ff:ff:ff:ff" }), arp(), padding(18)),
    stack(
      ether(),
      arp({
        op: 2,
        hwSrc: "02:00:00:00:00:02",
        protoSrc: "10.77.0.2",
        hwDst: "02:00:00:00:00:01",
        protoDst: "10.77.0.1",
      }),
    ),
    stack(ether({ type: 0x88a8 }), vlan({ vlan: 100 }), vlan({ vlan: 20 }), ipv4(), udp(), raw("qinq")),
    stack(ether(), ipv4(), tcp({ flags: "A", seq: 1, ack: 1 }), padding(6)),
    stack(
      ether(),
      ipv6({ extensions: [ipv6Extension.hopByHop(), ipv6Extension.destination(), ipv6Extension.fragment(0, 1, 7)] }),
      udp(),
      raw({ size: 16 }),
    ),
    stack(ether(), ipv6({ extensions: [ipv6Extension.routing(["fd00:77::9"], 0, 0)] }), udp(), raw("rt")),
    stack(
      ether(),
      ipv6({ extensions: [ipv6Extension.ah(0x1000, 5)] }),
      tcp({ flags: "PA", seq: 10, ack: 20 }),
      raw("ah"),
    ),
    stack(ether(), ipv6(), icmpv6({ id: 9, seq: 3 }), raw("ping6")),
    stack(ether(), ipv6(), icmpv6({ type: 129, id: 9, seq: 3 }), raw("ping6")),
    stack(
      ether({ dst: "33:33:ff:00:00:02" }),
      ipv6({ dst: "ff02::1:ff00:2", hopLimit: 255 }),
      icmpv6({ type: 135, target: "fd00:77::2", ndOptions: [{ type: 1, data: parseMac("02:00:00:00:00:01") }] }),
    ),
    stack(
      ether(),
      ipv6({ src: "fd00:77::2", dst: "fd00:77::1", hopLimit: 255 }),
      icmpv6({
        type: 136,
        rest: naFlags,
        target: "fd00:77::2",
        ndOptions: [{ type: 2, data: parseMac("02:00:00:00:00:02") }],
      }),
    ),
    stack(
      ether(),
      ipv6({ src: "fe80::1", dst: "ff02::2", hopLimit: 255 }),
      icmpv6({ type: 133, rest: 0, ndOptions: [] }),
    ),
    stack(
      ether(),
      ipv6({ src: "fe80::2", dst: "ff02::1", hopLimit: 255 }),
      icmpv6({
        type: 134,
        rest: (64 << 24) | 1800,
        reachableTime: 0,
        retransTimer: 0,
        ndOptions: [
          { type: 3, data: prefixInfo },
          { type: 5, data: Uint8Array.of(0, 0, 0, 0, 5, 0xdc) },
        ],
      }),
    ),
    stack(
      ether(),
      ipv6({ src: "fd00:77::2", dst: "fd00:77::1" }),
      icmpv6({ type: 1, code: 4, rest: 0 }),
      ipv6(),
      udp({ sport: 42000, dport: 9 }),
      raw("q6"),
    ),
    stack(
      ether(),
      ipv4(),
      udp({ sport: 5004, dport: 5006 }),
      rtp({ payloadType: 0, sequence: 100, timestamp: 16000 }),
      raw({ size: 160 }),
    ),
    stack(ether(), ipv4({ checksum: 0xbeef }), udp({ checksum: 0x1234 }), raw("bad checksums")),
    stack(ether(), ipv4(), udp({ checksum: 0 }), raw("no checksum")),
    stack(ether(), ipv4(), tcp({ checksum: 0xdead, flags: "R" })),
    stack(ether(), ipv6(), udp({ checksum: 0x4321 }), raw("bad6")),
    stack(sll({ pktType: 4 }), ipv4(), udp(), raw("sll")),
    stack(sll({ pktType: 0 }), ipv6(), tcp({ flags: "S", options: allTcpOptions })),
    stack(sll2({ ifindex: 3 }), ipv4(), icmp()),
    stack(sll2({ pktType: 4 }), ipv6(), udp(), raw("sll2")),
    stack(loopback(), ipv4(), udp(), raw("null")),
    stack(loopback(), ipv6(), tcp({ flags: "S" })),
    stack(loopback({ byteOrder: "be" }), ipv4(), tcp({ flags: "SA" })),
    stack(hdlc(), ppp(), ipv4(), udp({ dport: 646 }), raw("ppp")),
    stack(hdlc(), ppp(), ipv6(), tcp({ flags: "S", options: allTcpOptions })),
    stack(ppp(), ipv4(), icmp()),
    stack(ciscoHdlc(), ipv4(), tcp({ flags: "PA", seq: 99 }), raw("chdlc")),
    stack(ciscoHdlc({ address: 0x8f }), ipv6(), udp(), raw("chdlc6")),
    // Linux NFLOG (TLVs around the packet) and IP over InfiniBand.
    stack(
      nflog({
        resourceId: 20,
        tlvs: [
          nflogTlv.packetHeader(0x0800, 1),
          nflogTlv.prefix("qoelab drop"),
          nflogTlv.inDevice(2),
          nflogTlv.hwAddress("02:00:00:00:00:01"),
          nflogTlv.timestamp(1_700_000_000, 123_456),
        ],
      }),
      ipv4(),
      udp({ dport: 53 }),
      raw("nflog"),
    ),
    stack(
      nflog({
        resourceId: 7,
        tlvs: [
          nflogTlv.packetHeader(0x86dd, 3),
          nflogTlv.outDevice(3),
          nflogTlv.mark(0x2a),
          nflogTlv.uid(1000),
          nflogTlv.gid(100),
          nflogTlv.seq(9),
        ],
      }),
      ipv6(),
      tcp({ flags: "S", options: allTcpOptions }),
    ),
    stack(nflog(), ipv4(), icmp({ id: 3, seq: 4 }), raw("x")),
    stack(ipoib(), ipv4(), tcp({ flags: "PA", seq: 5, ack: 6 }), raw("ipoib")),
    stack(ipoib({ daddr: "80000550fe800000000000000010e000664ab451" }), ipv6(), udp(), raw("ipoib6")),
    stack(
      ipoib({ daddr: "00ffffffff12401bffff00000000000000000001" }),
      arp({
        hwType: 32,
        hwLength: 20,
        hwSrc: "80000048fe800000000000000002c9030001e621",
        hwDst: "00000000000000000000000000000000000000ff",
      }),
    ),
    stack(ipv4(), udp(), raw("raw ip")),
    stack(ipv6(), icmpv6()),
    // Tunnels: GRE (IPv4, Ethernet, PPTP's PPP, ERSPAN II/III, over IPv6), MPLS, AH.
    stack(ether(), ipv4(), gre(), ipv4({ src: "10.78.0.1", dst: "10.78.0.2" }), udp(), raw("gre")),
    stack(
      ether(),
      ipv4(),
      gre({ checksumPresent: 1, key: 0x1234, sequence: 7 }),
      ether({ src: "02:00:00:00:00:0a", dst: "02:00:00:00:00:0b" }),
      ipv4({ src: "10.78.0.3", dst: "10.78.0.4" }),
      tcp({ flags: "S", sport: 40001, dport: 443 }),
    ),
    stack(
      ether(),
      ipv4(),
      gre({ version: 1, callId: 6, sequence: 3, ack: 2 }),
      hdlc(),
      ppp(),
      ipv4({ src: "10.78.0.5", dst: "10.78.0.6" }),
      icmp({ id: 5, seq: 6 }),
    ),
    stack(ether(), ipv4(), gre({ version: 1, callId: 7, ack: 3 })),
    stack(
      ether(),
      ipv4(),
      gre({ sequence: 5 }),
      erspan({ vlan: 10, cos: 5, sessionId: 100, index: 7 }),
      ether(),
      ipv4({ src: "10.78.0.7", dst: "10.78.0.8" }),
      udp({ sport: 5004, dport: 5006 }),
      raw("erspan ii"),
    ),
    stack(
      ether(),
      ipv4(),
      gre(),
      erspan({ version: 2, vlan: 20, sessionId: 9, timestamp: 123456, sgt: 77, hwId: 3, gra: 1, direction: 1 }),
      ether(),
      vlan({ vlan: 20 }),
      ipv4({ src: "10.78.0.9", dst: "10.78.0.10" }),
      icmp(),
    ),
    stack(ether(), ipv6(), gre({ key: 1 }), ipv6({ src: "fd00:78::1", dst: "fd00:78::2" }), icmpv6({ id: 4 })),
    stack(ether(), mpls({ label: 100 }), mpls({ label: 200, tc: 5, ttl: 9 }), ipv4(), udp(), raw("mpls")),
    stack(ether(), mpls({ label: 2 }), ipv6(), tcp({ flags: "S" })),
    stack(hdlc(), ppp(), mpls({ label: 300 }), ipv4(), icmp()),
    stack(ether(), ipv4(), ah(), tcp({ flags: "PA", seq: 11, ack: 12 }), raw("ah")),
    stack(
      ether(),
      ipv4(),
      ah({ spi: 0x2000, sequence: 9 }),
      ipv4({ src: "10.78.0.11", dst: "10.78.0.12" }),
      udp({ sport: 500, dport: 500 }),
      raw("ah tunnel"),
    ),
    // UDP tunnels: VXLAN, VXLAN-GPE, Geneve with an option, GTP-U with an extension header.
    stack(
      ether(),
      ipv4(),
      udp({ sport: 49153 }),
      vxlan({ vni: 100 }),
      ether({ src: "02:00:00:00:00:0c", dst: "02:00:00:00:00:0d" }),
      ipv4({ src: "10.79.0.1", dst: "10.79.0.2" }),
      udp({ sport: 4000, dport: 4001 }),
      raw("vxlan"),
    ),
    stack(ether(), ipv6(), udp({ dport: 4790 }), vxlan({ gpe: true, vni: 7 }), ipv4({ src: "10.79.0.3" }), icmp()),
    stack(
      ether(),
      ipv4(),
      udp(),
      geneve({
        vni: 0x1234,
        options: [
          { optionClass: 0x0102, type: 1, critical: 1, reserved: 0, length: 1, data: Uint8Array.of(0, 0, 0, 12) },
        ],
      }),
      ether({ src: "02:00:00:00:00:0e", dst: "02:00:00:00:00:0f" }),
      ipv6({ src: "fd00:79::1", dst: "fd00:79::2" }),
      tcp({ flags: "S", sport: 40002, dport: 22 }),
    ),
    stack(
      ether(),
      ipv4(),
      udp({ sport: 2152 }),
      gtpu({ teid: 0x1001, sequence: 5, extensions: [{ type: 0x85, length: 1, content: Uint8Array.of(0x10, 0x09) }] }),
      ipv4({ src: "10.45.0.2", dst: "10.46.0.9" }),
      udp({ sport: 40000, dport: 50000 }),
      raw("gtp-u"),
    ),
    // NSH: MD type 1 on Ethernet, MD type 2 with a TLV in VXLAN-GPE.
    stack(
      ether(),
      nsh({ spi: 42, si: 200, context: Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4) }),
      ipv4({ src: "10.80.0.1", dst: "10.80.0.2" }),
      udp({ sport: 4000, dport: 4001 }),
      raw("nsh"),
    ),
    stack(
      ether(),
      ipv4(),
      udp({ dport: 4790 }),
      vxlan({ gpe: true, vni: 8 }),
      nsh({
        mdType: 2,
        tlvs: [{ metadataClass: 0x0101, type: 3, unassigned: 0, length: 4, data: Uint8Array.of(1, 2, 3, 4) }],
      }),
      ipv6({ src: "fd00:80::1", dst: "fd00:80::2" }),
      icmpv6({ id: 9 }),
    ),
    // MACsec: integrity only with an SCI (the IPv4 packet readable), encrypted without.
    stack(
      ether(),
      macsec({ an: 1, pn: 1000 }),
      ipv4({ src: "10.81.0.1", dst: "10.81.0.2" }),
      udp({ sport: 4002, dport: 4003 }),
      raw("macsec integrity only"),
    ),
    stack(ether(), macsec({ sc: 0, e: 1, c: 1, pn: 1001 }), raw({ size: 48 })),
  ];
}
