import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, geneve, icmp, ipv4, ipv6, raw, stack, tcp, udp } from "../builder.ts";
import { Dissection, dissect, dissectTunnelled } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertTunnelFastPathAgrees, assertTunnelHeaderCut } from "../test-support/tunnel-fast-path.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import type { GeneveOption } from "./geneve.ts";

/**
 * Geneve (RFC 8926, UDP 6081) against tshark on real captures: the header, its option TLVs (a
 * critical standard option, Google's three) and every field of the packets inside (Ethernet
 * frames, IPv4 straight in Geneve), byte-exact re-encoding, the fast path into the tunnel, the
 * builder read back by tshark, and malformed headers.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const GENEVE_FIELDS = FIELDS.filter((f) => f.startsWith("geneve."));

const WHOLE = [
  "libpcap-tests/geneve.pcap", // VNI 10 with a critical option, VNI 11 without
  "tcpdump-tests/geneve.pcap",
  "suricata-verify/geneve.pcap", // ICMP and ARP
  "tcpdump-tests/geneve-gcp.pcap", // IPv4 (protocol 0x0800), three Google options
  "tcpdump-tests/gso-ipv4-geneve-ipv4.pcap",
  "tcpdump-tests/gso-ipv4-geneve-ipv6.pcap",
  "tcpdump-tests/gso-ipv6-geneve-ipv4.pcap",
  "tcpdump-tests/gso-ipv6-geneve-ipv6.pcap",
];
/** Big TCP over IPv4 (IP and UDP lengths 0): tshark does not dissect a UDP payload whose length is under 8. */
const BIG_TCP = ["tcpdump-tests/bigtcp-ipv4-geneve-ipv4.pcap", "tcpdump-tests/bigtcp-ipv4-geneve-ipv6.pcap"];

const option = (o: Partial<GeneveOption> & { data: Uint8Array }): GeneveOption => ({
  optionClass: 0x0101,
  type: 1,
  critical: 0,
  ...o,
});

describe("Geneve on real captures, against tshark", () => {
  for (const name of WHOLE) {
    test(`${name}: every comparable field (Geneve's, its options', the packet's inside) equals tshark's`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 30, `${result.compared} values compared`);
      const packets = decodeCaptureFile(file);
      for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
      assert.equal(packets.filter((p) => p.packet.has("Geneve")).length, packets.length);
    });
  }

  test("the values tshark shows: a critical option, Google's options, IPv4 straight in Geneve", () => {
    // tshark -V: Flags 0x40 (critical options present), Class Standard (0x0000) Type 0x80 (Critical),
    // Length 8 bytes, data 0000000c; GCP: VNID 134217741 egress, endpoint id, profile id 4660.
    const [withOption] = decodeCaptureFile(join(REALCAPS, "libpcap-tests/geneve.pcap")).filter(
      (p) => p.packet.get("Geneve")?.fields.options.length,
    );
    assert.deepEqual(withOption!.packet.get("Geneve")?.fields, {
      version: 0,
      optionsLength: 2,
      oam: 0,
      critical: 1,
      reserved: 0,
      protocol: 0x6558,
      vni: 10,
      reserved2: 0,
      options: [{ optionClass: 0, type: 0, critical: 1, reserved: 0, length: 1, data: Uint8Array.of(0, 0, 0, 12) }],
    });
    const [gcp] = decodeCaptureFile(join(REALCAPS, "tcpdump-tests/geneve-gcp.pcap"));
    const f = gcp!.packet.get("Geneve")!.fields;
    assert.deepEqual(
      f.options.map((o) => [o.optionClass, o.type, o.data.length]),
      [
        [0x0132, 1, 4],
        [0x0132, 2, 16],
        [0x0132, 3, 8],
      ],
    );
    assert.equal(f.protocol, 0x0800);
    // GCP virtual network id 134217741 (the top 28 bits), egress (the last bit).
    assert.deepEqual(f.options[0]!.data, Uint8Array.of(0x80, 0, 0, 0xd1));
    assert.equal(
      gcp!.packet.summary().split(" / ").slice(3, 5).join(" / "),
      "Geneve vni=0 options=3 / IP 192.168.100.2 > 192.168.100.1",
    );
    assert.match(gcp!.packet.show(), /options\[0\]\s+= 0x0132:1 {2}\(class Google type 1, 4 data bytes\)/);
  });

  for (const name of BIG_TCP) {
    test(`${name}: a UDP length of 0 is not read as Geneve, as tshark does not`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, [...GENEVE_FIELDS, "eth.src", "eth.dst", "udp.srcport", "udp.dstport"]);
      assert.deepEqual(result.mismatches, []);
      const [{ packet, bytes }] = decodeCaptureFile(file) as [ReturnType<typeof decodeCaptureFile>[0]];
      assert.equal(packet.has("Geneve"), false);
      assert.deepEqual(packet.bytes(), bytes);
    });
  }

  test("fast path: into the tunnel, the inner addresses and ports the slow decode finds", () => {
    let tunnelled = 0;
    for (const name of [...WHOLE, ...BIG_TCP]) tunnelled += assertTunnelFastPathAgrees(join(REALCAPS, name));
    assert.ok(tunnelled >= 62, `${tunnelled} packets walked into`);
  });
});

