import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, gre, icmp, icmpv6, ipv4, ipv6, mpls, nsh, raw, stack, tcp, udp, vxlan } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect, dissectTunnelled } from "../dissect.ts";
import { compileFilter } from "../filter-compile.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertTunnelFastPathAgrees } from "../test-support/tunnel-fast-path.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";

/**
 * NSH, the Network Service Header (RFC 8300), against tshark on real captures: straight on
 * Ethernet (EtherType 0x894F, MD type 1) and in VXLAN-GPE (next protocol 4, MD type 2 TLVs), the
 * header's fields and every field of the packets inside, byte-exact re-encoding, the fast path to
 * the packet inside, the builder read back by tshark, and headers cut short or malformed.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const NSH_ETHERNET = "tcpdump-tests/nsh.pcap";
const NSH_GPE = "tcpdump-tests/nsh-over-vxlan-gpe.pcap";

const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");

/** The fast path over an Ethernet frame reaches the slow decode's innermost IPv4 addresses and ports. */
function assertFastPathAgrees(bytes: Uint8Array, where: string): void {
  const slow = decodePacket(bytes, LinkType.ETHERNET);
  const d = new Dissection();
  dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, d);
  const ip = slow.getAll("IPv4").at(-1);
  const six = slow.getAll("IPv6").at(-1);
  const transport = slow.getAll("UDP").at(-1) ?? slow.getAll("TCP").at(-1);
  assert.equal(d.anomalies, 0, where);
  if (ip !== undefined) {
    assert.deepEqual([d.ipVersion, ipv4Text(d.src4), ipv4Text(d.dst4)], [4, ip.fields.src, ip.fields.dst], where);
  } else if (six !== undefined) assert.equal(d.ipVersion, 6, where);
  else assert.equal(d.ipVersion, 0, where);
  if (transport !== undefined) {
    assert.deepEqual([d.srcPort, d.dstPort], [transport.fields.sport, transport.fields.dport], where);
  }
}

