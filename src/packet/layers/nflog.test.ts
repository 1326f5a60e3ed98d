import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseHex } from "../address-text.ts";
import { icmp, ipv4, ipv6, nflog, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { NflogTlvType, nflogTlv } from "./nflog.ts";

/**
 * Linux NFLOG (LINKTYPE_NFLOG) against tshark on real captures (tcpdump's and PcapPlusPlus's test
 * files): every nflog.* field and every field of the packets inside in the slow path, the inner
 * addresses and ports in the fast path, byte-exact re-encoding (non-zero padding included), the
 * builder read back by tshark, and the byte orders, cuts and lengths tshark has no opinion on.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const FILES = ["odd/tcpdump-tests/nflog.pcap", "odd/pcapplusplus/packet-examples/nflogPacket.pcap"];
const NFLOG_FIELDS = COMPARABLE_FIELDS.filter((f) => f.startsWith("nflog."));
/** Comparable fields but SIP/SDP (not NFLOG's concern). */
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const T = NflogTlvType.codes;

function packetsOf(name: string): Packet[] {
  return decodeCaptureFile(join(REALCAPS, name)).map((p) => p.packet);
}

/** A message by hand: header, then TLVs given as [type field, value, big-endian?], each padded with `pad`. */
function message(family: number, tlvs: [number, Uint8Array, boolean?][], pad = 0): Uint8Array {
  const parts: number[] = [family, 0, 0, 9];
  for (const [type, value, bigEndian] of tlvs) {
    const length = 4 + value.length;
    const header = bigEndian
      ? [length >> 8, length & 255, type >> 8, type & 255]
      : [length & 255, length >> 8, type & 255, type >> 8];
    parts.push(...header, ...value, ...new Array<number>((4 - (length % 4)) % 4).fill(pad));
  }
  return Uint8Array.from(parts);
}

const IPV4_UDP = stack(
  ipv4({ src: "10.1.0.1", dst: "10.1.0.2" }),
  udp({ sport: 1111, dport: 53 }),
  raw("query"),
).bytes();

describe("NFLOG on real captures, against tshark", () => {
  for (const name of FILES) {
    test(`${name}: every nflog.* field and every field of the packet inside equals tshark's`, () => {
      const result = compareWithTshark(join(REALCAPS, name), FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      const own = compareWithTshark(join(REALCAPS, name), NFLOG_FIELDS);
      assert.ok(own.compared >= 10 * own.packets, `${own.compared} nflog values compared`);
      assert.ok(packetsOf(name).every((p) => p.layers[0]?.type === "NFLOG" && p.has("UDP")));
    });
  }

  test("the values tshark shows: group, TLV types, PACKET_HDR, interfaces, ids, timestamp", () => {
    // tshark -r nflog.pcap -T fields -e nflog.res_id -e nflog.tlv_type -e nflog.protocol -e nflog.hook
    //   -e nflog.ifindex_indev -e nflog.timestamp (TZ=UTC), first packet
    const [first] = packetsOf(FILES[0]!);
    const f = first!.get("NFLOG")!.fields;
    assert.deepEqual([f.family, f.version, f.resourceId], [2, 0, 20]);
    assert.deepEqual(
      f.tlvs.map((t) => NflogTlvType.names.get(t.type)),
      ["PACKET_HDR", "PREFIX", "IFINDEX_INDEV", "HWADDR", "HWTYPE", "HWLEN", "HWHEADER", "TIMESTAMP"],
    );
    assert.equal(f.payload?.index, 8, "PAYLOAD last");
    assert.equal(f.payloadLength, 77);
    const text = first!.show();
    assert.match(text, /tlvs\[0\]\s+= PACKET_HDR {2}\(hw protocol 0x0800 \(IPv4\), hook 1 \(local in\)\)/);
    assert.match(text, /tlvs\[1\]\s+= PREFIX {2}\(""\)/);
    assert.match(text, /tlvs\[2\]\s+= IFINDEX_INDEV {2}\(2\)/);
    assert.match(text, /tlvs\[3\]\s+= HWADDR {2}\(b8:a3:86:b9:c3:d6\)/);
    assert.match(text, /tlvs\[7\]\s+= TIMESTAMP {2}\(2013-09-06T18:31:58\.614652Z\)/);
    assert.equal(
      first!.summary(),
      "NFLOG group=20 / IP 74.82.42.42 > 10.0.0.20 / UDP 53 > 42585 len=45 / Raw 45 bytes",
    );

    // nflogPacket.pcap: NFULA_PACKET_HDR hw protocol 0 (IPv4 by the family), OUTDEV 2, UID 0, GID 0,
    // and three bytes after the packet that are not zeros (2f 0a 31): PAYLOAD's padding, kept.
    const [other] = packetsOf(FILES[1]!);
    const g = other!.get("NFLOG")!.fields;
    assert.equal(g.resourceId, 42);
    assert.deepEqual(
      g.tlvs.map((t) => t.type),
      [T.PACKET_HDR, T.PREFIX, T.IFINDEX_OUTDEV, T.UID, T.GID],
    );
    assert.deepEqual(g.payload?.padding, Uint8Array.of(0x2f, 0x0a, 0x31));
    assert.deepEqual(other!.anomalies, []);
    assert.equal(other!.layers.at(-1)?.type, "Raw", "no trailer layer: the padding is NFLOG's");
  });

  test("every packet encodes back to its bytes", () => {
    for (const name of FILES) {
      for (const { packet, bytes } of decodeCaptureFile(join(REALCAPS, name))) {
        assert.deepEqual(packet.bytes(), bytes, `${name}: ${packet.summary()}`);
      }
    }
  });

  test("fast path: the packet inside PAYLOAD, its addresses and ports as tshark's", () => {
    const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    for (const name of FILES) {
      const file = join(REALCAPS, name);
      const rows = tsharkFields(file, ["ip.src", "ip.dst", "udp.srcport", "udp.dstport"]);
      const d = new Dissection();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const row = [ipv4Text(d.src4), ipv4Text(d.dst4), String(d.srcPort), String(d.dstPort)];
        assert.deepEqual(row, rows[i++], `${name} #${i}`);
        assert.deepEqual([d.etherType, d.ipProto, d.anomalies], [0x0800, 17, 0], `${name} #${i}`);
      });
      assert.equal(i, rows.length);
    }
  });
});

