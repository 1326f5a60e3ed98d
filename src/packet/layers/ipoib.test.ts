import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { arp, icmpv6, ipoib, ipv4, ipv6, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import type { Packet } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { IPOIB_HEADER_SIZE, ipoibAddressing } from "./ipoib.ts";

/**
 * IP over InfiniBand (LINKTYPE_IPOIB) against tshark on tcpdump's test capture: the 40 bytes
 * Linux puts before RFC 4391's header (a destination address, or what tshark reads as a Global
 * Route Header), the type and every field of the IPv4, TCP, ICMP and InfiniBand ARP packets
 * inside; the fast path's addresses and ports, byte-exact re-encoding, the builder read back.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const FILE = join(REALCAPS, "odd/tcpdump-tests/ipoib.pcap");
const IPOIB_FIELDS = COMPARABLE_FIELDS.filter((f) => f.startsWith("ipoib."));
/** Comparable fields but SIP/SDP (not IPoIB's concern). */
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));

function packets(): Packet[] {
  return decodeCaptureFile(FILE).map((p) => p.packet);
}

describe("IPoIB on a real capture, against tshark", () => {
  test("every ipoib.* field and every field of the packets inside equals tshark's", () => {
    const result = compareWithTshark(FILE, FIELDS);
    assert.deepEqual(result.mismatches.slice(0, 10), []);
    assert.ok(result.compared > 500, `${result.compared} values compared`);
    const own = compareWithTshark(FILE, IPOIB_FIELDS);
    assert.ok(own.compared >= 5 * own.packets, `${own.compared} ipoib values compared`);
    const all = packets();
    assert.equal(all.length, 30);
    assert.ok(all.every((p) => p.layers[0]?.type === "IPoIB" && p.anomalies.length === 0));
  });

  test("the values tshark shows: destination QPN and GID, or a GRH; ARP with InfiniBand addresses", () => {
    const all = packets();
    // tshark -e ipoib.daddr.qpn -e ipoib.dgid -e ipoib.type: 0x000550, fe80::10:e000:664a:b451, 0x0800
    const first = all[0]!.get("IPoIB")!.fields;
    assert.deepEqual(ipoibAddressing(first), {
      dgid: "fe80::10:e000:664a:b451",
      daddr: { flags: 0x80, qpn: 0x550 },
    });
    assert.equal(first.type, 0x0800);
    assert.equal(
      all[0]!.summary(),
      "IPoIB IPv4 / IP 192.168.56.10 > 192.168.56.24 / ICMP echo-request id=6495 seq=0 / Raw 56 bytes",
    );
    // #7 (an ARP reply): the first two bytes are not zero, so tshark reads a GRH: version 2, class 7,
    // flow label 157027, "source QPN" 0x697665, source GID 6420:6279:…, destination GID ff10:401b::ffff:ffff.
    const reply = all[6]!;
    assert.deepEqual(ipoibAddressing(reply.get("IPoIB")!.fields).grh, {
      version: 2,
      trafficClass: 7,
      flowLabel: 157027,
      sqpn: 0x697665,
      sgid: "6420:6279:2066:696c:7465:7270:ff:ffff",
    });
    const a = reply.get("ARP")!.fields;
    assert.deepEqual([a.hwType, a.hwLength, a.op], [32, 20, 2]);
    assert.equal(a.hwSrc, "80000550fe800000000000000010e000664ab451");
    assert.match(reply.show(), /grh\s+= 2072.* {2}\(Global Route Header: version 2, class 7, flow 157027\)/);
    assert.match(
      all[0]!.show(),
      /daddr\s+= 80000550fe8.* {2}\(destination QPN 0x000550, GID fe80::10:e000:664a:b451\)/,
    );
  });

  test("every packet encodes back to its bytes", () => {
    for (const { packet, bytes } of decodeCaptureFile(FILE)) {
      assert.deepEqual(packet.bytes(), bytes, packet.summary());
    }
  });

  test("fast path: the EtherType at byte 40, the IPv4 addresses and TCP ports as tshark's", () => {
    const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    const rows = tsharkFields(FILE, ["ipoib.type", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport"]);
    const d = new Dissection();
    let i = 0;
    readCaptureBytes(new Uint8Array(readFileSync(FILE)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      const [type, src, dst, sport, dport] = rows[i++]!;
      assert.equal(`0x${d.etherType.toString(16).padStart(4, "0")}`, type, `#${i}`);
      assert.equal(d.l3Offset - r.offset, IPOIB_HEADER_SIZE, `#${i}`);
      if (d.ipVersion === 4) assert.deepEqual([ipv4Text(d.src4), ipv4Text(d.dst4)], [src, dst], `#${i}`);
      assert.equal(d.srcPort === 0 ? "" : String(d.srcPort), sport, `#${i}`);
      assert.equal(d.dstPort === 0 ? "" : String(d.dstPort), dport, `#${i}`);
      assert.equal(d.anomalies, 0, `#${i}`);
    });
    assert.equal(i, 30);
  });

  test("a header cut short: truncated in both paths, bytes kept", () => {
    const frame = stack(ipoib(), ipv4(), udp()).bytes();
    const cut = frame.subarray(0, IPOIB_HEADER_SIZE - 1);
    const expected = { layer: "IPoIB", code: "truncated", bit: Anomaly.TRUNCATED, wireLength: frame.length };
    assertUndecodedHeader(cut, LinkType.IPOIB, expected);
  });
});

describe("IPoIB builder, read back by tshark", () => {
  const built = [
    stack(ipoib(), ipv4({ src: "192.168.7.1" }), tcp({ flags: "S", dport: 22 })),
    stack(ipoib({ daddr: "80000550fe800000000000000010e000664ab451" }), ipv6(), udp({ dport: 9 }), raw("ib6")),
    stack(ipoib({ grh: `6${"0".repeat(7)}${"00".repeat(16)}` }), ipv6(), icmpv6()),
    stack(
      ipoib({ daddr: "00ffffffff12401bffff00000000000000000001" }),
      arp({ hwType: 32, hwLength: 20, hwSrc: "80000048fe800000000000000002c9030001e621", hwDst: "00".repeat(20) }),
    ),
    parseLayerSpec("ipoib(daddr=800000aafe800000000000000000000000000099,reserved=7)/ipv4/udp(dport=5000)"),
  ];

  const file = builtPacketsFile("ipoib", built, LinkType.IPOIB);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, [
      "frame.protocols",
      "ipoib.type",
      "ipoib.reserved",
      "ipoib.daddr.qpn",
      "ipoib.dgid",
      "ipoib.grh.ipver",
      "arp.src.hw",
    ]);
    assert.deepEqual(rows, [
      ["ipoib:ip:tcp", "0x0800", "0x0000", "0x000001", "fe80::2", "", ""],
      ["ipoib:ipv6:udp:data", "0x86dd", "0x0000", "0x000550", "fe80::10:e000:664a:b451", "", ""],
      ["ipoib:ipv6:icmpv6", "0x86dd", "0x0000", "", "fe80::2", "6", ""],
      [
        "ipoib:arp",
        "0x0806",
        "0x0000",
        "0xffffff",
        "ff12:401b:ffff::1",
        "",
        "80000048fe800000000000000002c9030001e621",
      ],
      ["ipoib:ip:udp", "0x0800", "0x0007", "0x0000aa", "fe80::99", "", ""],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, built, FIELDS);
  });
});