describe("NSH on real captures, against tshark", () => {
  for (const name of [NSH_ETHERNET, NSH_GPE]) {
    test(`${name}: every comparable field (NSH's, the packet's inside) equals tshark's, and re-encodes`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches, []);
      assert.ok(result.compared >= 30, `${result.compared} values compared`);
      const packets = decodeCaptureFile(file);
      for (const { packet, bytes } of packets) {
        assert.deepEqual(packet.bytes(), bytes, packet.summary());
        assert.ok(packet.has("NSH"));
        assert.deepEqual(packet.anomalies, []);
      }
    });
  }

  test("the values tshark shows: MD type 1's four context headers, MD type 2's TLVs in VXLAN-GPE", () => {
    // tshark -V: Length 6, MD Type 1, Next Protocol IPv4, SPI 777, SI 7, Context Header 00000001…00000004.
    const [plain] = decodeCaptureFile(join(REALCAPS, NSH_ETHERNET));
    assert.deepEqual(plain!.packet.get("NSH")?.fields, {
      version: 0,
      oam: 0,
      u: 0,
      ttl: 0,
      length: 6,
      reserved: 0,
      mdType: 1,
      nextProtocol: 1,
      spi: 777,
      si: 7,
      context: Uint8Array.of(0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4),
    });
    assert.equal(
      plain!.packet.summary(),
      "Ether / NSH spi=777 si=7 next=IPv4 / IP 10.0.8.3 > 10.13.13.13 / UDP 52229 > 8000 len=6 / Raw 6 bytes",
    );
    // tshark -V: O Bit 1, C Bit 1, MD Type 2, SPI 16777215, SI 255; TLV Class 1 Type 2 Length 1,
    // Variable Metadata 12; TLV Class 2 Type 3 Length 1, Variable Metadata 12 (the padding 345678).
    const [gpe] = decodeCaptureFile(join(REALCAPS, NSH_GPE));
    const f = gpe!.packet.get("NSH")!.fields;
    assert.deepEqual([f.oam, f.u, f.mdType, f.length, f.spi, f.si, f.nextProtocol], [1, 1, 2, 6, 0xffffff, 255, 1]);
    assert.deepEqual(f.tlvs, [
      {
        metadataClass: 1,
        type: 2,
        unassigned: 0,
        length: 1,
        data: Uint8Array.of(0x12),
        padding: Uint8Array.of(0x34, 0x56, 0x78),
      },
      {
        metadataClass: 2,
        type: 3,
        unassigned: 0,
        length: 1,
        data: Uint8Array.of(0x12),
        padding: Uint8Array.of(0x34, 0x56, 0x78),
      },
    ]);
    assert.deepEqual(
      gpe!.packet.layers.map((l) => l.type),
      ["Ether", "IPv4", "UDP", "VXLAN", "NSH", "IPv4", "UDP", "Raw"],
    );
    assert.match(gpe!.packet.show(), /tlvs\[1\]\s+= 0x0002:3 {2}\(class 0x0002 type 3, 1 bytes\)/);
  });

  test("fast path: through NSH to the packet inside, as the slow decode; capture filters do not look inside", () => {
    const records: { bytes: Uint8Array; origlen: number }[] = [];
    readCaptureBytes(new Uint8Array(readFileSync(join(REALCAPS, NSH_ETHERNET))), (r) => {
      records.push({ bytes: r.buffer.slice(r.offset, r.offset + r.caplen), origlen: r.origlen });
    });
    const { bytes } = records[0]!;
    assertFastPathAgrees(bytes, NSH_ETHERNET);
    const d = new Dissection();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, d);
    assert.deepEqual([d.tunnelDepth, d.l3Offset, d.ipProto, d.dstPort], [0, 38, 17, 8000]);
    // tcpdump: an NSH frame is not `ip` nor `udp`; its EtherType is 0x894f.
    const record = {
      buffer: bytes,
      offset: 0,
      caplen: bytes.length,
      origlen: bytes.length,
      linkType: LinkType.ETHERNET,
    };
    for (const [expression, expected] of [
      ["ip", false],
      ["udp port 8000", false],
      ["ether proto 0x894f", true],
    ] as const) {
      assert.equal(compileFilter(expression).matches(record as never, d), expected, expression);
    }
    assert.ok(assertTunnelFastPathAgrees(join(REALCAPS, NSH_GPE)) === 1, "VXLAN-GPE walked into");
  });
});

