import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { dot11, ipv4, ipv6, llc, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { compileFilter } from "../filter-compile.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS, WIRELESS_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { Dot11Flag, dot11Addresses, dot11Shape } from "./ieee80211.ts";

/**
 * IEEE 802.11 (LINKTYPE_IEEE802_11) against tshark: the plain 802.11 captures of realcaps and
 * crafted frames (QoS data with LLC/SNAP → IPv4 → TCP, four addresses, a beacon, a protected
 * frame, null data), every wlan.*, llc.* and inner field; the fast path's ports; truncation.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const PLAIN_FILES = [
  "odd/libpcap-tests/Network_Join_Nokia_Mobile.pcap",
  "odd/tcpdump-tests/ieee802.11_parse_elements_oobr.pcap",
  "odd/tcpdump-tests/ieee802.11_tim_ie_oobr.pcap",
];
/** Every field compared: wireless ones and those of the packets inside (not SIP/SDP). */
const FIELDS = [
  ...WIRELESS_FIELDS.filter((f) => f !== "radiotap.datarate"),
  ...COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp.")),
];

/** Packets `tcpdump -r FILE EXPRESSION` keeps. */
export function tcpdumpCount(file: string, expression: string): number {
  const result = spawnSync("tcpdump", ["-r", file, "-n", "-q", expression], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`tcpdump failed: ${result.stderr}`);
  return result.stdout.split("\n").filter((line) => line !== "").length;
}

describe("802.11 frame layout", () => {
  test("the header's fields by type, subtype and the ToDS/FromDS/order flags", () => {
    assert.equal(dot11Shape(0, 8, 0).size, 24, "beacon");
    assert.equal(dot11Shape(0, 8, Dot11Flag.ORDER).size, 28, "management +HTC");
    assert.equal(dot11Shape(1, 13, 0).size, 10, "ACK");
    assert.equal(dot11Shape(1, 11, 0).size, 16, "RTS");
    assert.equal(dot11Shape(2, 0, 0).size, 24, "data");
    assert.equal(dot11Shape(2, 8, 0).size, 26, "QoS data");
    assert.equal(dot11Shape(2, 8, Dot11Flag.ORDER).size, 30, "QoS data +HTC");
    assert.equal(dot11Shape(2, 8, 3).size, 32, "QoS data, four addresses");
    assert.equal(dot11Shape(2, 0, 3 | Dot11Flag.ORDER).size, 30, "non-QoS data: the order flag adds nothing");
    const f = { type: 2, subtype: 0, duration: 0, addr1: "a", addr2: "b", addr3: "c", addr4: "d" };
    assert.deepEqual(dot11Addresses({ ...f, flags: 1 }), { ra: "a", ta: "b", da: "c", sa: "b", bssid: "a" });
    assert.deepEqual(dot11Addresses({ ...f, flags: 2 }), { ra: "a", ta: "b", da: "a", sa: "c", bssid: "b" });
    assert.deepEqual(dot11Addresses({ ...f, flags: 3 }), { ra: "a", ta: "b", da: "c", sa: "d" });
  });
});

describe("802.11 on real captures, against tshark", () => {
  test("every wlan.* field equals tshark's where the header is whole; every frame re-encodes", () => {
    for (const name of PLAIN_FILES) {
      const file = join(REALCAPS, name);
      const result = compareWithTshark(file, FIELDS);
      // tshark shows the fields of a header cut short; qoelab keeps it as Raw with a "truncated" anomaly.
      const cut = new Set(
        decodeCaptureFile(file)
          .map((p, i) => (p.packet.get("Raw")?.fields.undecoded === "802.11" ? `#${i + 1} ` : ""))
          .filter((x) => x !== ""),
      );
      assert.deepEqual(
        result.mismatches.filter((m) => ![...cut].some((c) => m.startsWith(c))),
        [],
        name,
      );
      for (const { packet, bytes } of decodeCaptureFile(file)) assert.deepEqual(packet.bytes(), bytes, name);
    }
  });
});

describe("crafted 802.11 frames, read back by tshark", () => {
  const packets = [
    // QoS data to the AP: LLC/SNAP, IPv4, TCP.
    stack(
      dot11({ duration: 44, sequence: 1234, qos: 5 }),
      llc(),
      ipv4({ src: "10.0.0.2", dst: "93.184.216.34" }),
      tcp({ sport: 51000, dport: 443, flags: "S" }),
    ),
    // From the AP, plain data, UDP.
    stack(
      dot11({ subtype: 0, flags: Dot11Flag.FROM_DS, addr1: "02:00:00:00:00:09", qos: undefined }),
      llc(),
      ipv4({ src: "8.8.8.8", dst: "10.0.0.9" }),
      udp({ sport: 53, dport: 40000 }),
      raw("answer"),
    ),
    // Four addresses (WDS), IPv6.
    stack(dot11({ flags: 3, addr4: "02:00:00:00:00:04" }), llc(), ipv6(), udp({ dport: 5353 })),
    // A beacon: management, the body is not walked.
    stack(
      dot11({ type: 0, subtype: 8, flags: 0, addr1: "ff:ff:ff:ff:ff:ff", qos: undefined, sequence: 7 }),
      raw(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0x11, 0x04, 0, 4, 0x74, 0x65, 0x73, 0x74)),
    ),
    // Protected (CCMP) QoS data: the body is not walked.
    stack(dot11({ flags: Dot11Flag.TO_DS | Dot11Flag.PROTECTED }), raw(Uint8Array.of(1, 0, 0, 0x20, 0, 0, 0, 0, 9, 9))),
    // QoS null: no body.
    dot11({ subtype: 12, flags: Dot11Flag.TO_DS | Dot11Flag.POWER_MANAGEMENT }),
    parseLayerSpec(
      "wlan(flags=2,sequence=9,addr3=02:00:00:00:00:77)/llc/ipv4(src=10.1.1.1)/udp(sport=5060,dport=5060)",
    ),
  ];
  const file = builtPacketsFile("dot11", packets, LinkType.IEEE802_11);

  test("tshark decodes the frames as built", () => {
    const rows = tsharkFields(file, ["frame.protocols", "wlan.fc.type_subtype", "wlan.fc.protected", "llc.type"]);
    assert.deepEqual(rows, [
      ["wlan:llc:ip:tcp", "0x0028", "0", "0x0800"],
      ["wlan:llc:ip:udp:dns", "0x0020", "0", "0x0800"],
      ["wlan:llc:ipv6:udp", "0x0028", "0", "0x86dd"],
      ["wlan", "0x0008", "0", ""],
      ["wlan:data", "0x0028", "1", ""],
      ["wlan", "0x002c", "0", ""],
      ["wlan:llc:ip:udp", "0x0028", "0", "0x0800"],
    ]);
  });

  test("every wlan.*, llc.* and inner field equals tshark's; decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const decoded = decodeCaptureFile(file).map((p) => p.packet);
    assert.deepEqual(
      decoded.map((p) => p.layers.map((l) => l.type).join("/")),
      [
        "Dot11/LLC/IPv4/TCP",
        "Dot11/LLC/IPv4/UDP/Raw",
        "Dot11/LLC/IPv6/UDP",
        "Dot11/Raw",
        "Dot11/Raw",
        "Dot11",
        "Dot11/LLC/IPv4/UDP",
      ],
    );
    assert.ok(decoded.every((p) => p.anomalies.length === 0));
    assert.match(decoded[0]!.show(), /qos\s+= 0x0005 {2}\(TID 5\)/);
    assert.match(decoded[3]!.summary(), /^802\.11 Beacon 02:00:00:00:00:02 > ff:ff:ff:ff:ff:ff/);
    assert.match(decoded[4]!.summary(), /protected/);
  });

  test("fast path: the TCP and UDP ports tshark shows; nothing past a beacon, a protected or a null frame", () => {
    const rows = tsharkFields(file, ["tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport"]);
    const d = new Dissection();
    let i = 0;
    readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      const [ts, td, us, ud] = rows[i++]!;
      const ports = d.l4Offset < 0 ? ["", ""] : [String(d.srcPort), String(d.dstPort)];
      assert.deepEqual(ports, ts !== "" ? [ts, td] : [us, ud], `#${i}`);
      assert.equal(d.anomalies, 0, `#${i}`);
      if (ports[0] === "") assert.deepEqual([d.etherType, d.l3Offset], [0, -1], `#${i}`);
    });
    assert.equal(i, packets.length);
  });

  test("capture filters keep the frames tcpdump keeps (libpcap's 802.11 offsets)", () => {
    for (const expression of ["tcp", "udp", "ip", "ip6", "port 53", "udp port 5060", "not ip"]) {
      const filter = compileFilter(expression);
      let ours = 0;
      readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
        if (filter.matchesRecord(r)) ours++;
      });
      assert.equal(ours, tcpdumpCount(file, expression), expression);
    }
  });
});

