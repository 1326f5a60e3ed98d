import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, gtpu, icmp, icmpv6, ipv4, ipv6, raw, stack, tcp, udp } from "../builder.ts";
import { Anomaly, Dissection, dissect, dissectTunnelled } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertTunnelFastPathAgrees, assertTunnelHeaderCut } from "../test-support/tunnel-fast-path.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";

/**
 * GTPv1-U (3GPP TS 29.281, UDP 2152) against tshark on real captures: the header with its
 * optional word and extension headers (PDCP PDU number), and every field of the user packets
 * inside (IPv4 ICMP and TCP, IPv6 DNS), byte-exact re-encoding, the fast path into the tunnel, the
 * builder read back by tshark (G-PDU, echo, end marker), and malformed headers. GTP-C (UDP 2123)
 * is signalling, not a tunnel: it stays Raw.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const GTP_U = "pcapplusplus/packet-examples/gtp-u.pcap"; // 102 G-PDUs, ICMP in IPv4
const GTP = "pcapplusplus/packet-examples/gtp.pcap"; // GTP-C first, then G-PDUs with extension headers
const GTPV2 = "pcapplusplus/packet-examples/gtpv2.pcap"; // GTPv2-C on 2123

const short = (bytes: Uint8Array, length: number) => bytes.subarray(0, length);

describe("GTP-U on real captures, against tshark", () => {
  test(`${GTP_U}: every comparable field (GTP-U's, the packet's inside) equals tshark's, and re-encodes`, () => {
    const file = join(REALCAPS, GTP_U);
    const result = compareWithTshark(file, FIELDS);
    assert.deepEqual(result.mismatches.slice(0, 10), []);
    assert.ok(result.compared > 3000, `${result.compared} values compared`);
    const packets = decodeCaptureFile(file);
    for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
    assert.equal(packets.filter((p) => p.packet.has("GTPU")).length, 102);
  });

  test(`${GTP}: every field but the GTP-C message's (UDP 2123, not a tunnel), and re-encodes`, () => {
    const file = join(REALCAPS, GTP);
    const result = compareWithTshark(file, FIELDS);
    // tshark decodes GTP-C's header (and its IEs) with the same gtp.* names; qoelab leaves it Raw.
    assert.deepEqual(
      result.mismatches.map((m) => m.split(":")[0]),
      ["#1 gtp.flags", "#1 gtp.message", "#1 gtp.length", "#1 gtp.teid", "#1 gtp.seq_number"],
    );
    assert.ok(result.compared > 200, `${result.compared} values compared`);
    const packets = decodeCaptureFile(file);
    for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
    assert.deepEqual(
      packets[0]!.packet.layers.map((l) => l.type),
      ["Ether", "IPv4", "UDP", "Raw"],
    );
  });

  test(`${GTPV2}: GTPv2-C on 2123 is not a tunnel; the outer fields are tshark's`, () => {
    const file = join(REALCAPS, GTPV2);
    assert.deepEqual(compareWithTshark(file, FIELDS).mismatches, []);
    assert.ok(decodeCaptureFile(file).every((p) => !p.packet.has("GTPU") && p.packet.layers.at(-1)?.type === "Raw"));
  });

  test("the values tshark shows: flags, TEID, sequence, N-PDU number and the extension header chain", () => {
    // tshark -T fields -e gtp.flags -e gtp.length -e gtp.teid -e gtp.seq_number -e gtp.npdu_number
    //   -e gtp.ext_hdr.next -e gtp.ext_hdr.length -e gtp.ext_hdr.pdcp_sn:
    //   #2: 0x36 1508 0x00100657 0x0005 - 0xc0,0x00 1 2308; #7: 0x37 504 0x00002710 0x4e20 0x64 0xc0,0x00 1
    const packets = decodeCaptureFile(join(REALCAPS, GTP)).map((p) => p.packet);
    const two = packets[1]!.get("GTPU")!.fields;
    assert.deepEqual(two, {
      version: 1,
      protocolType: 1,
      reserved: 0,
      e: 1,
      s: 1,
      pn: 0,
      messageType: 255,
      length: 1508,
      teid: 0x00100657,
      sequence: 5,
      npdu: 0,
      nextExtensionType: 0xc0,
      extensions: [{ type: 0xc0, length: 1, content: Uint8Array.of(0x09, 0x04) }], // PDCP SN 2308
    });
    assert.equal(packets[1]!.get("GTPU")?.headerLength, 16);
    const seven = packets[6]!;
    assert.deepEqual(
      [seven.get("GTPU")?.fields.npdu, seven.get("GTPU")?.fields.sequence, seven.get("GTPU")?.fields.teid],
      [0x64, 0x4e20, 0x2710],
    );
    assert.equal(
      seven.summary(),
      "Ether / IP 5.233.130.55 > 5.233.130.56 / UDP 2152 > 1024 len=512 / GTP-U G-PDU teid=0x00002710 seq=20000 / IPv6 2001:507:0:1:200:8600:0:2 > 2001:507:0:1:200:8600:0:1 / UDP 53 > 2396 len=448 / Raw 448 bytes",
    );
    assert.match(packets[1]!.show(), /extensions\[0\]\s+= 0xc0 {2}\(PDCP PDU number, 4 bytes: 0904\)/);
  });

  test("fast path: into the tunnel, the inner addresses and ports the slow decode finds", () => {
    let tunnelled = 0;
    for (const name of [GTP_U, GTP, GTPV2]) tunnelled += assertTunnelFastPathAgrees(join(REALCAPS, name));
    assert.equal(tunnelled, 102 + 6);
  });
});

describe("GTP-U headers malformed or cut short", () => {
  // No UDP checksum (0 over IPv4), so a byte changed below is the only fault.
  const full = stack(
    ether(),
    ipv4(),
    udp({ checksum: 0 }),
    gtpu({ sequence: 1, extensions: [{ type: 0x85, content: Uint8Array.of(0x10, 0x09) }] }),
    ipv4(),
    icmp(),
  ).bytes();

  test("the header, its optional word or an extension header cut by the snaplen: truncated in both paths", () => {
    assertTunnelHeaderCut(full, [45, 50, 52, 55, 57], "GTPU");
  });

  test("a G-PDU cut right after its header: the user packet is flagged missing", () => {
    const cut = short(full, 58);
    const packet = decodePacket(cut, LinkType.ETHERNET, { wireLength: full.length });
    assert.equal(packet.get("GTPU")?.fields.teid, 1);
    assert.equal(packet.get("Raw")?.fields.undecoded, "GTP-U payload");
    assert.deepEqual(
      packet.anomalies.map((a) => a.code),
      ["truncated"],
    );
    assert.deepEqual(packet.bytes(), cut);
    const outer = new Dissection();
    dissect(cut, 0, cut.length, full.length, LinkType.ETHERNET, outer);
    const inner = new Dissection();
    assert.ok(dissectTunnelled(cut, outer, inner));
    assert.equal(inner.anomalies, Anomaly.TRUNCATED);
  });

  test("an extension header of length 0, another GTP version: undecoded (bad-length, bad-version)", () => {
    const zero = full.slice();
    zero[54] = 0; // the extension header's length
    const d = assertUndecodedHeader(zero, LinkType.ETHERNET, { layer: "GTPU", code: "bad-length", bit: 0 });
    const inner = new Dissection();
    assert.ok(dissectTunnelled(zero, d, inner));
    assert.equal(inner.anomalies, Anomaly.BAD_LENGTH);

    const v2 = stack(ether(), ipv4(), udp(), gtpu({ version: 2 }), raw("0123456789")).bytes();
    const outer = assertUndecodedHeader(v2, LinkType.ETHERNET, { layer: "GTPU", code: "bad-version", bit: 0 });
    assert.ok(dissectTunnelled(v2, outer, inner));
    assert.deepEqual([inner.anomalies, inner.etherType, inner.l3Offset], [0, 0, -1]);
  });

  test("a length past the datagram is bad-length; a shorter one ends the user packet (tshark: malformed IP)", () => {
    const long = decodePacket(stack(ether(), ipv4(), udp(), gtpu({ length: 200 }), ipv4(), icmp()).bytes(), 1);
    assert.deepEqual(
      long.anomalies.map((a) => a.code),
      ["bad-length"],
    );
    assert.ok(long.has("ICMP"));
    const shortLength = stack(ether(), ipv4(), udp(), gtpu({ length: 10 }), ipv4(), icmp(), raw("abcdefgh")).bytes();
    const packet = decodePacket(shortLength, LinkType.ETHERNET);
    assert.deepEqual(
      packet.layers.map((l) => [l.type, l.headerLength]),
      [
        ["Ether", 14],
        ["IPv4", 20],
        ["UDP", 8],
        ["GTPU", 8],
        ["Raw", 10],
        ["Padding", 26],
      ],
    );
    assert.equal(packet.get("Raw")?.fields.undecoded, "IPv4");
    assert.deepEqual(
      packet.anomalies.map((a) => a.code),
      ["truncated", "trailing-bytes"],
    );
    assert.deepEqual(packet.bytes(), shortLength);
  });
});

describe("GTP-U builder, read back by tshark", () => {
  const packets = [
    // Defaults: UDP to 2152, a G-PDU on TEID 1, no optional word, the length computed.
    stack(ether(), ipv4(), udp(), gtpu(), ipv4({ src: "10.45.0.2" }), icmp()),
    // Sequence and N-PDU number (S, PN and the optional word), IPv6 inside.
    stack(ether(), ipv6(), udp({ sport: 2152 }), gtpu({ teid: 0xdeadbeef, sequence: 7, npdu: 9 }), ipv6(), icmpv6()),
    // An extension header chain: PDU session container (QFI 9), then PDCP PDU number 2308.
    stack(
      ether(),
      ipv4(),
      udp(),
      gtpu({
        teid: 0x1001,
        extensions: [
          { type: 0x85, content: Uint8Array.of(0x10, 0x09) },
          { type: 0xc0, content: Uint8Array.of(0x09, 0x04) },
        ],
      }),
      ipv4(),
      tcp({ dport: 443 }),
    ),
    // Echo request (TEID 0, sequence set) and response with the recovery IE; an end marker.
    stack(ether(), ipv4(), udp(), gtpu({ messageType: 1, teid: 0, sequence: 5 })),
    stack(ether(), ipv4(), udp(), gtpu({ messageType: 2, teid: 0, sequence: 5 }), raw({ hex: "0e00" })),
    stack(ether(), ipv4(), udp(), gtpu({ messageType: 254, teid: 0x2002 })),
    parseLayerSpec("ether/ipv4/udp/gtpu(teid=0x1234,npdu=3,extensions=0xc0:0904)/ipv4(src=10.9.9.9)/udp(dport=53)"),
  ];
  const file = builtPacketsFile("gtpu", packets, LinkType.ETHERNET);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(file, [
      "frame.protocols",
      "udp.dstport",
      "gtp.flags",
      "gtp.message",
      "gtp.length",
      "gtp.teid",
      "gtp.seq_number",
      "gtp.npdu_number",
      "gtp.ext_hdr.next",
      "gtp.ext_hdr.pdu_ses_con.qos_flow_id",
      "gtp.ext_hdr.pdcp_sn",
      "gtp.recovery",
    ]);
    assert.deepEqual(rows, [
      ["eth:ethertype:ip:udp:gtp:ip:icmp", "2152", "0x30", "0xff", "28", "0x00000001", "", "", "", "", "", ""],
      [
        "eth:ethertype:ipv6:udp:gtp:ipv6:icmpv6",
        "2152",
        "0x33",
        "0xff",
        "52",
        "0xdeadbeef",
        "0x0007",
        "0x09",
        "",
        "",
        "",
        "",
      ],
      [
        "eth:ethertype:ip:udp:gtp:ip:tcp",
        "2152",
        "0x34",
        "0xff",
        "52",
        "0x00001001",
        "",
        "",
        "0x85,0xc0,0x00",
        "9",
        "2308",
        "",
      ],
      ["eth:ethertype:ip:udp:gtp", "2152", "0x32", "0x01", "4", "0x00000000", "0x0005", "", "", "", "", ""],
      ["eth:ethertype:ip:udp:gtp", "2152", "0x32", "0x02", "6", "0x00000000", "0x0005", "", "", "", "", "0"],
      ["eth:ethertype:ip:udp:gtp", "2152", "0x30", "0xfe", "0", "0x00002002", "", "", "", "", "", ""],
      [
        "eth:ethertype:ip:udp:gtp:ip:udp",
        "2152,53",
        "0x35",
        "0xff",
        "36",
        "0x00001234",
        "",
        "0x03",
        "0xc0,0x00",
      ].concat(["", "2308", ""]),
    ]);
  });

  test("every comparable field equals tshark's, and decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    for (const p of packets) assert.deepEqual(decodePacket(p.bytes(), LinkType.ETHERNET).anomalies, []);
  });

  test("show() and summary() name the message", () => {
    assert.equal(packets[0]!.summary().split(" / ")[3], "GTP-U G-PDU teid=0x00000001");
    assert.equal(
      packets[4]!.summary().split(" / ").slice(3).join(" / "),
      "GTP-U echo response teid=0x00000000 seq=5 / Raw 2 bytes",
    );
    const text = packets[2]!.show();
    assert.match(text, /^###\[ GTP-U \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /messageType\s+= 255 {2}\(G-PDU\)/);
    assert.match(text, /extensions\[0\]\s+= 0x85 {2}\(PDU session container, 4 bytes: 1009\)/);
    assert.match(text, /dport\s+= 2152/);
  });
});