describe("NSH builder, read back by tshark", () => {
  const packets: Packet[] = [
    // Defaults: MD type 1 with 16 zero bytes of context, TTL 63, the next protocol from the next layer.
    stack(ether(), nsh(), ipv4(), udp({ dport: 53 })),
    stack(
      ether(),
      nsh({
        mdType: 2,
        ttl: 5,
        oam: 1,
        spi: 0xabcdef,
        si: 3,
        tlvs: [
          { metadataClass: 0x0101, type: 0x80, data: Uint8Array.of(1, 2, 3) },
          { metadataClass: 2, type: 7, data: new Uint8Array(0) },
          { metadataClass: 0xffff, type: 1, unassigned: 1, data: Uint8Array.of(9, 8, 7, 6, 5) },
        ],
      }),
      ipv6(),
      tcp(),
    ),
    stack(ether(), nsh({ mdType: 2 }), ether({ src: "02:00:00:00:00:0a" }), ipv4({ src: "10.1.1.1" }), icmp()),
    stack(ether(), nsh({ si: 254 }), nsh({ spi: 2 }), ipv4(), icmp()),
    stack(ether(), nsh(), mpls({ label: 77 }), ipv4(), udp()),
    stack(ether(), nsh({ nextProtocol: 0x20 }), raw("hello")),
    stack(ether(), nsh({ mdType: 0, context: Uint8Array.of(1, 2, 3, 4) }), ipv4(), icmp()),
    stack(ether(), nsh({ mdType: 15, reserved: 3 }), ipv6(), icmpv6()),
    // In VXLAN-GPE (next protocol 4) and in GRE (protocol 0x894F).
    stack(
      ether(),
      ipv4(),
      udp(),
      vxlan({ gpe: true, vni: 5 }),
      nsh({ context: Uint8Array.from({ length: 16 }, (_, i) => i) }),
      ipv4({ src: "10.2.2.2" }),
      udp({ dport: 9 }),
    ),
    stack(ether(), ipv4(), gre(), nsh(), ipv4({ src: "10.3.3.3" }), icmp()),
    parseLayerSpec("ether/nsh(mdType=2,spi=9,tlvs=0x0001:2:12345678+0x0002:3:aa)/ipv4/udp"),
    parseLayerSpec("ether/nsh(context=00000001000000020000000300000004,ttl=9)/ipv4/udp"),
  ];
  const file = builtPacketsFile("nsh", packets, LinkType.ETHERNET);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, ["frame.protocols", "nsh.mdtype", "nsh.nextproto", "nsh.length", "nsh.ttl"]);
    assert.deepEqual(rows, [
      ["eth:ethertype:nsh:ip:udp", "1", "1", "6", "0x003f"],
      ["eth:ethertype:nsh:ipv6:tcp", "2", "2", "8", "0x0005"],
      ["eth:ethertype:nsh:eth:ethertype:ip:icmp", "2", "3", "2", "0x003f"],
      ["eth:ethertype:nsh:nsh:ip:icmp", "1,1", "4,1", "6,6", "0x003f,0x003f"],
      ["eth:ethertype:nsh:mpls:ip:udp", "1", "5", "6", "0x003f"],
      ["eth:ethertype:nsh:data", "1", "32", "6", "0x003f"],
      ["eth:ethertype:nsh:ip:icmp", "0", "1", "3", "0x003f"],
      ["eth:ethertype:nsh:ipv6:icmpv6", "63", "2", "2", "0x003f"],
      // tshark 4.0 does not list VXLAN-GPE among the protocols.
      ["eth:ethertype:ip:udp:nsh:ip:udp", "1", "1", "6", "0x003f"],
      ["eth:ethertype:ip:gre:nsh:ip:icmp", "1", "1", "6", "0x003f"],
      ["eth:ethertype:nsh:ip:udp", "2", "1", "6", "0x003f"],
      ["eth:ethertype:nsh:ip:udp", "1", "1", "6", "0x0009"],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const md2 = decodePacket(packets[1]!.bytes(), LinkType.ETHERNET).get("NSH")!.fields;
    assert.equal(md2.length, 2 + 2 + 1 + 3, "words: the fixed headers, then each TLV's header and padded data");
    assert.deepEqual(
      md2.tlvs?.map((t) => [t.metadataClass, t.type, t.unassigned, t.length, t.data.length, t.padding]),
      [
        [0x0101, 0x80, 0, 3, 3, undefined],
        [2, 7, 0, 0, 0, undefined],
        [0xffff, 1, 1, 5, 5, undefined],
      ],
    );
  });

  test("the fast path reaches the packet inside each, as the slow decode", () => {
    for (const [i, packet] of packets.entries()) {
      const bytes = packet.bytes();
      if (packet.has("VXLAN")) {
        const outer = new Dissection();
        dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, outer);
        const inner = new Dissection();
        assert.ok(dissectTunnelled(bytes, outer, inner));
        assert.deepEqual([ipv4Text(inner.src4), inner.dstPort, inner.anomalies], ["10.2.2.2", 9, 0]);
      } else assertFastPathAgrees(bytes, `#${i + 1} ${packet.summary()}`);
    }
  });

  test("show() and summary() name the header", () => {
    assert.equal(
      packets[3]!.summary(),
      "Ether / NSH spi=1 si=254 next=NSH / NSH spi=2 si=255 next=IPv4 / IP 10.77.0.1 > 10.77.0.2 / ICMP echo-request id=1 seq=1",
    );
    const text = packets[0]!.show();
    assert.match(text, /^###\[ NSH \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /mdType\s+= 1 {2}\(fixed context\)/);
    assert.match(text, /type\s+= 0x894f {2}\(NSH\)/);
  });
});