describe("802.11 malformed", () => {
  test("a header cut short: Raw with a truncated anomaly in the slow path, TRUNCATED in the fast one", () => {
    const frame = stack(dot11(), llc(), ipv4(), udp()).bytes();
    for (const length of [1, 2, 10, 25]) {
      const cut = frame.subarray(0, length);
      const expected = { layer: "802.11", code: "truncated", bit: Anomaly.TRUNCATED, wireLength: frame.length };
      assertUndecodedHeader(cut, LinkType.IEEE802_11, expected);
    }
  });

  test("a data frame whose body is not LLC/SNAP, or a fragment: the body is Raw", () => {
    const notSnap = stack(dot11(), raw(Uint8Array.of(0x42, 0x42, 0x03, 0, 0, 0, 0, 0, 1))).bytes();
    assert.deepEqual(
      decodePacket(notSnap, LinkType.IEEE802_11).layers.map((l) => l.type),
      ["Dot11", "Raw"],
    );
    const fragment = stack(dot11({ flags: Dot11Flag.TO_DS | Dot11Flag.MORE_FRAGMENTS }), llc(), ipv4(), udp()).bytes();
    const packet = decodePacket(fragment, LinkType.IEEE802_11);
    assert.deepEqual(
      packet.layers.map((l) => l.type),
      ["Dot11", "Raw"],
    );
    assert.deepEqual(packet.bytes(), fragment);
    const d = new Dissection();
    dissect(fragment, 0, fragment.length, fragment.length, LinkType.IEEE802_11, d);
    assert.deepEqual([d.etherType, d.l4Offset, d.anomalies], [0, -1, 0]);
  });
});
