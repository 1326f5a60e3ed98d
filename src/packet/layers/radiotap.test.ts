import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { dot11, ipv4, ipv6, llc, radiotap, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket, type Packet } from "../packet.ts";
import { assertBuiltPacketsAsTshark, compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS, qoelabField, tsharkFloat, WIRELESS_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { Dot11Flag } from "./ieee80211.ts";
import {
  encodeRadiotapHeader,
  type RadiotapBuild,
  RadiotapFlag,
  radiotapDataRates,
  radiotapField,
  radiotapHeRates,
  radiotapValues,
  radiotapVhtUsers,
} from "./radiotap.ts";

/**
 * Radiotap (LINKTYPE_IEEE802_11_RADIOTAP) against tshark: realcaps captures covering extended
 * bitmaps, per-antenna namespaces, a vendor namespace, TSFT, MCS, VHT, HE, FCS at the end; every
 * packet of every radiotap, 802.11 and PPI capture of realcaps re-encodes byte for byte; crafted
 * headers (FCS flag with a good CRC, data pad, MCS/A-MPDU/VHT) read back by tshark; the data rates
 * derived from MCS, VHT and HE fields against tshark's (every HT index, VHT MCS/NSS/bandwidth code
 * and HE MCS/NSTS/RU/GI); truncation.
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
/** radiotap.datarate included: the Rate fields' rates and those derived from MCS fields. */
const FIELDS = [...WIRELESS_FIELDS, ...COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp."))];
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

/** A beacon behind a radiotap header with `values` (or the bitmaps and field bytes of `header`). */
const beacon = (values: RadiotapBuild, header: Parameters<typeof radiotap>[1] = {}) =>
  stack(
    radiotap(values, header),
    dot11({ type: 0, subtype: 8, flags: 0, addr1: "ff:ff:ff:ff:ff:ff", qos: undefined }),
    raw(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 100, 0, 0x01, 0x04, 0, 0)),
  );

/**
 * The rate tshark's 802.11 radio information (wlan_radio.data_rate) gives a crafted packet with one
 * MCS, VHT or HE field and no TSFT (so no A-MPDU grouping): the last VHT user's 802.11ac rate, the
 * HT rate (tshark's radio information stops at MCS 75), the HE rate; "" when none.
 */
function radioRate(packet: Packet): string {
  const f = packet.get("Radiotap")!.fields;
  const header = encodeRadiotapHeader(f);
  const v = radiotapValues(header, 0, header.length);
  const vht = radiotapVhtUsers(v).filter((u) => u.mbps !== undefined);
  const ht = radiotapDataRates(v).filter((r) => r.source === "mcs" && radiotapField(v, "mcs")![2]! < 76);
  const he = radiotapHeRates(v).filter((r) => r.mbps !== undefined);
  const mbps = vht.at(-1)?.mbps ?? ht.at(-1)?.mbps ?? he.at(-1)?.mbps;
  return mbps === undefined ? "" : tsharkFloat(mbps);
}

describe("data rates derived from MCS, VHT and HE fields, against tshark", () => {
  const EXT_AND_NAMESPACE = (0x80000000 | (1 << 29) | (1 << 19)) >>> 0;
  const focused = [
    beacon({ mcs: [0x07, 0x00, 7] }), // HT MCS 7, 20 MHz, long GI
    beacon({ mcs: [0x07, 0x04, 7] }), // short GI
    beacon({ mcs: [0x07, 0x05, 15] }), // MCS 15, 40 MHz, short GI
    beacon({ mcs: [0x07, 0x01, 32] }), // MCS 32 (40 MHz duplicate): tshark's 12 bits per 20 MHz symbol
    beacon({ mcs: [0x07, 0x05, 76] }), // unequal modulation, 4 streams
    beacon({ mcs: [0x07, 0x05, 77] }), // no such index: no rate
    beacon({ mcs: [0x03, 0x05, 7] }), // GI not known: no rate
    beacon({ rate: 12, mcs: [0x07, 0x04, 7] }), // a Rate field and an MCS field: both
    beacon({ vht: [0x44, 0x04, 4, 0x91, 0, 0, 0, 0, 0, 0] }), // VHT MCS 9, 1 stream, 80 MHz, short GI
    beacon({ vht: [0x44, 0x00, 0, 0x91, 0, 0, 0, 0, 0, 0] }), // MCS 9, 1 stream, 20 MHz: not an 802.11ac rate
    beacon({ vht: [0x44, 0x00, 0, 0x93, 0, 0, 0, 0, 0, 0] }), // MCS 9, 3 streams, 20 MHz
    beacon({ vht: [0x04, 0x00, 4, 0x91, 0, 0, 0, 0, 0, 0] }), // bandwidth not known: no rate
    beacon({ he: [0x4020, 0x0002, 9 << 8, 0, 0x02, 2] }), // HE MCS 9, 2 streams, 80 MHz, 0.8 µs GI
    beacon({ he: [0x4020, 0x0002, 11 << 8, 0, 0x27, 1] }), // MCS 11, 242-tone RU, 3.2 µs GI
    beacon({}, { present: [EXT_AND_NAMESPACE, 1 << 19], data: Uint8Array.of(7, 4, 7, 7, 5, 15) }), // MCS in two namespaces
  ];
  const focusedFile = builtPacketsFile("radiotap-rates", focused, LinkType.IEEE802_11_RADIOTAP);

  test("the table values tshark shows: HT 65, 72.2222, 300; VHT 433.3 (433.333); none for an invalid VHT combination", () => {
    const fields = ["radiotap.datarate", "radiotap.vht.datarate.0", "wlan_radio.data_rate"];
    const rows = tsharkFields(focusedFile, fields);
    assert.deepEqual(rows, [
      ["65", "", "65"],
      ["72.2222", "", "72.2222"],
      ["300", "", "300"],
      ["6.23077", "", "6.23077"],
      ["495", "", ""],
      ["", "", ""],
      ["", "", ""],
      ["6,72.2222", "", "72.2222"],
      ["", "433.3", "433.333"],
      ["", "86.7", ""],
      ["", "260.1", "260"],
      ["", "", ""],
      ["", "", "960.8"],
      ["", "", "121.9"],
      ["72.2222,300", "", "300"],
    ]);
    // qoelab: the same radiotap.* strings, the same radio rate.
    const decoded = decodeCaptureFile(focusedFile).map((p) => p.packet);
    assert.deepEqual(
      decoded.map((p) => [qoelabField(p, fields[0]!), qoelabField(p, fields[1]!), radioRate(p)]),
      rows,
    );
  });

  test("show() rows: the derived rate and what it comes from; none for an invalid combination", () => {
    const shown = decodeCaptureFile(focusedFile).map((p) => p.packet.show());
    assert.match(shown[1]!, /datarate\s+= 72\.2 Mb\/s {2}\(from MCS 7 \(64-QAM 5\/6, 1 stream\), 20 MHz, short GI\)/);
    assert.match(
      shown[2]!,
      /datarate\s+= 300\.0 Mb\/s {2}\(from MCS 15 \(64-QAM 5\/6, 2 streams\), 40 MHz, short GI\)/,
    );
    assert.match(
      shown[8]!,
      /datarate\s+= 433\.3 Mb\/s {2}\(from VHT user 0: MCS 9 \(256-QAM 5\/6\), 1 stream, 80 MHz, short GI\)/,
    );
    assert.match(shown[9]!, /datarate\s+= none {2}\(VHT user 0: MCS 9 .*20 MHz, long GI: not an 802\.11ac rate\)/);
    assert.match(
      shown[12]!,
      /datarate\s+= 960\.8 Mb\/s {2}\(from HE MCS 9 \(256-QAM 5\/6\), 2 space-time streams, 80 MHz, 0\.8 µs GI\)/,
    );
    assert.match(shown[14]!, /datarate\[1\]\s+= 300\.0 Mb\/s/);
    assert.doesNotMatch(shown[5]! + shown[6]! + shown[11]!, /datarate/);
    // The derived rows change neither the fields nor the bytes.
    for (const [i, p] of decodeCaptureFile(focusedFile).entries())
      assert.deepEqual(p.packet.bytes(), focused[i]!.bytes());
  });

  // Every HT index 0–79 at each bandwidth code (20, 40, 20L, 20U) and GI, plus known bits missing.
  const ht: Packet[] = [];
  for (let bw = 0; bw < 4; bw++)
    for (const gi of [0, 4]) for (let mcs = 0; mcs < 80; mcs++) ht.push(beacon({ mcs: [0x07, bw | gi, mcs] }));
  for (const known of [0, 1, 2, 3, 4, 5, 6, 0xff]) ht.push(beacon({ mcs: [known, 0x05, 9] }));
  // Every VHT MCS/NSS byte (4 users a packet) at each bandwidth code 0–31 and GI; known bits missing.
  const vht: Packet[] = [];
  for (const known of [0x44, 0x04, 0x40])
    for (let bw = 0; bw < (known === 0x44 ? 32 : 2); bw++)
      for (const gi of [0, 4])
        for (let b = 0; b < 256; b += 4) vht.push(beacon({ vht: [known, gi, bw, b, b + 1, b + 2, b + 3, 0, 0, 0] }));
  // HE MCS 0–12, NSTS 0–9, bandwidth/RU codes 0–11, GI codes 0–3.
  const he: Packet[] = [];
  for (let bwru = 0; bwru < 12; bwru++)
    for (let gi = 0; gi < 4; gi++)
      for (let mcs = 0; mcs < 13; mcs++)
        for (let nsts = 0; nsts < 10; nsts++)
          he.push(beacon({ he: [0x4020, 0x0002, mcs << 8, 0, bwru | (gi << 4), nsts] }));
  const sets = { ht, vht, he };
  const files = Object.fromEntries(
    Object.entries(sets).map(([name, packets]) => [
      name,
      builtPacketsFile(`radiotap-${name}`, packets, LinkType.IEEE802_11_RADIOTAP),
    ]),
  );

  for (const name of ["ht", "vht", "he"] as const) {
    test(`${name}: ${sets[name].length} packets, every radiotap.* field (datarate, vht.datarate.N) and the radio rate as tshark's`, () => {
      const result = compareWithTshark(
        files[name]!,
        WIRELESS_FIELDS.filter((f) => f.startsWith("radiotap.")),
      );
      assert.deepEqual(result.mismatches.slice(0, 10), []);
      const theirs = tsharkFields(files[name]!, ["wlan_radio.data_rate"]).map((row) => row[0]);
      const ours = decodeCaptureFile(files[name]!).map((p) => radioRate(p.packet));
      const differing = ours.flatMap((rate, i) => (rate === theirs[i] ? [] : [`#${i + 1}: ${rate} / ${theirs[i]}`]));
      assert.deepEqual(differing.slice(0, 10), []);
      assert.ok(ours.filter((r) => r !== "").length > sets[name].length / 5, "rates derived");
    });
  }
});