describe("Geneve headers malformed or cut short", () => {
  test("the options cut by the snaplen: undecoded and truncated in both paths", () => {
    const full = stack(
      ether(),
      ipv4(),
      udp(),
      geneve({ options: [option({ data: new Uint8Array(8) })] }),
      ether(),
      ipv4(),
      icmp(),
    ).bytes();
    assertTunnelHeaderCut(full, [45, 50, 55, 61], "Geneve");
  });

  // tshark: "length of 16 is past end of options" (the option not listed) and "Unknown version 1",
  // the frame inside decoded in both.
  test("an option longer than the options: bad-option, its bytes kept; an unknown version: decoded on", () => {
    const overrun = stack(
      ether(),
      ipv4(),
      udp(),
      geneve({ optionsLength: 2, options: [option({ length: 3, data: Uint8Array.of(1, 2, 3, 4) })] }),
      ether(),
      ipv4(),
      icmp(),
    ).bytes();
    const a = decodePacket(overrun, LinkType.ETHERNET);
    assert.deepEqual(
      a.anomalies.map((x) => x.code),
      ["bad-option"],
    );
    assert.deepEqual(a.get("Geneve")?.fields.options[0]?.data, Uint8Array.of(1, 2, 3, 4));
    assert.ok(a.has("ICMP"), "the payload after the options length");
    assert.deepEqual(a.bytes(), overrun);

    const v1 = stack(ether(), ipv4(), udp(), geneve({ version: 1, vni: 3 }), ether(), ipv4(), icmp()).bytes();
    const b = decodePacket(v1, LinkType.ETHERNET);
    assert.deepEqual(
      b.anomalies.map((x) => x.code),
      ["bad-version"],
    );
    assert.ok(b.has("ICMP"));
    const outer = new Dissection();
    dissect(v1, 0, v1.length, v1.length, LinkType.ETHERNET, outer);
    const inner = new Dissection();
    assert.ok(dissectTunnelled(v1, outer, inner));
    assert.deepEqual([inner.ipProto, inner.icmpType, inner.anomalies], [1, 8, 0]);
  });
});

describe("Geneve builder, read back by tshark", () => {
  const packets = [
    // Defaults: UDP to 6081, protocol 0x6558 from the Ethernet frame next, no options.
    stack(ether(), ipv4(), udp(), geneve(), ether({ src: "02:00:00:00:00:0a" }), ipv4({ src: "10.1.1.1" }), icmp()),
    // Options: a critical one sets C; data padded to 4 bytes; reserved bits kept.
    stack(
      ether(),
      ipv6(),
      udp({ sport: 40000 }),
      geneve({
        vni: 0x123456,
        oam: 1,
        options: [
          option({ optionClass: 0x0102, type: 0x05, critical: 1, data: Uint8Array.of(1, 2, 3) }),
          option({ optionClass: 0xfff0, type: 0x7f, reserved: 5, data: new Uint8Array(0) }),
        ],
      }),
      ether(),
      ipv6({ src: "fd00:1::1" }),
      tcp({ dport: 443 }),
    ),
    // IPv4 straight in Geneve, as Google's VPC does.
    stack(ether(), ipv4(), udp(), geneve({ vni: 7, reserved: 3, reserved2: 9 }), ipv4({ src: "10.2.2.2" }), udp()),
    // A protocol type qoelab does not decode: Raw.
    stack(ether(), ipv4(), udp(), geneve({ protocol: 0x88cc }), raw({ hex: "0207040000000000" })),
    parseLayerSpec("ether/ipv4/udp/geneve(vni=42,options=0x0103:0x81:00000001+0x0100:2)/ether/ipv4(src=10.9.9.9)/icmp"),
  ];
  const file = builtPacketsFile("geneve", packets, LinkType.ETHERNET);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, [
      "frame.protocols",
      "udp.dstport",
      "geneve.flags",
      "geneve.proto_type",
      "geneve.vni",
      "geneve.option.class",
      "geneve.option.type",
      "geneve.option.flags",
      "geneve.option.length",
    ]);
    assert.deepEqual(rows, [
      ["eth:ethertype:ip:udp:geneve:eth:ethertype:ip:icmp", "6081", "0x00", "0x6558", "0x000000", "", "", "", "0"],
      [
        "eth:ethertype:ipv6:udp:geneve:eth:ethertype:ipv6:tcp",
        "6081",
        "0xc0",
        "0x6558",
        "0x123456",
        "0x0102,0xfff0",
        "0x85,0x7f",
        "0x00,0x05",
        "12,8,4",
      ],
      ["eth:ethertype:ip:udp:geneve:ip:udp", "6081,5004", "0x03", "0x0800", "0x000007", "", "", "", "0"],
      ["eth:ethertype:ip:udp:geneve:lldp", "6081", "0x00", "0x88cc", "0x000000", "", "", "", "0"],
      [
        "eth:ethertype:ip:udp:geneve:eth:ethertype:ip:icmp",
        "6081",
        "0x40",
        "0x6558",
        "0x00002a",
        "0x0103,0x0100",
        "0x81,0x02",
        "0x00,0x00",
        "12,8,4",
      ],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const decoded = decodePacket(packets[1]!.bytes(), LinkType.ETHERNET).get("Geneve")!.fields;
    assert.deepEqual(decoded.options[0]?.data, Uint8Array.of(1, 2, 3, 0));
    assert.deepEqual([decoded.optionsLength, decoded.critical, decoded.options[1]?.reserved], [3, 1, 5]);
  });

  test("show() and summary() name the tunnel", () => {
    assert.equal(packets[1]!.summary().split(" / ")[3], "Geneve vni=1193046 options=2 OAM");
    const text = packets[0]!.show();
    assert.match(text, /^###\[ Geneve \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /protocol\s+= 0x6558 {2}\(Transparent Ethernet Bridging\)/);
    assert.match(text, /dport\s+= 6081/);
  });
});
