import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, icmp, icmpv6, ipv4, ipv6, mpls, nsh, raw, stack, tcp, udp, vxlan } from "../builder.ts";
import { Anomaly, Dissection, dissect, dissectTunnelled } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertTunnelFastPathAgrees, assertTunnelHeaderCut } from "../test-support/tunnel-fast-path.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";

/**
 * VXLAN (RFC 7348, UDP 4789, with the group policy extension's bits) and VXLAN-GPE (UDP 4790)
 * against tshark on real captures: the VXLAN fields and every field of the frames inside (ARP,
 * ICMP, TCP over IPv4 and IPv6), byte-exact re-encoding, the fast path into the tunnel, the
 * builder read back by tshark, and headers cut short.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const VXLAN_FIELDS = FIELDS.filter((f) => f.startsWith("vxlan."));

/** Captures whose every packet qoelab decodes as far as tshark does, the frames inside VXLAN included. */
const WHOLE = [
  "libpcap-tests/vxlan.pcap", // ICMP and ARP in VNI 100
  "tcpdump-tests/vxlan.pcap",
  "suricata-verify/arp-vxlan.pcap",
  "pcapplusplus/packet-examples/Vxlan1.pcap", // group policy extension: G, D, A bits, policy id 100
  "pcapplusplus/packet-examples/Vxlan2.pcap",
  "tcpdump-tests/gso-ipv4-vxlan-ipv4.pcap", // TCP segments before segmentation offload
  "tcpdump-tests/gso-ipv4-vxlan-ipv6.pcap",
  "tcpdump-tests/gso-ipv6-vxlan-ipv4.pcap",
  "tcpdump-tests/gso-ipv6-vxlan-ipv6.pcap",
  "tcpdump-tests/vxlan_port_8472.pcap", // Linux's old port: not VXLAN to tshark, nor to qoelab
];
/** VXLAN-GPE carrying NSH (next protocol 4, nsh.ts) and the IPv4 in it. */
const GPE_NSH = "tcpdump-tests/nsh-over-vxlan-gpe.pcap";
/** Big TCP over IPv4 (IP and UDP lengths 0): tshark does not dissect a UDP payload whose length is under 8. */
const BIG_TCP = ["tcpdump-tests/bigtcp-ipv4-vxlan-ipv4.pcap", "tcpdump-tests/bigtcp-ipv4-vxlan-ipv6.pcap"];

