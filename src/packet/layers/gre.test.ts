import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { erspan, ether, gre, hdlc, icmp, ipv4, ipv6, ppp, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";

/**
 * GRE (RFC 2784/2890, PPTP's enhanced GRE of RFC 2637, WCCP redirection) against tshark on real
 * captures: the GRE fields and every field of the packets inside (IPv4, IPv6, Ethernet 0x6558,
 * PPP 0x880B with or without its FF 03 framing, GRE in GRE) in the slow path, the innermost
 * addresses and ports in the fast path, byte-exact re-encoding, and the builder read by tshark.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const GRE_FIELDS = COMPARABLE_FIELDS.filter((f) => f.startsWith("gre."));
/** Comparable fields but SIP/SDP (not GRE's concern). */
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));

/** Captures whose every packet qoelab decodes as far as tshark does (with the packets inside). */
const WHOLE = [
  "odd/suricata-verify/gre-sample.pcap", // IPv4 in GRE
  "odd/misc/zeek-gre-within-gre.pcap", // GRE in IPv4 in GRE
  "odd/pcapplusplus/packet-examples/GrePackets.pcap", // checksums, PPTP, Ethernet (0x6558), IPv4 in IPv6
  "odd/pcapplusplus/GrePackets.cap", // a PPTP session: LCP, PAP, IPCP, IPv4
  "odd/tcpdump-tests/pptp.pcap",
  "odd/tcpdump-tests/wccp_redirect_gre.pcap", // WCCP v2 redirect header, IPv4 inside
  "odd/tcpdump-tests/gre-heapoverflow-2.pcap",
];
/** GRE carrying what qoelab leaves Raw (NHRP 0x2001, OSI 0x00FE): the GRE and outer IP fields. */
const GRE_ONLY = [
  "odd/tcpdump-tests/NHRP_registration.pcap",
  "odd/tcpdump-tests/NHRP-responder-address.pcap",
  "odd/tcpdump-tests/ios_nhrp.pcap",
  "odd/tcpdump-tests/nhrp.pcapng",
  "odd/tcpdump-tests/isis-infinite-loop.pcap",
];
/** Ethernet frames in GRE (0x6558) with a key, some in outer IPv4 fragments. */
const ZEEK_ERSPAN = "odd/misc/zeek-erspan.pcap";

function packetsOf(name: string): Packet[] {
  return decodeCaptureFile(join(REALCAPS, name)).map((p) => p.packet);
}

