import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { erspan, ether, gre, icmp, ipv4, raw, stack, udp, vlan } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { writePackets } from "../test-support/write-packets.ts";

/**
 * ERSPAN in GRE against tshark on real captures: type I (GRE 0x88BE without the sequence bit, no
 * ERSPAN header), type II (0x88BE) and type III (0x22EB, with and without an Ethernet frame type),
 * the mirrored Ethernet frame and what it carries; the builder's type II and III read by tshark.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps/odd");
const FIELDS = COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."));
const TYPE_I = [
  "suricata-verify/erspan-typeI.pcap",
  "tcpdump-tests/erspan-type-i-1.pcap",
  "tcpdump-tests/erspan-type-i-2.pcap",
  "tcpdump-tests/erspan-type-i-3.pcap",
  "tcpdump-tests/erspan-type-i-4.pcap",
];
const TYPE_II = [
  "suricata-verify/erspan-typeII.pcap",
  "tcpdump-tests/erspan-type-ii-1.pcap",
  "tcpdump-tests/erspan-type-ii-2.pcap",
  "tcpdump-tests/erspan-type-ii-3.pcap",
];
const TYPE_III = ["tcpdump-tests/erspan-type-iii-ft-0.pcap", "tcpdump-tests/erspan-type-iii-ft-7.pcap"];
/** One type III packet cut inside its platform subheader (in IPv6 with a destination option). */
const TYPE_III_CUT = "tcpdump-tests/erspan-type-iii-pb-1.pcap";

describe("ERSPAN on real captures, against tshark", () => {
  for (const name of [...TYPE_I, ...TYPE_II, ...TYPE_III]) {
    test(`${name}: every comparable field (ERSPAN's, the mirrored frame's) equals tshark's, and re-encodes`, () => {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared > 15, `${result.compared} values compared`);
      const packets = decodeCaptureFile(file);
      for (const { packet, bytes } of packets) assert.deepEqual(packet.bytes(), bytes, packet.summary());
      const type = TYPE_I.includes(name) ? "I" : TYPE_II.includes(name) ? "II" : "III";
      const withErspan = packets.filter((p) => p.packet.has("ERSPAN")).length;
      if (type === "I") {
        assert.equal(withErspan, 0, "type I has no ERSPAN header");
        assert.ok(
          packets.some((p) => p.packet.get("GRE")?.fields.protocol === 0x88be && p.packet.getAll("Ether").length === 2),
        );
      } else assert.ok(withErspan > 0);
    });
  }

  test("the values tshark shows for one packet of each type", () => {
    // tshark -T fields -e erspan.version -e erspan.vlan -e erspan.cos -e erspan.spanid -e erspan.index
    //   (type II) / -e erspan.timestamp -e erspan.bso -e erspan.ft -e erspan.hw -e erspan.gra (type III)
    const first = (name: string) => decodeCaptureFile(join(REALCAPS, name))[0]!.packet;
    const two = first("tcpdump-tests/erspan-type-ii-2.pcap");
    assert.deepEqual(two.get("ERSPAN")?.fields, {
      version: 1,
      vlan: 101,
      cos: 6,
      encap: 0,
      truncated: 0,
      sessionId: 1,
      reserved: 0,
      index: 540773,
    });
    assert.equal(two.get("GRE")?.fields.sequence, 1086760);
    assert.equal(
      two.summary(),
      "Ether / IP 192.168.195.67 > 192.168.195.196 / GRE ERSPAN seq=1086760 / ERSPAN II session=1 vlan=101 / Ether / IP 10.200.101.2 > 224.0.0.2 / UDP 1985 > 1985 len=20 / Raw 20 bytes",
    );
    const three = first("tcpdump-tests/erspan-type-iii-ft-0.pcap").get("ERSPAN")!.fields;
    assert.deepEqual(
      [three.version, three.vlan, three.sessionId, three.timestamp, three.gra, three.ft, three.hwId, three.o],
      [2, 20, 0, 2740542463, 3, 0, 0, 0],
    );
    const seven = first("tcpdump-tests/erspan-type-iii-ft-7.pcap");
    const f7 = seven.get("ERSPAN")!.fields;
    assert.deepEqual([f7.encap, f7.sessionId, f7.ft, f7.hwId], [3, 101, 7, 32]);
    assert.equal(seven.layers.at(-1)?.type, "Raw", "frame type 7 is not decoded (tshark: data)");
  });

  test(`${TYPE_III_CUT}: a type III header cut in its subheader is undecoded, GRE's fields are tshark's`, () => {
    const file = join(REALCAPS, TYPE_III_CUT);
    const result = compareWithTshark(
      file,
      FIELDS.filter((f) => f.startsWith("gre.") || f.startsWith("ipv6.")),
    );
    assert.deepEqual(result.mismatches, []);
    const { packet, bytes } = decodeCaptureFile(file)[0]!;
    assert.equal(packet.get("Raw")?.fields.undecoded, "ERSPAN");
    assert.ok(packet.anomalies.some((a) => a.code === "truncated"));
    assert.deepEqual(packet.bytes(), bytes);
  });

  test("fast path: the mirrored frame's addresses and ports, as tshark's innermost", () => {
    const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    const last = (cell: string) => cell.split(",").at(-1) ?? "";
    let tunnelled = 0;
    for (const name of [...TYPE_I, ...TYPE_II, ...TYPE_III]) {
      const file = join(REALCAPS, name);
      const rows = tsharkFields(file, ["ip.src", "udp.srcport", "udp.dstport", "vlan.id", "erspan.ft"]);
      const d = new Dissection();
      let i = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        const [src, sport, dport, vlanId, ft] = rows[i++]!;
        if (d.ipVersion === 4) assert.equal(ipv4Text(d.src4), last(src!), `${name} #${i}`);
        assert.equal(d.srcPort === 0 ? "" : String(d.srcPort), sport, `${name} #${i}`);
        assert.equal(d.dstPort === 0 ? "" : String(d.dstPort), dport, `${name} #${i}`);
        assert.equal(d.anomalies, 0, `${name} #${i}`);
        if (vlanId !== "") assert.equal(String(d.vlanInner), last(vlanId!), `${name} #${i}`);
        if (ft === "7") assert.equal(d.etherType, 0, "frame type 7: the walk stops");
        if (d.tunnelDepth > 0) tunnelled++;
      });
    }
    assert.ok(tunnelled > 300, `${tunnelled} packets walked into`);
    const cut = readFileSync(join(REALCAPS, TYPE_III_CUT));
    const d = new Dissection();
    readCaptureBytes(new Uint8Array(cut), (r) => dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d));
    assert.ok(d.anomalies & Anomaly.TRUNCATED);
  });
});

