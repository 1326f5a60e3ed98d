import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { ether, ipv4, ipv6, raw, stack, tcp, udp } from "./builder.ts";
import { readCaptureBytes } from "./capture-reader.ts";
import { createCaptureWriter } from "./capture-writer.ts";
import { Anomaly, Dissection, dissect } from "./dissect.ts";
import { compileFilter } from "./filter-compile.ts";
import { LinkType } from "./link-type.ts";
import type { Packet } from "./packet.ts";
import { createRecord, type PacketRecord } from "./record.ts";
import { tsharkFields } from "./test-support/tshark-fields.ts";

/**
 * Tunnels on the fast path: the dissection reaches the innermost transport (what flows and RTP
 * analysis count, as tshark's conversations do), while capture filters keep testing the outermost
 * network header, as tcpdump's BPF does.
 */
const REALCAPS = join(import.meta.dirname, "../../../shared/data/realcaps");

function record(bytes: Uint8Array): PacketRecord {
  const r = createRecord();
  r.buffer = bytes;
  r.caplen = bytes.length;
  r.origlen = bytes.length;
  r.linkType = LinkType.ETHERNET;
  return r;
}

function dissected(bytes: Uint8Array): Dissection {
  const d = new Dissection();
  dissect(bytes, 0, bytes.length, bytes.length, LinkType.ETHERNET, d);
  return d;
}

/** An Ethernet frame: the outer IP packet carrying the inner one, its transport and payload. */
const frame = (...layers: Packet[]) => stack(ether(), ...layers).bytes();
const sixInFour = frame(
  ipv4({ src: "192.0.2.1", dst: "198.51.100.2" }),
  ipv6({ src: "2001:db8::1", dst: "2001:db8::2" }),
  tcp({ sport: 40000, dport: 443, flags: "S" }),
);
const fourInSix = frame(
  ipv6({ src: "2001:db8::a" }),
  ipv4({ src: "10.0.0.1" }),
  udp({ sport: 5004, dport: 5006 }),
  raw({ size: 20 }),
);
const fourInFour = frame(
  ipv4({ src: "192.0.2.1" }),
  ipv4({ dst: "10.1.0.2" }),
  udp({ sport: 53, dport: 33000 }),
  raw({ size: 8 }),
);

describe("tunnels on the fast path", () => {
  test("IPv6 in IPv4 (protocol 41): the inner TCP header, the outer network header kept", () => {
    const d = dissected(sixInFour);
    assert.equal(d.tunnelDepth, 1);
    assert.equal(d.ipVersion, 6);
    assert.equal(d.l3Offset, 34);
    assert.equal(d.outerEtherType, 0x0800);
    assert.equal(d.outerL3Offset, 14);
    assert.equal(d.ipProto, 6);
    assert.equal(d.srcPort, 40000);
    assert.equal(d.dstPort, 443);
    assert.equal(d.anomalies, 0);
  });

  test("IPv4 in IPv6 (next header 4) and IPv4 in IPv4: the inner UDP header", () => {
    const a = dissected(fourInSix);
    assert.deepEqual(
      [a.tunnelDepth, a.ipVersion, a.src4, a.srcPort, a.dstPort, a.payloadLength],
      [1, 4, 0x0a000001, 5004, 5006, 20],
    );
    assert.equal(a.outerEtherType, 0x86dd);
    const b = dissected(fourInFour);
    assert.deepEqual([b.tunnelDepth, b.dst4, b.srcPort, b.dstPort, b.payloadLength], [1, 0x0a010002, 53, 33000, 8]);
  });

  test("an outer fragment is not entered (its payload is read once reassembled)", () => {
    const fragment = stack(ether(), ipv4({ mf: 1, protocol: 41 }), raw(sixInFour.subarray(34, 34 + 48))).bytes();
    const d = dissected(fragment);
    assert.equal(d.tunnelDepth, 0);
    assert.equal(d.ipVersion, 4);
    assert.equal(d.ipProto, 41);
    assert.equal(d.l4Offset, 34);
  });

  test("more than 8 encapsulations are malformed", () => {
    const layers = [ether(), ...Array.from({ length: 10 }, () => ipv4()), udp(), raw({ size: 4 })];
    const d = dissected(stack(...layers).bytes());
    assert.equal(d.tunnelDepth, 9);
    assert.ok(d.anomalies & Anomaly.TOO_DEEP);
    assert.equal(d.l4Offset, -1);
  });

  test("capture filters test the outer header, with the counts tcpdump gives", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qoelab-tunnel-"));
    try {
      const file = join(dir, "tunnels.pcap");
      const frames = [sixInFour, fourInSix, fourInFour];
      const writer = createCaptureWriter(file, { format: "pcap", linkType: LinkType.ETHERNET });
      for (const [i, bytes] of frames.entries()) writer.writePacket({ tsSec: 1000 + i, tsNsec: 0, bytes });
      await writer.close();
      const expressions = [
        "tcp",
        "udp",
        "ip",
        "ip6",
        "ip proto 41",
        "ip6 proto 4",
        "ip proto 4",
        "port 53",
        "host 10.1.0.1",
      ];
      for (const expression of expressions) {
        const filter = compileFilter(expression);
        const ours = frames.filter((bytes) => filter.matchesRecord(record(bytes))).length;
        const run = spawnSync("tcpdump", ["-r", file, "-nn", expression], { encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        const theirs = run.stdout.split("\n").filter((line) => line !== "").length;
        assert.equal(ours, theirs, `${expression}: qoelab ${ours}, tcpdump ${theirs}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const name of ["ipv4_over_ipv6.pcap", "ipv6_over_ipv6.pcap"]) {
    test(`suricata-verify/${name}: the inner version and ports, as tshark's`, () => {
      const file = join(REALCAPS, "odd/suricata-verify", name);
      const rows = tsharkFields(file, ["ip.src", "ipv6.src", "tcp.srcport", "tcp.dstport"]);
      const ours: string[][] = [];
      const d = new Dissection();
      readCaptureBytes(readFileSync(file), (r) => {
        dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
        ours.push([String(d.tunnelDepth), String(d.ipVersion), String(d.srcPort), String(d.dstPort)]);
      });
      assert.equal(ours.length, rows.length);
      rows.forEach((row, i) => {
        const innerVersion = name.startsWith("ipv4") ? "4" : "6";
        assert.deepEqual(ours[i], ["1", innerVersion, row[2], row[3]], `packet ${i + 1}`);
      });
    });
  }
});