describe("GRE on real captures, against tshark", () => {
  for (const name of WHOLE) {
    test(`${name}: every comparable field, GRE's and the packets' inside, equals tshark's`, () => {
      const result = compareWithTshark(join(REALCAPS, name), FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 15, `${result.compared} values compared`);
      assert.ok(
        packetsOf(name).some((p) => p.has("GRE")),
        "a GRE layer",
      );
    });
  }

  test(`${ZEEK_ERSPAN}: every field but the TCP checksum status of segments cut by an outer fragment`, () => {
    // tshark (ip.defragment off) calls the checksum of a TCP segment whose rest is in the next
    // outer fragment bad; qoelab calls it unverified, not all of the segment being there.
    const result = compareWithTshark(
      join(REALCAPS, ZEEK_ERSPAN),
      FIELDS.filter((f) => f !== "tcp.checksum.status"),
    );
    assert.deepEqual(result.mismatches.slice(0, 10), []);
    assert.ok(result.compared > 6000, `${result.compared} values compared`);
    const inner = packetsOf(ZEEK_ERSPAN).filter((p) => p.getAll("Ether").length === 2);
    assert.equal(inner.length, 248);
  });

  for (const name of GRE_ONLY) {
    test(`${name}: the GRE and outer IP fields equal tshark's (the payload is not decoded)`, () => {
      const fields = [...GRE_FIELDS, ...FIELDS.filter((f) => f.startsWith("ip.") || f.startsWith("eth."))];
      const result = compareWithTshark(join(REALCAPS, name), fields);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
    });
  }

  test("GrePackets.pcap: the values tshark shows (checksum, PPTP key halves, sequence, acknowledgment, key)", () => {
    // tshark -r GrePackets.pcap -T fields -e gre.flags_and_version -e gre.proto -e gre.checksum
    //   -e gre.checksum.status -e gre.key -e gre.key.payload_length -e gre.key.call_id
    //   -e gre.sequence_number -e gre.ack_number (outermost GRE of each packet)
    const expected = [
      { v: 1, protocol: 0x880b, payloadLength: 8, callId: 6, sequence: 34, ack: 17 },
      { v: 1, protocol: 0x880b, payloadLength: 0, callId: 6, ack: 26 },
      { v: 0, protocol: 0x0800, checksum: 0x77ff, status: "good" },
      { v: 0, protocol: 0x0800, checksum: 0x77ff, status: "good" },
      { v: 0, protocol: 0x0800 },
      { v: 1, protocol: 0x880b, payloadLength: 178, callId: 17, sequence: 539320 },
      { v: 0, protocol: 0x6558, key: 0xfde8 },
    ];
    const packets = packetsOf("odd/pcapplusplus/packet-examples/GrePackets.pcap");
    assert.equal(packets.length, expected.length);
    packets.forEach((packet, i) => {
      const layer = packet.get("GRE")!;
      const want = expected[i]!;
      const f = layer.fields;
      assert.equal(f.version, want.v, `#${i + 1}`);
      assert.equal(f.protocol, want.protocol, `#${i + 1}`);
      assert.equal(f.checksum, want.checksum, `#${i + 1}`);
      assert.equal(layer.checksumStatus, want.status, `#${i + 1}`);
      assert.equal(f.key, want.key, `#${i + 1}`);
      assert.equal(f.payloadLength, want.payloadLength, `#${i + 1}`);
      assert.equal(f.callId, want.callId, `#${i + 1}`);
      assert.equal(f.sequence, want.sequence, `#${i + 1}`);
      assert.equal(f.ack, want.ack, `#${i + 1}`);
    });
    // PPP in PPTP with the RFC 1662 framing FF 03 (an HDLC layer): CCP (0x80fd) in #1, IPv4 in #6.
    assert.equal(
      packets[0]!.summary().split(" / ").slice(2).join(" / "),
      "GRE PPP call=6 seq=34 ack=17 / HDLC / PPP CCP / Raw 4 bytes",
    );
    assert.equal(packets[0]!.get("PPP")?.fields.protocol, 0x80fd);
    assert.ok(packets[5]!.has("HDLC"));
    assert.equal(packets[5]!.get("PPP")?.fields.protocol, 0x0021);
    // #7: tshark -e eth.src -e ip.src: 00:02:15:37:a2:44,00:01:23:45:56:78 and 1.2.3.4,10.0.0.4.
    assert.equal(packets[6]!.getAll("Ether")[1]?.fields.src, "00:01:23:45:56:78");
    assert.equal(packets[6]!.getAll("IPv4")[1]?.fields.src, "10.0.0.4");
    assert.equal(packets[1]!.layers.at(-1)?.type, "GRE", "an acknowledgment carries nothing");
  });

  test("wccp_redirect_gre.pcap: the WCCP v2 redirect header (service 89, primary bucket 72), then IPv4 / TCP", () => {
    const [packet] = packetsOf("odd/tcpdump-tests/wccp_redirect_gre.pcap");
    const f = packet!.get("GRE")!.fields;
    assert.equal(f.protocol, 0x883e);
    assert.equal(f.wccpRedirect, 0x05590048);
    assert.deepEqual(
      packet!.layers.map((l) => l.type),
      ["Ether", "IPv4", "GRE", "IPv4", "TCP", "Raw"],
    );
    assert.equal(packet!.get("TCP")?.fields.dport, 445);
  });

  test("decoded packets encode back to their bytes", () => {
    for (const name of [...WHOLE, ...GRE_ONLY, ZEEK_ERSPAN, "odd/tcpdump-tests/various_gre.pcap"]) {
      for (const { packet, bytes } of decodeCaptureFile(join(REALCAPS, name))) {
        assert.deepEqual(packet.bytes(), bytes, `${name}: ${packet.summary()}`);
      }
    }
  });

  test("fast path: the innermost addresses and ports are tshark's, through GRE, PPP and Ethernet in GRE", () => {
    const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    const last = (cell: string) => cell.split(",").at(-1) ?? "";
    for (const name of [
      "odd/misc/zeek-gre-within-gre.pcap",
      "odd/pcapplusplus/GrePackets.cap",
      "odd/tcpdump-tests/pptp.pcap",
      "odd/tcpdump-tests/wccp_redirect_gre.pcap",
      "odd/pcapplusplus/packet-examples/GrePackets.pcap",
    ]) {
      const file = join(REALCAPS, name);
      const rows = tsharkFields(
        file,
        ["ip.src", "tcp.srcport", "udp.srcport", "tcp.dstport", "udp.dstport", "gre.proto"],
        ["-o", "ip.defragment:FALSE"],
      );
      const d = new Dissection();
      let i = 0;
      let tunnelled = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const [src, tsport, usport, tdport, udport, greProto] = rows[i++]!;
        if (d.ipVersion === 4) assert.equal(ipv4Text(d.src4), last(src!), `${name} #${i}`);
        assert.equal(d.srcPort === 0 ? "" : String(d.srcPort), last(tsport! || usport!), `${name} #${i}`);
        assert.equal(d.dstPort === 0 ? "" : String(d.dstPort), last(tdport! || udport!), `${name} #${i}`);
        assert.equal(d.anomalies, 0, `${name} #${i}`);
        if (greProto !== "") {
          assert.ok(d.tunnelDepth >= 1, `${name} #${i}: tunnel depth ${d.tunnelDepth}`);
          tunnelled++;
        }
      });
      assert.ok(tunnelled > 0, name);
    }
    const d = new Dissection();
    const bytes = readFileSync(join(REALCAPS, "odd/misc/zeek-gre-within-gre.pcap"));
    let depth = -1;
    readCaptureBytes(new Uint8Array(bytes), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      depth = Math.max(depth, d.tunnelDepth);
    });
    assert.equal(depth, 2, "GRE in IPv4 in GRE: two encapsulations");
  });
});

