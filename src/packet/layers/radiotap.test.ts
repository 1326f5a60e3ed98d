import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { dot11, ipv4, ipv6, llc, radiotap, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS, WIRELESS_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { Dot11Flag } from "./ieee80211.ts";
import { encodeRadiotapHeader, RadiotapFlag, radiotapField, radiotapValues } from "./radiotap.ts";

/**
 * Radiotap (LINKTYPE_IEEE802_11_RADIOTAP) against tshark: realcaps captures covering extended
 * bitmaps, per-antenna namespaces, a vendor namespace, TSFT, MCS, VHT, HE, FCS at the end; every
 * packet of every radiotap, 802.11 and PPI capture of realcaps re-encodes byte for byte; crafted
 * headers (FCS flag with a good CRC, data pad, MCS/A-MPDU/VHT) read back by tshark; truncation.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
/** Captures with each radiotap feature (see the describe below); tshark reads every one. */
const FILES = [
  "odd/tcpdump-tests/ieee802.11_exthdr.pcap", // extended bitmaps, TSFT, MCS, TX flags, FCS at the end
  "odd/tcpdump-tests/ieee802.11_meshid.pcap", // a second radiotap namespace (per-antenna), timestamp
  "odd/tcpdump-tests/ieee802.11_htc.pcap", // HE, a vendor namespace, QoS data +HTC → DHCP
  "odd/tcpdump-tests/ieee802.11_rx-stbc.pcap", // MCS, protected QoS data
  "odd/libpcap-tests/wpa-Induction.pcap", // lock quality, dB signal, FCS, EAPOL in LLC/SNAP
  "odd/libpcap-tests/wpa2linkuppassphraseiswireshark.pcap", // VHT, beacons
  "odd/tcpdump-tests/reason_code-0.pcap",
];
/** tshark derives radiotap.datarate from MCS/VHT when there is no Rate field; qoelab shows the Rate field only. */
const FIELDS = [
  ...WIRELESS_FIELDS.filter((f) => f !== "radiotap.datarate"),
  ...COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp.")),
];
const WIRELESS_LINKS: ReadonlySet<number> = new Set([LinkType.IEEE802_11, LinkType.IEEE802_11_RADIOTAP, LinkType.PPI]);

/** Every realcaps capture (as listed in the tcpdump filter table) whose link type is 802.11, radiotap or PPI. */
function wirelessCaptures(): string[] {
  const table = readFileSync(join(import.meta.dirname, "../../../test-data/realcaps-tcpdump-filters.tsv"), "utf8");
  const out: string[] = [];
  for (const row of table.trim().split("\n").slice(1)) {
    const name = row.split("\t")[0]!;
    let linkType = -1;
    try {
      readCaptureBytes(new Uint8Array(readFileSync(join(REALCAPS, name))), (r) => {
        linkType = r.linkType;
      });
    } catch {
      continue;
    }
    if (WIRELESS_LINKS.has(linkType)) out.push(name);
  }
  return out;
}

describe("radiotap on real captures, against tshark", () => {
  for (const name of FILES) {
    test(`${name}: every radiotap.*, wlan.*, llc.* and inner field equals tshark's`, () => {
      const result = compareWithTshark(join(REALCAPS, name), FIELDS);
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      assert.ok(result.compared >= 10 * result.packets, `${result.compared} values compared`);
    });
  }

  test("the values tshark shows: extended bitmaps, MCS, FCS; the DHCP packet behind QoS +HTC", () => {
    const exthdr = decodeCaptureFile(join(REALCAPS, FILES[0]!)).map((p) => p.packet);
    const first = exthdr[0]!.get("Radiotap")!.fields;
    assert.ok(first.present.length > 1, "extended bitmaps");
    assert.ok(exthdr.some((p) => p.get("Dot11")?.checksumStatus === "good"));
    const htc = decodeCaptureFile(join(REALCAPS, FILES[2]!))[0]!.packet;
    assert.deepEqual(
      htc.layers.map((l) => l.type),
      ["Radiotap", "Dot11", "LLC", "IPv4", "UDP", "Raw"],
    );
    assert.equal(htc.get("Dot11")!.fields.htc, 0xffffffff);
    assert.deepEqual([htc.get("UDP")!.fields.sport, htc.get("UDP")!.fields.dport], [68, 67]);
    const header = encodeRadiotapHeader(htc.get("Radiotap")!.fields);
    const values = radiotapValues(header, 0, header.length);
    assert.equal(values.vendor.length, 1);
    assert.deepEqual(radiotapField(values, "channel"), [5180, 0x140]);
    assert.deepEqual(radiotapField(values, "dbmAntSignal"), [-45]);
    assert.match(htc.summary(), /^Radiotap 5180 MHz -45 dBm \/ 802\.11 QoS Data .* \/ LLC\/SNAP IPv4 \/ IP /);
  });

  test("every packet of every 802.11, radiotap and PPI capture encodes back to its bytes, without throwing", () => {
    const files = wirelessCaptures();
    assert.ok(files.length >= 185, `${files.length} captures`);
    let packets = 0;
    for (const name of files) {
      for (const { packet, bytes } of decodeCaptureFile(join(REALCAPS, name))) {
        assert.deepEqual(packet.bytes(), bytes, `${name}: ${packet.summary()}`);
        assert.ok(packet.show().length > 0);
        packets++;
      }
    }
    assert.ok(packets > 250, `${packets} packets`);
  });

  test("fast path: the DHCP packet's addresses and ports as tshark's", () => {
    const file = join(REALCAPS, FILES[2]!);
    const [row] = tsharkFields(file, ["udp.srcport", "udp.dstport", "ip.ttl"]);
    const d = new Dissection();
    readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
    });
    assert.deepEqual([String(d.srcPort), String(d.dstPort), String(d.ttl)], row);
    assert.deepEqual([d.etherType, d.ipProto, d.anomalies], [0x0800, 17, 0]);
  });
});