describe("ERSPAN builder, read back by tshark", () => {
  test("type II and type III (with a platform subheader) carry what tshark decodes, with the values set", async () => {
    const subheader = Uint8Array.of(0x0c, 0, 0, 0, 0, 0, 0x12, 0x34); // platform id 3
    const packets = [
      stack(
        ether(),
        ipv4(),
        gre(), // the sequence bit is set for type II
        erspan({ vlan: 100, cos: 5, encap: 2, sessionId: 513, index: 0xabcde }),
        ether(),
        vlan({ vlan: 100 }),
        ipv4({ src: "10.1.1.1" }),
        udp({ sport: 1234, dport: 5678 }),
        raw("mirrored"),
      ),
      stack(
        ether(),
        ipv4(),
        gre({ sequence: 9 }),
        erspan({
          version: 2,
          vlan: 7,
          sessionId: 1023,
          timestamp: 0x01020304,
          sgt: 0x4242,
          hwId: 21,
          direction: 1,
          gra: 2,
          subheader,
        }),
        ether(),
        ipv4({ src: "10.2.2.2" }),
        icmp(),
      ),
      parseLayerSpec("ether/ipv4/gre/erspan(version=2,sessionId=5,ft=2)/raw(hex=00112233)"),
    ];
    const dir = mkdtempSync(join(tmpdir(), `qoelab-erspan-${process.pid}-`));
    try {
      const file = join(dir, "erspan.pcap");
      await writePackets(file, packets, LinkType.ETHERNET);
      const rows = tsharkFields(file, [
        "frame.protocols",
        "gre.flags_and_version",
        "erspan.version",
        "erspan.vlan",
        "erspan.cos",
        "erspan.encap",
        "erspan.spanid",
        "erspan.index",
        "erspan.timestamp",
        "erspan.sgt",
        "erspan.hw",
        "erspan.direction",
        "erspan.gra",
        "erspan.o",
        "erspan.ft",
        "erspan.platid",
        "ip.src",
      ]);
      assert.deepEqual(rows, [
        [
          "eth:ethertype:ip:gre:erspan:eth:ethertype:vlan:ethertype:ip:udp:data",
          "0x1000",
          "1",
          "100",
          "5",
          "2",
          "513",
          "703710",
          "",
          "",
          "",
          "",
          "",
          "",
          "",
          "",
          "10.77.0.1,10.1.1.1",
        ],
        [
          "eth:ethertype:ip:gre:erspan:eth:ethertype:ip:icmp",
          "0x1000",
          "2",
          "7",
          "0",
          "",
          "1023",
          "",
          "16909060",
          "16962",
          "21",
          "1",
          "2",
          "1",
          "0",
          "3",
          "10.77.0.1,10.2.2.2",
        ],
        [
          "eth:ethertype:ip:gre:erspan:data",
          "0x0000",
          "2",
          "0",
          "0",
          "",
          "5",
          "",
          "0",
          "0",
          "0",
          "0",
          "0",
          "0",
          "2",
          "",
          "10.77.0.1",
        ],
      ]);
      assertBuiltPacketsAsTshark(file, packets, FIELDS);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("show() labels the type III fields", () => {
    const text = decodePacket(
      stack(ether(), ipv4(), gre(), erspan({ version: 2, gra: 1, ft: 0 }), ether(), ipv4()).bytes(),
      LinkType.ETHERNET,
    ).show();
    assert.match(text, /^###\[ ERSPAN \]### \(TCP\/IP: link, OSI 2\)$/m);
    assert.match(text, /version\s+= 2 {2}\(type III\)/);
    assert.match(text, /gra\s+= 1 {2}\(100 nanoseconds\)/);
  });
});
