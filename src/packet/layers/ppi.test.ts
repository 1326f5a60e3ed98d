import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { dot11, ipv4, llc, ppi, raw, stack, tcp, udp } from "../builder.ts";
import { readCaptureBytes } from "../capture-reader.ts";
import { Anomaly, Dissection, dissect } from "../dissect.ts";
import { parseLayerSpec } from "../layer-spec.ts";
import { LinkType } from "../link-type.ts";
import { decodePacket } from "../packet.ts";
import { compareWithTshark, decodeCaptureFile } from "../test-support/compare-tshark.ts";
import { COMPARABLE_FIELDS, WIRELESS_FIELDS } from "../test-support/qoelab-fields.ts";
import { tsharkFields } from "../test-support/tshark-fields.ts";
import { assertUndecodedHeader } from "../test-support/undecoded-header.ts";
import { builtPacketsFile } from "../test-support/write-packets.ts";
import { PpiFieldType, ppi80211Common, ppiFields } from "./ppi.ts";

/**
 * PPI (LINKTYPE_PPI) against tshark on libpcap's test capture (802.11-common and 802.11n MAC+PHY
 * fields, FCS present, DNS and HTTP over 802.11): every ppi.*, wlan.* and inner field, the fast
 * path's addresses and ports, byte-exact re-encoding; crafted headers read back by tshark.
 */

const REALCAPS = join(import.meta.dirname, "../../../../shared/data/realcaps");
const FILE = join(REALCAPS, "odd/libpcap-tests/http_PPI.pcap");
const FIELDS = [
  ...WIRELESS_FIELDS.filter((f) => f !== "radiotap.datarate"),
  ...COMPARABLE_FIELDS.filter((f) => !f.startsWith("sip.") && !f.startsWith("sdp.")),
];

describe("PPI on a real capture, against tshark", () => {
  test("every ppi.*, wlan.*, llc.* and inner field equals tshark's; every packet re-encodes", () => {
    const result = compareWithTshark(FILE, FIELDS);
    assert.deepEqual(result.mismatches.slice(0, 10), []);
    assert.ok(result.compared > 150, `${result.compared} values compared`);
    const all = decodeCaptureFile(FILE);
    assert.equal(all.length, 5);
    for (const { packet, bytes } of all) assert.deepEqual(packet.bytes(), bytes, packet.summary());
    assert.deepEqual(
      all.map((p) => p.packet.layers.map((l) => l.type).join("/")),
      ["PPI/Dot11/LLC/IPv4/UDP/Raw", "PPI/Dot11", "PPI/Dot11/LLC/IPv4/UDP/Raw", "PPI/Dot11", "PPI/Dot11/LLC/IPv4/TCP"],
    );
  });

  test("the values tshark shows: the 802.11-common field, the FCS it announces", () => {
    // tshark -e ppi.field_type -e ppi.80211-common.dbm.antsignal -e wlan.fcs, first packet: 2,4; -56; 0x37598078
    const [first] = decodeCaptureFile(FILE);
    const p = first!.packet;
    const f = p.get("PPI")!.fields;
    const fields = ppiFields(f.data, false);
    assert.deepEqual(
      fields.map((x) => x.type),
      [PpiFieldType.codes.COMMON_80211, PpiFieldType.codes.MAC_PHY_80211N],
    );
    const common = ppi80211Common(fields[0]!.value)!;
    assert.deepEqual([common.flags, common.frequency, common.dbmAntSignal], [1, 2422, -56]);
    assert.equal(p.get("Dot11")!.fields.fcs, 0x37598078);
    assert.equal(p.get("Dot11")!.checksumStatus, "good");
    assert.match(
      p.show(),
      /fields\[0\]\s+= 802\.11-common {2}\(flags 0x0001 \(FCS present\), .* 2422 MHz, signal -56 dBm/,
    );
    assert.match(p.summary(), /^PPI IEEE802_11 \/ 802\.11 QoS Data /);
  });

  test("fast path: the IPv4 addresses and ports as tshark's", () => {
    const rows = tsharkFields(FILE, ["ip.src", "tcp.srcport", "udp.srcport"]);
    const ipv4Text = (n: number) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
    const d = new Dissection();
    let i = 0;
    readCaptureBytes(new Uint8Array(readFileSync(FILE)), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      const [src, tcpPort, udpPort] = rows[i++]!;
      assert.equal(d.ipVersion === 4 ? ipv4Text(d.src4) : "", src, `#${i}`);
      assert.equal(d.l4Offset < 0 ? "" : String(d.srcPort), tcpPort || udpPort, `#${i}`);
      assert.equal(d.anomalies, 0, `#${i}`);
    });
    assert.equal(i, 5);
  });
});