describe("GRE checksum (RFC 2784: the Internet checksum over header and payload)", () => {
  test("encode computes it with C set, decode verifies it, a wrong one is flagged with the expected value", () => {
    const good = stack(ether(), ipv4(), gre({ checksumPresent: 1 }), ipv4(), udp(), raw("x")).bytes();
    const decoded = decodePacket(good, LinkType.ETHERNET);
    assert.equal(decoded.get("GRE")?.checksumStatus, "good");
    assert.deepEqual(decoded.anomalies, []);
    const right = decoded.get("GRE")!.fields.checksum!;
    const bad = stack(ether(), ipv4(), gre({ checksum: right ^ 0xffff }), ipv4(), udp(), raw("x")).bytes();
    const flagged = decodePacket(bad, LinkType.ETHERNET);
    assert.equal(flagged.get("GRE")?.checksumStatus, "bad");
    assert.deepEqual(
      flagged.anomalies.map((a) => a.code),
      ["bad-checksum"],
    );
    assert.match(flagged.anomalies[0]!.message, new RegExp(`0x${right.toString(16).padStart(4, "0")}`));
    // Cut by the capture: unverified.
    const cut = decodePacket(good.subarray(0, good.length - 2), LinkType.ETHERNET, { wireLength: good.length });
    assert.equal(cut.get("GRE")?.checksumStatus, "unverified");
  });
});

describe("GRE headers qoelab does not walk into", () => {
  test("a header cut short, the routing bit (RFC 1701), an unknown version", () => {
    const full = stack(ether(), ipv4(), gre({ key: 7, sequence: 9 }), ipv4(), udp()).bytes();
    const cut = decodePacket(full.subarray(0, 14 + 20 + 6), LinkType.ETHERNET, { wireLength: full.length });
    assert.deepEqual(
      cut.layers.map((l) => l.type),
      ["Ether", "IPv4", "Raw"],
    );
    assert.equal(cut.get("Raw")?.fields.undecoded, "GRE");
    assert.ok(cut.anomalies.some((a) => a.code === "truncated"));
    const d = new Dissection();
    dissect(full, 0, 14 + 20 + 6, full.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TRUNCATED);

    const routed = stack(ether(), ipv4(), gre({ routingPresent: 1, protocol: 0x0800 }), raw("routing entries")).bytes();
    const r = decodePacket(routed, LinkType.ETHERNET);
    assert.equal(r.get("GRE")?.headerLength, 8, "checksum and offset are there with R");
    assert.equal(r.get("Raw")?.fields.undecoded, "GRE routing");
    dissect(routed, 0, routed.length, routed.length, LinkType.ETHERNET, d);
    assert.equal(d.anomalies, 0);
    assert.equal(d.tunnelDepth, 1);
    assert.equal(d.l4Offset, -1);

    const v2 = decodePacket(stack(ether(), ipv4(), gre({ version: 2, protocol: 0x0800 }), ipv4()).bytes(), 1);
    assert.deepEqual(
      v2.anomalies.map((a) => a.code),
      ["bad-version"],
    );
    assert.equal(v2.layers.at(-1)?.type, "Raw");
  });
});

describe("GRE nested without end", () => {
  test("GRE in IPv4 in GRE … filling a 64 KiB packet: too deep, not a stack overflow (both paths)", () => {
    const levels = Array.from({ length: 2700 }, () => [ipv4(), gre()]).flat();
    const bytes = stack(ether(), ...levels, udp()).bytes();
    assert.ok(bytes.length > 60_000);
    const decoded = decodePacket(bytes, LinkType.ETHERNET);
    assert.deepEqual(
      decoded.anomalies.map((a) => a.code),
      ["too-deep"],
    );
    assert.ok(decoded.layers.length < 100);
    assert.deepEqual(decoded.bytes(), bytes);
    const d = new Dissection();
    dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TOO_DEEP);
  });
});