describe("crafted radiotap headers, read back by tshark", () => {
  const packets = [
    // FCS at the end (computed), TSFT, rate, channel, signal, antenna: QoS data → IPv4 → TCP.
    stack(
      radiotap({
        tsft: 123456789,
        flags: RadiotapFlag.FCS_AT_END,
        rate: 108,
        channel: [5180, 0x140],
        dbmAntSignal: -45,
        dbmAntNoise: -95,
        antenna: 1,
      }),
      dot11({ sequence: 77, qos: 6, fcs: "auto" }),
      llc(),
      ipv4({ src: "192.168.1.20", dst: "192.168.1.1" }),
      tcp({ sport: 40001, dport: 80, flags: "PA" }),
      raw("GET / HTTP/1.1\r\n\r\n"),
    ),
    // Data pad: the 26-byte QoS header padded to 28.
    stack(
      radiotap({ flags: RadiotapFlag.DATA_PAD, channel: [2437, 0xa0], rxFlags: 0 }),
      dot11({ flags: Dot11Flag.FROM_DS, padding: new Uint8Array(2) }),
      llc(),
      ipv6(),
      udp({ sport: 547, dport: 546 }),
    ),
    // MCS, A-MPDU status, VHT; a beacon.
    stack(
      radiotap({
        flags: 0,
        channel: [5745, 0x140],
        mcs: [0x1f, 0x04, 7],
        ampdu: [42, 0, 0, 0],
        vht: [0x44, 0, 4, 0x91, 0, 0, 0, 0, 0, 0],
      }),
      dot11({ type: 0, subtype: 8, flags: 0, addr1: "ff:ff:ff:ff:ff:ff", qos: undefined }),
      raw(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0x01, 0x04, 0, 3, 0x61, 0x62, 0x63)),
    ),
    // FCS flag, protected frame: nothing walked.
    stack(
      radiotap({ flags: RadiotapFlag.FCS_AT_END, rate: 12 }),
      dot11({ flags: Dot11Flag.TO_DS | Dot11Flag.PROTECTED, fcs: "auto" }),
      raw(Uint8Array.of(1, 0, 0, 0x20, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef)),
    ),
    parseLayerSpec("radiotap(freq=2412,chflags=0xa0,signal=-60,rate=2)/wlan/llc/ipv4(src=10.9.9.9)/udp(dport=5004)"),
  ];
  const file = builtPacketsFile("radiotap", packets, LinkType.IEEE802_11_RADIOTAP);

  test("tshark decodes the values set, the FCS as good and the protocols inside", () => {
    const rows = tsharkFields(
      file,
      [
        "frame.protocols",
        "radiotap.flags.fcs",
        "radiotap.flags.datapad",
        "radiotap.mactime",
        "radiotap.datarate",
        "radiotap.mcs.index",
        "radiotap.ampdu.reference",
        "radiotap.vht.bw",
        "wlan.fcs.status",
      ],
      ["-o", "wlan.check_fcs:TRUE", "-o", "wlan.check_checksum:TRUE"],
    );
    assert.deepEqual(rows, [
      ["radiotap:wlan_radio:wlan:llc:ip:tcp:http", "1", "0", "123456789", "54", "", "", "", "1"],
      ["radiotap:wlan_radio:wlan:llc:ipv6:udp", "0", "1", "", "", "", "", "", ""],
      ["radiotap:wlan_radio:wlan", "0", "0", "", "72.2222", "7", "42", "4", ""],
      ["radiotap:wlan_radio:wlan:data", "1", "0", "", "6", "", "", "", "1"],
      ["radiotap:wlan_radio:wlan:llc:ip:udp", "0", "0", "", "1", "", "", "", ""],
    ]);
  });

  test("every radiotap.*, wlan.* and inner field equals tshark's; decoding gives the built bytes back", () => {
    assertBuiltPacketsAsTshark(file, packets, FIELDS);
    const decoded = decodeCaptureFile(file).map((p) => p.packet);
    assert.deepEqual(
      decoded.map((p) => p.layers.map((l) => l.type).join("/")),
      [
        "Radiotap/Dot11/LLC/IPv4/TCP/Raw",
        "Radiotap/Dot11/LLC/IPv6/UDP",
        "Radiotap/Dot11/Raw",
        "Radiotap/Dot11/Raw",
        "Radiotap/Dot11/LLC/IPv4/UDP",
      ],
    );
    assert.equal(decoded[0]!.get("Dot11")!.checksumStatus, "good");
    assert.deepEqual(decoded[0]!.anomalies, []);
    assert.match(decoded[0]!.show(), /flags\s+= 0x10 {2}\(FCS at end\)/);
    assert.match(decoded[0]!.show(), /tsft\s+= 123456789/);
  });

  test("fast path: ports behind the FCS flag and the data pad; nothing behind the protected frame", () => {
    const d = new Dissection();
    const ports: string[] = [];
    readCaptureBytes(new Uint8Array(readFileSync(file)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      assert.equal(d.anomalies, 0);
      ports.push(d.l4Offset < 0 ? "-" : `${d.srcPort}>${d.dstPort}`);
    });
    assert.deepEqual(ports, ["40001>80", "547>546", "-", "-", "5004>5004"]);
  });
});

