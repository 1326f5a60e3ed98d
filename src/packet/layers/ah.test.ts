import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ah, ether, icmp, ipv4, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS, TSHARK_COMPARE_ARGS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { writePackets } from "../test-support/write-packets.ts";

/**
 * The IPsec Authentication Header (RFC 4302) over IPv4 against tshark on real captures: transport
 * mode (ICMP, ESP after AH), tunnel mode (IPv4 in AH), the fast path through it, a length past the
 * IP payload; over IPv6 AH stays an extension header of ipv6.ts, with the same fields to tshark.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const AH_FIELDS = COMPARABLE_FIELDS.filter((f) => f.startsWith("ah."));

describe("AH on real captures, against tshark", () => {
  for (const name of ["pcapplusplus/packet-examples/ipsec.pcapng", "libpcap-tests/ah-ipip-ping.pcap"]) {
    test(`${name}: every comparable field (AH's, the packet it protects) equals tshark's, and re-encodes`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      for (const { packet, bytes } of decodeCaptureFile(file)) assert.deepEqual(packet.bytes(), bytes);
    });
  }

  test("ipsec.pcapng: AH then ESP (transport mode), AH then IPv4 / ICMP (tunnel mode), as tshark shows", () => {
    // tshark -e ah.next_header -e ah.length -e ah.spi -e ah.sequence -e ah.icv
    const packets = decodeCaptureFile(join(REALCAPS, "pcapplusplus/packet-examples/ipsec.pcapng")).map((p) => p.packet);
    const first = packets[0]!.get("AH")!.fields;
    assert.deepEqual(
      [first.nextHeader, first.length, first.spi, first.sequence, Buffer.from(first.icv).toString("hex")],
      [50, 4, 0x8179b705, 3, "62325d2ea14e86ab902b70fb"],
    );
    assert.equal(packets[0]!.layers.at(-1)?.type, "Raw", "ESP is not decoded");
    const third = packets[2]!;
    assert.deepEqual(
      third.layers.map((l) => l.type),
      ["Ether", "IPv4", "AH", "IPv4", "ICMP", "Raw"],
    );
    assert.deepEqual([third.get("AH")!.fields.spi, third.get("AH")!.fields.sequence], [0x646adc80, 8]);
    assert.equal(third.get("ICMP")?.checksumStatus, "good");
  });

  test("AH-IPcomp-IPv4.pcap: the AH fields of every packet (IPComp, which tshark inflates, stays Raw)", () => {
    const file = join(REALCAPS, "libpcap-tests/AH-IPcomp-IPv4.pcap");
    const result = compareWithTshark(file, AH_FIELDS);
    assert.deepEqual(result.mismatches, []);
    assert.equal(result.compared, 10 * (AH_FIELDS.length + 1));
    const packets = decodeCaptureFile(file);
    for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes);
    // #1 and #2 are IPv4 in AH: tshark -e tcp.srcport -e tcp.dstport gives 1026 → 80 and 80 → 1026.
    assert.deepEqual(
      packets.slice(0, 2).map(({ packet }) => `${packet.get("TCP")?.fields.sport}>${packet.get("TCP")?.fields.dport}`),
      ["1026>80", "80>1026"],
    );
    assert.equal(packets[0]!.packet.get("TCP")?.checksumStatus, "good", "the inner IPv4's pseudo-header");
  });

  for (const name of ["libpcap-tests/ipv6_ah_modes.pcap", "tcpdump-tests/OSPFv3_with_AH.pcap"]) {
    test(`${name}: over IPv6 AH is an extension header; its fields and the rest equal tshark's`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 20);
      const packets = decodeCaptureFile(file);
      assert.ok(packets.every(({ packet }) => !packet.has("AH")));
      assert.ok(packets.some(({ packet }) => packet.get("IPv6")?.fields.extensions.some((e) => e.type === 51)));
    });
  }

  test("heapoverflow-ip_demux_print.pcap: an AH header cut by the snaplen is truncated, the rest undecoded", () => {
    const file = join(REALCAPS, "tcpdump-tests/heapoverflow-ip_demux_print.pcap");
    const [, second] = decodeCaptureFile(file);
    // tshark -e ah.length: 48, i.e. (48 + 2) * 4 = 200 bytes, of which 14 were captured.
    assert.equal(tsharkFields(file, ["ah.length"])[1]?.[0], "48");
    assert.equal(second!.packet.get("Raw")?.fields.undecoded, "AH");
    assert.deepEqual(
      second!.packet.anomalies.filter((a) => a.layer === "Raw").map((a) => a.code),
      ["truncated"],
    );
    assert.deepEqual(second!.packet.bytes(), second!.bytes);
    const d = new Dissection();
    dissect(second!.bytes, 0, second!.bytes.length, second!.origlen, second!.linkType, d);
    assert.ok(d.anomalies & Anomaly.TRUNCATED);
  });

  test("an AH length past the IP payload is bad-length (slow and fast path)", () => {
    const bytes = stack(ether(), ipv4(), ah({ length: 40 }), udp(), raw("short")).bytes();
    const expected = { layer: "AH", code: "bad-length", bit: Anomaly.BAD_LENGTH, onlyBit: false };
    assert.equal(assertUndecodedHeader(bytes, LinkType.ETHERNET, expected).l4Offset, -1);
  });

  test("fast path: through AH to the transport it protects, as tshark's innermost", () => {
    for (const name of ["libpcap-tests/AH-IPcomp-IPv4.pcap", "pcapplusplus/packet-examples/ipsec.pcapng"]) {
      const file = join(REALCAPS, name);
      const rows = tsharkFields(
        file,
        ["ip.proto", "tcp.srcport", "tcp.dstport", "icmp.type", "frame.protocols"],
        ["-o", "ip.defragment:FALSE"],
      );
      const d = new Dissection();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const [proto, sport, dport, icmpType, protocols] = rows[i++]!;
        assert.equal(d.anomalies, 0, `${name} #${i}`);
        if (protocols!.includes("ipcomp") || protocols!.includes("esp")) {
          assert.equal(d.l4Offset >= 0 && d.srcPort !== 0, false, `${name} #${i}: IPComp / ESP not walked`);
          return;
        }
        assert.equal(String(d.ipProto), proto!.split(",").at(-1), `${name} #${i}`);
        assert.equal(d.srcPort === 0 ? "" : String(d.srcPort), sport, `${name} #${i}`);
        assert.equal(d.dstPort === 0 ? "" : String(d.dstPort), dport, `${name} #${i}`);
        assert.equal(d.icmpType < 0 ? "" : String(d.icmpType), icmpType, `${name} #${i}`);
        assert.equal(d.tunnelDepth, protocols!.includes("ah:ip") ? 2 : 1, `${name} #${i}`);
      });
    }
  });
});

describe("AH builder, read back by tshark", () => {
  test("transport and tunnel mode: the values set, the next header filled, the TCP checksum over the outer addresses", async () => {
    const packets = [
      stack(ether(), ipv4(), ah({ spi: 0x1234, sequence: 77 }), tcp({ flags: "PA", seq: 5 }), raw("protected")),
      stack(ether(), ipv4(), ah({ icv: new Uint8Array(16).fill(0xab) }), udp({ sport: 40000, dport: 40001 }), raw("x")),
      stack(ether(), ipv4({ src: "192.0.2.1" }), ah({ sequence: 2 }), ipv4({ src: "10.5.5.5" }), icmp({ id: 3 })),
      parseLayerSpec("ether/ipv4/ah(spi=0x99,sequence=4,icv=0102030405060708)/udp(dport=53)"),
    ];
    const dir = mkdtempSync(join(tmpdir(), `qoelab-ah-${process.pid}-`));
    try {
      const file = join(dir, "ah.pcap");
      await writePackets(file, packets, LinkType.ETHERNET);
      const rows = tsharkFields(
        file,
        [
          "frame.protocols",
          "ip.proto",
          "ah.next_header",
          "ah.length",
          "ah.spi",
          "ah.sequence",
          "ah.icv",
          "tcp.checksum.status",
          "udp.checksum.status",
        ],
        TSHARK_COMPARE_ARGS,
      );
      assert.deepEqual(rows, [
        ["eth:ethertype:ip:ah:tcp", "51", "6", "4", "0x00001234", "77", "000000000000000000000000", "1", ""],
        [
          "eth:ethertype:ip:ah:udp:data",
          "51",
          "17",
          "5",
          "0x00000100",
          "1",
          "abababababababababababababababab",
          "",
          "1",
        ],
        ["eth:ethertype:ip:ah:ip:icmp", "51,1", "4", "4", "0x00000100", "2", "000000000000000000000000", "", ""],
        ["eth:ethertype:ip:ah:udp", "51", "17", "3", "0x00000099", "4", "0102030405060708", "", "1"],
      ]);
      assertBuiltPacketsAsTshark(file, packets, FIELDS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bytes = packets[0]!.bytes();
    const d = new Dissection();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, d);
    assert.deepEqual([d.ipProto, d.srcPort, d.dstPort, d.payloadLength, d.anomalies], [6, 49152, 80, 9, 0]);
  });

  test("a header cut by the capture is truncated; show() names the fields", () => {
    const bytes = stack(ether(), ipv4(), ah(), udp()).bytes();
    const cut = decodePacket(bytes.subarray(0, 14 + 20 + 16), LinkType.ETHERNET, { wireLength: bytes.length });
    assert.equal(cut.get("Raw")?.fields.undecoded, "AH");
    assert.deepEqual(
      cut.anomalies.map((a) => a.code),
      ["truncated"],
    );
    const d = new Dissection();
    dissect(bytes, 0, 14 + 20 + 16, bytes.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TRUNCATED);
    const text = decodePacket(bytes, LinkType.ETHERNET).show();
    assert.match(text, /^###\[ IPsec AH \]### \(TCP\/IP: internet, OSI 3\)$/m);
    assert.match(text, /nextHeader\s+= 17 {2}\(UDP\)/);
    assert.match(text, /length\s+= 4 {2}\(24 bytes\)/);
    assert.equal(
      decodePacket(bytes, LinkType.ETHERNET).summary(),
      "Ether / IP 10.77.0.1 > 10.77.0.2 / AH spi=0x00000100 seq=1 / UDP 5004 > 5004 len=0",
    );
  });
});
