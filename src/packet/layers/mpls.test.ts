import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, gre, hdlc, icmp, ipv4, ipv6, mpls, ppp, raw, stack, tcp, udp, vlan } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { createCaptureWriter } from "../capture-writer.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";

/**
 * MPLS label stacks (RFC 3032) against tshark on real captures: over Ethernet (with VLAN tags
 * before) and over PPP links (protocol 0x0281), one layer per label stack entry, the payload
 * guessed by its first nibble as tshark guesses it; the fast path reads the stack to the IP inside.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const MPLS_FIELDS = COMPARABLE_FIELDS.filter((f) => f.startsWith("mpls."));
/** Captures whose every packet qoelab decodes as far as tshark does. */
const WHOLE = [
  "tcpdump-tests/mpls-traceroute.pcap", // PPP link, ICMP time-exceeded quoting the probe
  "tcpdump-tests/lspping-fec-ldp.pcap", // PPP link: LSP ping (UDP 3503), BGP
  "tcpdump-tests/lspping-fec-rsvp.pcap",
  "tcpdump-tests/wb-oobr.pcap",
  "tcpdump-tests/tok2str-oobr-2.pcap", // Ethernet
  "tcpdump-tests/mpls-label-heapoverflow.pcap", // two labels, nothing after
];
/** Packet 1: VLAN in VLAN, one label, IPv4; packet 2: a pseudowire (control word, Ethernet): not decoded. */
const MPLS_PACKETS = "pcapplusplus/packet-examples/MplsPackets.pcap";

function stackOf(packet: Packet): string {
  return packet.layers.map((l) => (l.type === "MPLS" ? `MPLS(${l.fields.label})` : l.type)).join("/");
}

describe("MPLS on real captures, against tshark", () => {
  for (const name of WHOLE) {
    test(`${name}: every comparable field (labels, TC, bottom, TTL, the IP inside) equals tshark's`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 3, `${result.compared} values compared`);
      const packets = decodeCaptureFile(file);
      assert.ok(packets.some((p) => p.packet.has("MPLS")));
      for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
    });
  }

  test(`${MPLS_PACKETS}: the label stacks equal tshark's; the IPv4 packet behind two VLAN tags too`, () => {
    const file = join(REALCAPS, MPLS_PACKETS);
    const labels = compareWithTshark(file, MPLS_FIELDS);
    assert.deepEqual(labels.mismatches, []);
    assert.equal(labels.compared, 2 * (4 + 1), "4 MPLS fields and the frame number of 2 packets");
    const [first, second] = decodeCaptureFile(file);
    assert.equal(stackOf(first!.packet), "Ether/Dot1Q/Dot1Q/MPLS(16000)/IPv4/TCP/Raw");
    // tshark: mpls:pwethheuristic:pwethcw:eth — a pseudowire qoelab leaves Raw (first nibble 0).
    assert.equal(stackOf(second!.packet), "Ether/MPLS(18)/MPLS(16)/Raw");
    const rows = tsharkFields(file, ["mpls.label", "mpls.bottom", "mpls.ttl", "ip.src"]);
    // tshark -e mpls.label -e mpls.bottom -e mpls.ttl -e ip.src
    assert.deepEqual(rows[0], ["16000", "1", "126", "2.3.4.6"]);
    assert.deepEqual(rows[1], ["18,16", "0,1", "254,255", "192.168.1.2"]);
    assert.equal(first!.packet.get("IPv4")?.fields.src, rows[0]![3]);
    for (const { packet, bytes } of [first!, second!]) assert.deepEqual(packet.bytes(), bytes);
  });

  test("mpls-traceroute.pcap: PPP link, label 100704, the TTL counting up as traceroute sends", () => {
    const packets = decodeCaptureFile(join(REALCAPS, "tcpdump-tests/mpls-traceroute.pcap")).map((p) => p.packet);
    const probes = packets.filter((p) => p.has("MPLS"));
    assert.equal(probes.length, 9);
    assert.deepEqual(
      probes.map((p) => p.get("MPLS")!.fields.ttl),
      [1, 1, 1, 2, 2, 2, 3, 3, 3],
    );
    assert.equal(stackOf(probes[0]!), "HDLC/PPP/MPLS(100704)/IPv4/UDP/Raw");
    assert.equal(probes[0]!.get("PPP")?.fields.protocol, 0x0281);
  });

  test("fast path: the IP and ports inside the stack are tshark's", () => {
    for (const name of ["tcpdump-tests/lspping-fec-ldp.pcap", "tcpdump-tests/lspping-fec-rsvp.pcap", MPLS_PACKETS]) {
      const file = join(REALCAPS, name);
      const rows = tsharkFields(file, ["ip.src", "udp.srcport", "tcp.srcport", "udp.dstport", "tcp.dstport"]);
      const d = new Dissection();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const [src, usport, tsport, udport, tdport] = rows[i++]!;
        if (name === MPLS_PACKETS && i === 2) {
          assert.equal(d.ipVersion, 0, "the pseudowire is not walked");
          return;
        }
        const ip = [d.src4 >>> 24, (d.src4 >>> 16) & 255, (d.src4 >>> 8) & 255, d.src4 & 255].join(".");
        assert.equal(ip, src!.split(",")[0], `${name} #${i}`);
        assert.equal(String(d.srcPort), usport || tsport, `${name} #${i}`);
        assert.equal(String(d.dstPort), udport || tdport, `${name} #${i}`);
        assert.equal(d.anomalies, 0, `${name} #${i}`);
      });
    }
  });
});