describe("VXLAN on real captures, against tshark", () => {
  for (const name of WHOLE) {
    test(`${name}: every comparable field (VXLAN's, the frame's inside) equals tshark's, and re-encodes`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 30, `${result.compared} values compared`);
      const packets = decodeCaptureFile(file);
      for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
      const tunnelled = packets.filter((p) => p.packet.has("VXLAN")).length;
      if (name.includes("8472")) assert.equal(tunnelled, 0);
      else assert.equal(tunnelled, packets.length);
    });
  }

  test("the values tshark shows: VNI, the 16 flag bits and the group policy id of VXLAN-GBP", () => {
    // tshark -T fields -e vxlan.flags -e vxlan.gbp -e vxlan.vni: 0x8848 100 3000001 / 0x0800 0 100.
    const [gbp] = decodeCaptureFile(join(REALCAPS, "pcapplusplus/packet-examples/Vxlan1.pcap"));
    assert.deepEqual(gbp!.packet.get("VXLAN")?.fields, {
      flags: 0x88,
      reserved1: 0x480064,
      vni: 3000001,
      reserved2: 0,
    });
    assert.equal(
      gbp!.packet.summary(),
      "Ether / IP 192.168.203.1 > 192.168.202.1 / UDP 45149 > 4789 len=106 / VXLAN vni=3000001 / Ether / IP 192.168.203.3 > 192.168.203.5 / ICMP echo-request id=1292 seq=2 / Raw 56 bytes",
    );
    assert.match(gbp!.packet.show(), /reserved1\s+= 0x480064 {2}\(group policy id 100\)/);
    const packets = decodeCaptureFile(join(REALCAPS, "libpcap-tests/vxlan.pcap")).map((p) => p.packet);
    assert.deepEqual(packets[1]!.get("VXLAN")?.fields, { flags: 0x08, reserved1: 0, vni: 100, reserved2: 0 });
    assert.deepEqual(
      packets[1]!.layers.map((l) => l.type),
      ["Ether", "IPv4", "UDP", "VXLAN", "Ether", "ARP"],
    );
  });

  test(`${GPE_NSH}: the VXLAN-GPE header, the NSH in it and the packet inside are tshark's`, () => {
    const file = join(REALCAPS, GPE_NSH);
    const result = compareWithTshark(file, FIELDS);
    assert.deepEqual(result.mismatches, []);
    assert.ok(result.compared >= 30, `${result.compared} values compared`);
    const [{ packet, bytes }] = decodeCaptureFile(file) as [ReturnType<typeof decodeCaptureFile>[0]];
    assert.deepEqual(packet.get("VXLAN")?.fields, {
      gpe: true,
      flags: 0x0c,
      reserved1: 0,
      nextProtocol: 4,
      vni: 0xffffff,
      reserved2: 0,
    });
    assert.deepEqual(
      packet.layers.map((l) => l.type),
      ["Ether", "IPv4", "UDP", "VXLAN", "NSH", "IPv4", "UDP", "Raw"],
    );
    assert.deepEqual(packet.anomalies, []);
    assert.deepEqual(packet.bytes(), bytes);
  });

  for (const name of BIG_TCP) {
    test(`${name}: a UDP length of 0 is not read as VXLAN, as tshark does not`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, [...VXLAN_FIELDS, "eth.src", "eth.dst", "udp.srcport", "udp.dstport"]);
      assert.deepEqual(result.mismatches, []);
      const [{ packet, bytes }] = decodeCaptureFile(file) as [ReturnType<typeof decodeCaptureFile>[0]];
      assert.equal(packet.has("VXLAN"), false);
      assert.equal(packet.layers.at(-1)?.type, "Raw");
      assert.deepEqual(packet.bytes(), bytes);
    });
  }

  test("fast path: into the tunnel, the inner addresses and ports the slow decode finds", () => {
    let tunnelled = 0;
    for (const name of [...WHOLE, GPE_NSH, ...BIG_TCP]) tunnelled += assertTunnelFastPathAgrees(join(REALCAPS, name));
    assert.ok(tunnelled >= 29, `${tunnelled} packets walked into`);
    // Without dissectTunnelled the fast path stops at the outer UDP datagram, as for any application.
    const bytes = decodeCaptureFile(join(REALCAPS, "libpcap-tests/vxlan.pcap"))[0]!.bytes;
    const outer = new Dissection();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, outer);
    assert.deepEqual([outer.dstPort, outer.tunnelDepth, outer.ipProto], [4789, 0, 17]);
    const inner = new Dissection();
    assert.ok(dissectTunnelled(bytes, outer, inner));
    assert.deepEqual([inner.tunnelDepth, inner.ipProto, inner.icmpType, inner.outerEtherType], [1, 1, 8, 0x0800]);
    assert.equal(inner.outerL3Offset, 14);
  });
});

describe("VXLAN headers cut short", () => {
  const full = stack(ether(), ipv4(), udp(), vxlan({ vni: 9 }), ether(), ipv4(), icmp()).bytes();

  test("a VXLAN header cut by the snaplen: undecoded and truncated in both paths", () => {
    // The outer fast walk stops at UDP; the tunnel is read by dissectTunnelled.
    assertTunnelHeaderCut(full, [43, 46, 49], "VXLAN");
  });

  test("cut right after the VXLAN header: the inner Ethernet header is truncated", () => {
    const cut = full.subarray(0, 50);
    const packet = decodePacket(cut, LinkType.ETHERNET, { wireLength: full.length });
    assert.equal(packet.get("VXLAN")?.fields.vni, 9);
    assert.equal(packet.get("Raw")?.fields.undecoded, "Ether");
    assert.deepEqual(
      packet.anomalies.map((a) => a.code),
      ["truncated"],
    );
    assert.deepEqual(packet.bytes(), cut);
  });

  test("a datagram too short for a VXLAN header (malformed, not cut)", () => {
    const bytes = stack(ether(), ipv4(), udp({ dport: 4789 }), raw("abc")).bytes();
    const packet = decodePacket(bytes, LinkType.ETHERNET);
    assert.equal(packet.get("Raw")?.fields.undecoded, "VXLAN");
    assert.deepEqual(
      packet.anomalies.map((a) => a.code),
      ["truncated"],
    );
    assert.deepEqual(packet.bytes(), bytes);
    const outer = new Dissection();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, outer);
    const inner = new Dissection();
    assert.ok(dissectTunnelled(bytes, outer, inner));
    assert.equal(inner.anomalies, Anomaly.TRUNCATED);
  });
});