describe("NSH headers cut short or malformed", () => {
  const full = stack(ether(), nsh({ spi: 5 }), ipv4(), udp({ dport: 9 })).bytes();

  test("a header cut by the snaplen: undecoded and truncated in both paths", () => {
    for (const length of [15, 21, 22, 30, 37]) {
      const cut = full.subarray(0, length);
      assertUndecodedHeader(cut, LinkType.ETHERNET, {
        layer: "NSH",
        code: "truncated",
        bit: Anomaly.TRUNCATED,
        wireLength: full.length,
      });
    }
  });

  test("cut right after the header: the packet inside is truncated; an NSH with nothing after it is not", () => {
    const cut = full.subarray(0, 38);
    const d = assertUndecodedHeader(cut, LinkType.ETHERNET, {
      layer: "IPv4",
      code: "truncated",
      bit: Anomaly.TRUNCATED,
      wireLength: full.length,
    });
    assert.equal(d.etherType, 0x0800);
    const alone = stack(ether(), nsh({ nextProtocol: 1 })).bytes();
    const packet = decodePacket(alone, LinkType.ETHERNET);
    assert.deepEqual(
      packet.layers.map((l) => l.type),
      ["Ether", "NSH"],
    );
    assert.deepEqual([packet.anomalies, packet.bytes()], [[], alone]);
    dissect(alone, 0, alone.length, alone.length, LinkType.ETHERNET, d);
    assert.deepEqual([d.anomalies, d.etherType, d.l3Offset], [0, 0, -1]);
  });

  test("in VXLAN-GPE, cut inside NSH: undecoded NSH, and the fast path into the tunnel flags it", () => {
    const gpe = stack(ether(), ipv4(), udp(), vxlan({ gpe: true }), nsh(), ipv4(), icmp()).bytes();
    for (const length of [55, 60, 73]) {
      const cut = gpe.subarray(0, length);
      const packet = decodePacket(cut, LinkType.ETHERNET, { wireLength: gpe.length });
      assert.equal(packet.get("Raw")?.fields.undecoded, "NSH");
      assert.deepEqual(
        packet.anomalies.map((a) => a.code),
        ["truncated"],
      );
      assert.deepEqual(packet.bytes(), cut);
      const outer = new Dissection();
      dissect(cut, 0, cut.length, gpe.length, LinkType.ETHERNET, outer);
      const inner = new Dissection();
      assert.ok(dissectTunnelled(cut, outer, inner));
      assert.equal(inner.anomalies, Anomaly.TRUNCATED, `cut at ${length}`);
    }
  });

  test("a TLV longer than the header, a wrong length, another version: flagged, decoded on, re-encoded", () => {
    // tshark: "Length MUST be of value 0x6 for MD Type equal to 0x1" (read as 6); "… 0x2 or greater
    // for MD Type equal to 0x2" (read as 2); a TLV running past the header is shown, the payload after
    // the header's length decoded.
    const cases: [Packet, string][] = [
      [
        stack(
          ether(),
          nsh({
            mdType: 2,
            length: 4,
            tlvs: [{ metadataClass: 1, type: 1, length: 12, data: Uint8Array.of(1, 2, 3, 4) }],
          }),
          ipv4(),
          icmp(),
        ),
        "bad-option",
      ],
      [stack(ether(), nsh({ length: 4 }), ipv4(), icmp()), "bad-length"],
      [stack(ether(), nsh({ mdType: 2, length: 0 }), ipv4(), icmp()), "bad-length"],
      [stack(ether(), nsh({ version: 2 }), ipv4(), icmp()), "bad-version"],
    ];
    for (const [built, code] of cases) {
      const bytes = built.bytes();
      const packet = decodePacket(bytes, LinkType.ETHERNET);
      assert.deepEqual(
        packet.anomalies.map((a) => a.code),
        [code],
      );
      assert.ok(packet.has("ICMP"), `${code}: the packet inside is decoded`);
      assert.deepEqual(packet.bytes(), bytes);
      assertFastPathAgrees(bytes, code);
    }
    const overrun = decodePacket(cases[0]![0].bytes(), LinkType.ETHERNET).get("NSH")!.fields.tlvs![0]!;
    assert.deepEqual([overrun.length, overrun.data], [12, Uint8Array.of(1, 2, 3, 4)]);
  });
});