describe("crafted PPI headers, read back by tshark", () => {
  const packets = [
    stack(
      ppi({ fcs: true, frequency: 2462 }),
      dot11({ sequence: 3, fcs: "auto" }),
      llc(),
      ipv4({ src: "10.2.0.1", dst: "10.2.0.2" }),
      tcp({ sport: 1234, dport: 80 }),
    ),
    stack(ppi(), dot11({ subtype: 0, qos: undefined }), llc(), ipv4(), udp({ dport: 161 }), raw("x")),
    parseLayerSpec("ppi(frequency=5180)/dot11(flags=2)/llc/ipv4/udp(dport=53)"),
    // DLT 1: not decoded (tshark reads an Ethernet frame), the frame is Raw.
    stack(ppi({ dlt: 1 }), raw(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06))),
  ];
  const file = builtPacketsFile("ppi", packets, LinkType.PPI);

  test("tshark decodes the values set and the protocols inside", () => {
    const rows = tsharkFields(
      file,
      ["frame.protocols", "ppi.dlt", "ppi.80211-common.chan.freq", "wlan.fcs.status"],
      ["-o", "wlan.check_checksum:TRUE"],
    );
    assert.deepEqual(rows, [
      ["ppi:wlan_radio:wlan:llc:ip:tcp", "105", "2462", "1"],
      ["ppi:wlan_radio:wlan:llc:ip:udp:data", "105", "2437", ""],
      ["ppi:wlan_radio:wlan:llc:ip:udp", "105", "5180", ""],
      ["ppi:pcap_pktdata:eth:ethertype:arp", "1", "2437", ""],
    ]);
  });

  test("every ppi.*, wlan.* and inner field equals tshark's; decoding gives the built bytes back", () => {
    const result = compareWithTshark(file, FIELDS);
    // The last frame (DLT 1) is Ethernet and ARP to tshark, Raw to qoelab.
    assert.deepEqual(
      result.mismatches.filter((m) => !m.startsWith("#4 ")),
      [],
    );
    for (const [i, { packet, bytes }] of decodeCaptureFile(file).entries()) {
      assert.deepEqual(bytes, packets[i]!.bytes());
      assert.deepEqual(packet.bytes(), bytes);
    }
    assert.deepEqual(
      decodePacket(packets[3]!.bytes(), LinkType.PPI).layers.map((l) => l.type),
      ["PPI", "Raw"],
    );
  });
});

describe("PPI malformed", () => {
  test("a header cut short or of impossible length: Raw with an anomaly, flagged in the fast path", () => {
    const frame = stack(ppi(), dot11(), llc(), ipv4(), udp()).bytes();
    const cut = frame.subarray(0, 6);
    const expected = { layer: "PPI", code: "truncated", bit: Anomaly.TRUNCATED, wireLength: frame.length };
    const d = assertUndecodedHeader(cut, LinkType.PPI, expected);
    const short = frame.slice();
    short[2] = 4;
    short[3] = 0;
    assert.deepEqual(
      decodePacket(short, LinkType.PPI).anomalies.map((a) => a.code),
      ["bad-length"],
    );
    dissect(short, 0, short.length, short.length, LinkType.PPI, d);
    assert.equal(d.anomalies, Anomaly.BAD_LENGTH);
  });
});