describe("NFLOG TLV framing", () => {
  test("big-endian lengths when little-endian ones are impossible; the flag bit; TLVs after PAYLOAD", () => {
    const frame = message(2, [
      [T.PACKET_HDR | 0x8000, Uint8Array.of(0x08, 0, 3, 0), true],
      [T.PREFIX, Uint8Array.of(0x61, 0x62, 0)],
      [T.PAYLOAD, IPV4_UDP, true],
      [T.MARK, Uint8Array.of(0, 0, 0, 7)],
    ]);
    const packet = decodePacket(frame, LinkType.NFLOG);
    assert.deepEqual(
      packet.layers.map((l) => l.type),
      ["NFLOG", "IPv4", "UDP", "Raw"],
    );
    const f = packet.get("NFLOG")!.fields;
    assert.deepEqual(f.tlvs[0], { type: T.PACKET_HDR, value: Uint8Array.of(0x08, 0, 3, 0), flag: 1, byteOrder: "be" });
    assert.deepEqual(f.payload, { index: 2, byteOrder: "be" });
    assert.equal(f.tlvs[2]?.type, T.MARK);
    assert.deepEqual(packet.anomalies, []);
    assert.deepEqual(packet.bytes(), frame);
    assert.match(packet.show(), /tlvs\[0\]\s+= PACKET_HDR {2}\(.*hook 3 \(local out\); flag set, big-endian\)/);
    assert.match(packet.show(), /tlvs\[1\]\s+= PREFIX {2}\("ab"\)/);
    assert.equal(packet.summary().split(" / ")[0], 'NFLOG group=9 prefix="ab"');

    const d = new Dissection();
    dissect(frame, 0, frame.length, frame.length, LinkType.NFLOG, d);
    assert.deepEqual([d.anomalies, d.srcPort, d.dstPort, d.l3Offset], [0, 1111, 53, 4 + 8 + 8 + 4]);
  });

  test("the packet by PACKET_HDR's hardware protocol, else by family; none: Raw", () => {
    const ip6 = stack(ipv6(), udp({ dport: 7 })).bytes();
    const bridge = message(7, [
      [T.PACKET_HDR, Uint8Array.of(0x86, 0xdd, 0, 0)],
      [T.PAYLOAD, ip6],
    ]);
    assert.equal(decodePacket(bridge, LinkType.NFLOG).get("UDP")?.fields.dport, 7);
    const byFamily = message(10, [[T.PAYLOAD, ip6]]);
    assert.equal(decodePacket(byFamily, LinkType.NFLOG).get("IPv6")?.fields.nextHeader, 17);
    const arpFamily = message(3, [[T.PAYLOAD, Uint8Array.of(1, 2, 3)]]);
    const unknown = decodePacket(arpFamily, LinkType.NFLOG);
    assert.deepEqual(
      unknown.layers.map((l) => l.type),
      ["NFLOG", "Raw"],
    );
    assert.deepEqual(unknown.bytes(), arpFamily);
    const d = new Dissection();
    dissect(bridge, 0, bridge.length, bridge.length, LinkType.NFLOG, d);
    assert.deepEqual([d.etherType, d.dstPort, d.anomalies], [0x86dd, 7, 0]);
    dissect(arpFamily, 0, arpFamily.length, arpFamily.length, LinkType.NFLOG, d);
    assert.deepEqual([d.etherType, d.l3Offset, d.anomalies], [0, -1, 0]);
  });

  test("no PAYLOAD; cut header, TLV or payload; impossible lengths: flagged in both paths, bytes kept", () => {
    const d = new Dissection();
    const fast = (bytes: Uint8Array, wire = bytes.length) => {
      dissect(bytes, 0, bytes.length, wire, LinkType.NFLOG, d);
      return d.anomalies;
    };
    const slow = (bytes: Uint8Array, wire = bytes.length) => {
      const packet = decodePacket(bytes, LinkType.NFLOG, { wireLength: wire });
      assert.deepEqual(packet.bytes(), bytes, packet.summary());
      return packet;
    };
    const whole = message(2, [
      [T.PREFIX, Uint8Array.of(0x78, 0)],
      [T.PAYLOAD, IPV4_UDP],
    ]);

    // A message without PAYLOAD is no fault; cut before it, it is.
    const none = message(2, [[T.PREFIX, Uint8Array.of(0x78, 0)]]);
    assert.deepEqual(slow(none).anomalies, []);
    assert.equal(slow(none).get("NFLOG")?.fields.payload, null);
    assert.equal(fast(none), 0);
    assert.deepEqual(
      slow(none, whole.length).anomalies.map((a) => a.code),
      ["truncated"],
    );
    assert.equal(fast(none, whole.length), Anomaly.TRUNCATED);

    // The 4-byte header cut: Raw naming NFLOG.
    const header = slow(whole.subarray(0, 3), whole.length);
    assert.equal(header.get("Raw")?.fields.undecoded, "NFLOG");
    assert.equal(fast(whole.subarray(0, 3), whole.length), Anomaly.TRUNCATED);

    // A TLV cut by the capture, or longer than the message when it was not cut.
    const cutTlv = whole.subarray(0, 4 + 5);
    assert.equal(slow(cutTlv, whole.length).get("Raw")?.fields.undecoded, "NFLOG TLV");
    assert.deepEqual(
      slow(cutTlv, whole.length).anomalies.map((a) => a.code),
      ["truncated"],
    );
    assert.equal(fast(cutTlv, whole.length), Anomaly.TRUNCATED);
    assert.deepEqual(
      slow(cutTlv).anomalies.map((a) => a.code),
      ["bad-length"],
    );
    assert.equal(fast(cutTlv), Anomaly.BAD_LENGTH);

    // A length under 4 in both byte orders.
    const bad = whole.slice();
    bad[4] = 2;
    assert.deepEqual(
      slow(bad).anomalies.map((a) => a.code),
      ["bad-length"],
    );
    assert.equal(fast(bad), Anomaly.BAD_LENGTH);

    // The packet cut by the capture: handed over as captured, the IP layer flags it.
    const cutPayload = whole.subarray(0, whole.length - 5);
    const p = slow(cutPayload, whole.length);
    assert.ok(p.has("IPv4"));
    assert.equal(p.get("NFLOG")?.fields.payloadLength, 4 + IPV4_UDP.length);
    assert.equal(fast(cutPayload, whole.length) & (Anomaly.TRUNCATED | Anomaly.BAD_LENGTH), 0);
    assert.equal(d.dstPort, 53);
  });

  test("bytes in PAYLOAD after the packet, bytes after the TLVs: kept, flagged", () => {
    const inside = message(2, [[T.PAYLOAD, new Uint8Array([...IPV4_UDP, 0xee, 0xee])]]);
    const p = decodePacket(inside, LinkType.NFLOG);
    assert.deepEqual(p.get("NFLOG")?.fields.payload?.trailer, Uint8Array.of(0xee, 0xee));
    assert.deepEqual(
      p.anomalies.map((a) => a.code),
      ["trailing-bytes"],
    );
    assert.deepEqual(p.bytes(), inside);
    const after = new Uint8Array([...message(2, [[T.PAYLOAD, IPV4_UDP]]), 1, 2]);
    const q = decodePacket(after, LinkType.NFLOG);
    assert.equal(q.layers.at(-1)?.type, "Padding");
    assert.deepEqual(q.bytes(), after);
  });
});