describe("radiotap malformed", () => {
  const frame = stack(radiotap({ flags: 0, channel: [2412, 0xa0] }), dot11(), llc(), ipv4(), udp()).bytes();

  test("a header cut short: Raw with a truncated anomaly, TRUNCATED in the fast path", () => {
    for (const length of [3, 7, 12]) {
      const cut = frame.subarray(0, length);
      const expected = { layer: "Radiotap", code: "truncated", bit: Anomaly.TRUNCATED, wireLength: frame.length };
      assertUndecodedHeader(cut, LinkType.IEEE802_11_RADIOTAP, expected);
    }
  });

  test("the 802.11 header cut after a whole radiotap header; a bad FCS flagged", () => {
    const cut = frame.subarray(0, 20);
    const packet = decodePacket(cut, LinkType.IEEE802_11_RADIOTAP, { wireLength: frame.length });
    assert.deepEqual(
      packet.layers.map((l) => [l.type, l.type === "Raw" ? l.fields.undecoded : ""]),
      [
        ["Radiotap", ""],
        ["Raw", "802.11"],
      ],
    );
    const withFcs = stack(
      radiotap({ flags: RadiotapFlag.FCS_AT_END }),
      dot11({ fcs: 0x12345678 }),
      llc(),
      ipv4(),
      udp(),
    ).bytes();
    const bad = decodePacket(withFcs, LinkType.IEEE802_11_RADIOTAP);
    assert.equal(bad.get("Dot11")!.checksumStatus, "bad");
    assert.deepEqual(
      bad.anomalies.map((a) => a.code),
      ["bad-checksum"],
    );
    assert.deepEqual(bad.bytes(), withFcs);
  });

  test("a field qoelab does not know stops the field decoding; the length still finds the frame", () => {
    // Bit 28 (TLVs) is not decoded: the 4 bytes after the bitmap stay undecoded.
    const packet = stack(
      radiotap({}, { present: [1 << 28], data: Uint8Array.of(1, 2, 3, 4) }),
      dot11(),
      llc(),
      ipv4(),
      udp(),
    );
    const bytes = packet.bytes();
    const decoded = decodePacket(bytes, LinkType.IEEE802_11_RADIOTAP);
    assert.ok(decoded.has("UDP"));
    assert.match(decoded.show(), /fields\s+= bit 28 {2}\(unknown field/);
    assert.deepEqual(decoded.bytes(), bytes);
  });
});