describe("GRE builder, read back by tshark", () => {
  const packets = [
    stack(ether(), ipv4(), gre({ key: 0x1234, sequence: 77, checksumPresent: 1 }), ipv4({ ttl: 9 }), udp(), raw("a")),
    stack(ether(), ipv4(), gre({ version: 1, callId: 42, sequence: 5, ack: 4 }), hdlc(), ppp(), ipv4(), icmp()),
    stack(ether(), ipv4(), gre({ version: 1, callId: 42, ack: 6 })),
    stack(ether(), ipv4(), gre(), ether({ src: "02:00:00:00:00:0a" }), ipv4(), tcp({ dport: 8080 })),
    stack(ether(), ipv4(), gre({ protocol: 0x88be }), ether({ src: "02:00:00:00:00:0b" }), ipv4(), udp()),
    stack(ether(), ipv6(), gre({ sequence: 1 }), erspan({ sessionId: 3 }), ether(), ipv6(), udp({ dport: 53 })),
    parseLayerSpec("ether/ipv4/gre(key=0x99,sequence=3)/ipv4(src=10.9.9.9)/udp(dport=5000)"),
    stack(ether(), ipv4(), gre({ protocol: 0x883e, wccpRedirect: 0x05590048 }), ipv4(), tcp({ dport: 445 })),
    // PPP without the FF 03 framing (address-and-control-field compression, RFC 1661 §6.6).
    stack(ether(), ipv4(), gre({ version: 1, callId: 43, sequence: 6 }), ppp(), ipv4(), udp({ dport: 5060 })),
  ];

  const file = builtPacketsFile("gre", packets, LinkType.ETHERNET);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, [
      "frame.protocols",
      "gre.flags_and_version",
      "gre.proto",
      "gre.key",
      "gre.sequence_number",
      "gre.checksum.status",
      "gre.key.call_id",
      "gre.key.payload_length",
      "gre.ack_number",
      "gre.wccp.service_id",
    ]);
    assert.deepEqual(rows, [
      ["eth:ethertype:ip:gre:ip:udp:data", "0xb000", "0x0800", "0x00001234", "77", "1", "", "", "", ""],
      ["eth:ethertype:ip:gre:ppp:ip:icmp", "0x3081", "0x880b", "", "5", "", "42", "32", "4", ""],
      ["eth:ethertype:ip:gre", "0x2081", "0x880b", "", "", "", "42", "0", "6", ""],
      ["eth:ethertype:ip:gre:eth:ethertype:ip:tcp", "0x0000", "0x6558", "", "", "", "", "", "", ""],
      ["eth:ethertype:ip:gre:erspan:eth:ethertype:ip:udp", "0x0000", "0x88be", "", "", "", "", "", "", ""],
      ["eth:ethertype:ipv6:gre:erspan:eth:ethertype:ipv6:udp", "0x1000", "0x88be", "", "1", "", "", "", "", ""],
      ["eth:ethertype:ip:gre:ip:udp", "0x3000", "0x0800", "0x00000099", "3", "", "", "", "", ""],
      ["eth:ethertype:ip:gre:ip:tcp", "0x0000", "0x883e", "", "", "", "", "", "", "89"],
      ["eth:ethertype:ip:gre:ppp:ip:udp", "0x3001", "0x880b", "", "6", "", "43", "30", "", ""],
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const fast = new Dissection();
    const pptp = packets[1]!.bytes();
    dissect(pptp, 0, pptp.length, pptp.length, LinkType.ETHERNET, fast);
    assert.deepEqual([fast.tunnelDepth, fast.ipProto, fast.icmpType, fast.anomalies], [1, 1, 8, 0]);
  });

  test("show() and summary() name what GRE carries", () => {
    const packet = packets[0]!;
    assert.equal(
      packet.summary(),
      "Ether / IP 10.77.0.1 > 10.77.0.2 / GRE IPv4 key=0x00001234 seq=77 / IP 10.77.0.1 > 10.77.0.2 / UDP 5004 > 5004 len=1 / Raw 1 bytes",
    );
    const text = packet.show();
    assert.match(text, /^###\[ GRE \]### \(TCP\/IP: internet, OSI 3\)$/m);
    assert.match(text, /checksum\s+= 0x[0-9a-f]{4} {2}\(good\)/);
    assert.match(text, /protocol\s+= 0x0800 {2}\(IPv4\)/);
    assert.equal(packets[4]!.summary().split(" / ")[2], "GRE ERSPAN type I");
  });
});