describe("VXLAN builder, read back by tshark", () => {
  const packets = [
    // Defaults: UDP to 4789, I set, VNI 0, the frame's EtherType 0x6558 not written anywhere.
    stack(ether(), ipv4(), udp(), vxlan(), ether({ src: "02:00:00:00:00:0a" }), ipv4({ src: "10.1.1.1" }), icmp()),
    stack(
      ether(),
      ipv6(),
      udp({ sport: 51000 }),
      vxlan({ vni: 0xabcdef }),
      ether(),
      ipv6({ src: "fd00:1::1" }),
      tcp({ dport: 443 }),
    ),
    // VXLAN-GBP bits: G, then D/A and the group policy id in the reserved bits.
    stack(ether(), ipv4(), udp(), vxlan({ flags: 0x88, reserved1: 0x400123, vni: 5 }), ether(), ipv4(), udp()),
    // VXLAN-GPE: the next protocol from the next layer (IPv4, IPv6, Ethernet, MPLS, NSH).
    stack(ether(), ipv4(), udp(), vxlan({ gpe: true, vni: 1 }), ipv4({ src: "10.2.2.2" }), icmp()),
    stack(ether(), ipv4(), udp({ dport: 4790 }), vxlan({ gpe: true, vni: 2 }), ipv6(), icmpv6()),
    stack(ether(), ipv4(), udp({ dport: 4790 }), vxlan({ gpe: true, vni: 3 }), ether(), ipv4(), udp({ dport: 53 })),
    stack(ether(), ipv4(), udp({ dport: 4790 }), vxlan({ gpe: true, vni: 4 }), mpls({ label: 99 }), ipv4(), icmp()),
    stack(ether(), ipv4(), udp({ dport: 4790 }), vxlan({ gpe: true }), nsh(), ipv4(), icmp()),
    // Both ports a VXLAN port: the lower one (4789) decides, as in tshark.
    stack(ether(), ipv4(), udp({ sport: 4790, dport: 4789 }), vxlan({ vni: 6 }), ether(), ipv4(), icmp()),
    parseLayerSpec("ether/ipv4/udp/vxlan(vni=42)/ether/ipv4(src=10.9.9.9)/icmp"),
    parseLayerSpec("ether/ipv4/udp(dport=4790)/vxlan(gpe=1,vni=43)/ipv6/udp(dport=53)"),
  ];
  const file = builtPacketsFile("vxlan", packets, LinkType.ETHERNET);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, ["frame.protocols", "udp.dstport", "vxlan.flags", "vxlan.vni", "vxlan.next_proto"]);
    assert.deepEqual(rows, [
      ["eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp", "4789", "0x0800", "0", ""],
      ["eth:ethertype:ipv6:udp:vxlan:eth:ethertype:ipv6:tcp", "4789", "0x0800", "11259375", ""],
      ["eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:udp", "4789,5004", "0x8840", "5", ""],
      ["eth:ethertype:ip:udp:ip:icmp", "4790", "0x0c", "1", "1"],
      ["eth:ethertype:ip:udp:ipv6:icmpv6", "4790", "0x0c", "2", "2"],
      ["eth:ethertype:ip:udp:eth:ethertype:ip:udp", "4790,53", "0x0c", "3", "3"],
      ["eth:ethertype:ip:udp:mpls:ip:icmp", "4790", "0x0c", "4", "5"],
      ["eth:ethertype:ip:udp:nsh:ip:icmp", "4790", "0x0c", "0", "4"],
      ["eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp", "4789", "0x0800", "6", ""],
      ["eth:ethertype:ip:udp:vxlan:eth:ethertype:ip:icmp", "4789", "0x0800", "42", ""],
      ["eth:ethertype:ip:udp:ipv6:udp", "4790,53", "0x0c", "43", "2"],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const gbp = decodePacket(packets[2]!.bytes(), LinkType.ETHERNET).get("VXLAN")!.fields;
    assert.deepEqual(gbp, { flags: 0x88, reserved1: 0x400123, vni: 5, reserved2: 0 });
  });

  test("show() and summary() name the tunnel", () => {
    assert.equal(
      packets[0]!.summary(),
      "Ether / IP 10.77.0.1 > 10.77.0.2 / UDP 5004 > 4789 len=50 / VXLAN vni=0 / Ether / IP 10.1.1.1 > 10.77.0.2 / ICMP echo-request id=1 seq=1",
    );
    assert.equal(packets[6]!.summary().split(" / ")[3], "VXLAN-GPE vni=4 next=MPLS");
    const text = packets[3]!.show();
    assert.match(text, /^###\[ VXLAN \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /flags\s+= 0x0c {2}\(I P, version 0\)/);
    assert.match(text, /nextProtocol\s+= 1 {2}\(IPv4\)/);
    assert.match(text, /dport\s+= 4790/);
  });
});