describe("NFLOG builder, read back by tshark", () => {
  const packets = [
    stack(
      nflog({
        resourceId: 20,
        tlvs: [
          nflogTlv.packetHeader(0x0800, 1),
          nflogTlv.prefix("in-drop"),
          nflogTlv.inDevice(4),
          nflogTlv.physInDevice(5),
          nflogTlv.hwAddress("02:00:00:00:00:09"),
          nflogTlv.timestamp(1_700_000_000, 250_000),
        ],
      }),
      ipv4({ src: "10.9.0.1" }),
      udp({ sport: 4000, dport: 9 }),
      raw("log me"),
    ),
    stack(
      nflog({
        resourceId: 3,
        tlvs: [nflogTlv.packetHeader(0x86dd, 3), nflogTlv.outDevice(6), nflogTlv.uid(1000), nflogTlv.gid(-2 >>> 0)],
      }),
      ipv6(),
      tcp({ flags: "S", dport: 443 }),
    ),
    // Bridge family: the hardware protocol says IPv4.
    stack(nflog({ family: 7, tlvs: [nflogTlv.packetHeader(0x0800, 0), nflogTlv.mark(9)] }), ipv4(), icmp()),
    parseLayerSpec('nflog(resourceId=5,hwProtocol=0x0800,hook=4,prefix="out ",outdev=2,mark=3)/ipv4/udp(dport=5000)'),
    stack(nflog({ tlvs: [nflogTlv.other(T.SEQ_GLOBAL, parseHex("0000002a"))] }), ipv4(), tcp({ flags: "R" })),
  ];

  const file = builtPacketsFile("nflog", packets, LinkType.NFLOG);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, [
      "frame.protocols",
      "nflog.family",
      "nflog.res_id",
      "nflog.tlv_type",
      "nflog.protocol",
      "nflog.hook",
      "nflog.prefix",
      "nflog.ifindex_indev",
      "nflog.ifindex_physindev",
      "nflog.ifindex_outdev",
      "nflog.uid",
      "nflog.gid",
      "nflog.timestamp",
      "nflog.tlv_value",
    ]);
    assert.deepEqual(rows, [
      [
        "nflog:ip:udp:data",
        "2",
        "20",
        "1,10,4,6,8,3,9",
        "0x0800",
        "1",
        "in-drop",
        "4",
        "5",
        "",
        "",
        "",
        "Nov 14, 2023 22:13:20.250000000 UTC",
        "000600000200000000090000",
      ],
      ["nflog:ipv6:tcp", "10", "3", "1,5,11,14,9", "0x86dd", "3", "", "", "", "6", "1000", "-2", "", ""],
      ["nflog:ip:icmp", "7", "0", "1,2,9", "0x0800", "0", "", "", "", "", "", "", "", "00000009"],
      ["nflog:ip:udp", "2", "5", "1,10,5,2,9", "0x0800", "4", "out ", "", "", "2", "", "", "", "00000003"],
      ["nflog:ip:tcp", "2", "0", "13,9", "", "", "", "", "", "", "", "", "", "0000002a"],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const d = new Dissection();
    const bytes = packets[2]!.bytes();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.NFLOG, d);
    assert.deepEqual([d.etherType, d.ipProto, d.icmpType, d.anomalies], [0x0800, 1, 8, 0]);
  });

  test("the family comes from the next layer, the PAYLOAD TLV after the others, padded with zeros", () => {
    const bytes = stack(nflog({ tlvs: [nflogTlv.prefix("a")] }), ipv4(), udp()).bytes();
    assert.deepEqual([...bytes.subarray(0, 4)], [2, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(4, 12)], [6, 0, T.PREFIX, 0, 0x61, 0, 0, 0]);
    assert.deepEqual([...bytes.subarray(12, 16)], [4 + 28, 0, T.PAYLOAD, 0]);
    assert.equal(stack(nflog(), ipv6()).bytes()[0], 10);
    assert.equal(bytes.length % 4, 0);
    assert.equal(stack(nflog(), ipv4(), udp(), raw("x")).bytes().length, 4 + 4 + 20 + 8 + 1 + 3);
  });
});