describe("MPLS builder and malformed stacks", () => {
  test("labels over Ethernet, PPP and GRE: S filled, the EtherType / PPP protocol / GRE type set, read back by tshark", async () => {
    const packets: [Packet, number][] = [
      [
        stack(ether(), mpls({ label: 100, tc: 3 }), mpls({ label: 200, ttl: 7 }), ipv4(), udp({ dport: 9 })),
        LinkType.ETHERNET,
      ],
      [stack(ether(), vlan({ vlan: 5 }), mpls({ label: 2 }), ipv6(), tcp({ flags: "S" })), LinkType.ETHERNET],
      [stack(ether(), ipv4(), gre(), mpls({ label: 1000 }), ipv4({ src: "10.3.3.3" }), icmp()), LinkType.ETHERNET],
      [parseLayerSpec("ether/mpls(label=16,s=0)/mpls(label=17,tc=7,ttl=1)/ipv4/udp"), LinkType.ETHERNET],
      [stack(hdlc(), ppp(), mpls({ label: 300 }), ipv4(), udp({ dport: 3503 }), raw("x")), LinkType.PPP],
    ];
    const dir = mkdtempSync(join(tmpdir(), `qoelab-mpls-${process.pid}-`));
    try {
      const rows: string[][] = [];
      for (const [i, [packet, linkType]] of packets.entries()) {
        const file = join(dir, `mpls-${i}.pcap`);
        const writer = createCaptureWriter(file, { format: "pcap", linkType });
        writer.writePacket({ bytes: packet.bytes(), tsSec: 1_700_000_000, tsNsec: 0 });
        await writer.close();
        rows.push(
          ...tsharkFields(file, ["frame.protocols", "mpls.label", "mpls.exp", "mpls.bottom", "mpls.ttl", "eth.type"]),
        );
        const result = compareWithTshark(file, FIELDS);
        assert.deepEqual(result.mismatches.slice(0, 10), [], `packet ${i + 1}`);
        for (const { packet: decoded, bytes } of decodeCaptureFile(file)) assert.deepEqual(decoded.bytes(), bytes);
      }
      assert.deepEqual(rows, [
        ["eth:ethertype:mpls:ip:udp", "100,200", "3,0", "0,1", "64,7", "0x8847"],
        ["eth:ethertype:vlan:ethertype:mpls:ipv6:tcp", "2", "0", "1", "64", "0x8100"],
        ["eth:ethertype:ip:gre:mpls:ip:icmp", "1000", "0", "1", "64", "0x0800"],
        ["eth:ethertype:mpls:ip:udp", "16,17", "0,7", "0,1", "64,1", "0x8847"],
        ["ppp:mpls:ip:udp:data", "300", "0", "1", "64", ""],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const inGre = packets[2]![0].bytes();
    const d = new Dissection();
    dissect(inGre, 0, inGre.length, inGre.length, LinkType.ETHERNET, d);
    assert.deepEqual([d.tunnelDepth, d.ipVersion, d.src4, d.icmpType, d.anomalies], [1, 4, 0x0a030303, 8, 0]);
  });

  test("the payload by its first nibble: IPv6, else Raw (the walk stops)", () => {
    const six = decodePacket(stack(ether(), mpls(), ipv6(), udp()).bytes(), LinkType.ETHERNET);
    assert.equal(stackOf(six), "Ether/MPLS(16)/IPv6/UDP");
    const other = stack(ether(), mpls({ label: 99 }), raw({ hex: "0000000102030405" })).bytes();
    assert.equal(stackOf(decodePacket(other, LinkType.ETHERNET)), "Ether/MPLS(99)/Raw");
    const d = new Dissection();
    dissect(other, 0, other.length, other.length, LinkType.ETHERNET, d);
    assert.deepEqual([d.etherType, d.ipVersion, d.anomalies], [0, 0, 0]);
  });

  test("more than 8 entries are too deep; a stack cut by the capture is truncated", () => {
    const nine = stack(
      ether(),
      ...Array.from({ length: 9 }, (_, i) => mpls({ label: 100 + i })),
      ipv4(),
      udp(),
    ).bytes();
    const decoded = decodePacket(nine, LinkType.ETHERNET);
    assert.equal(decoded.getAll("MPLS").length, 8);
    assert.deepEqual(
      decoded.anomalies.map((a) => a.code),
      ["too-deep"],
    );
    assert.deepEqual(decoded.bytes(), nine);
    const d = new Dissection();
    dissect(nine, 0, nine.length, nine.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TOO_DEEP);
    const two = stack(ether(), mpls(), mpls(), ipv4()).bytes();
    dissect(two, 0, 16, two.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TRUNCATED, "cut in the second entry");
    dissect(two, 0, 22, two.length, LinkType.ETHERNET, d);
    assert.ok(d.anomalies & Anomaly.TRUNCATED, "cut at the bottom of the stack");
    const cut = decodePacket(two.subarray(0, 22), LinkType.ETHERNET, { wireLength: two.length });
    assert.equal(cut.get("Raw")?.fields.undecoded, "MPLS payload");
  });
});
