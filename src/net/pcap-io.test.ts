import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { forEachPacket, icmp, ipv4 } from "../packet/index.ts";
import { packetTime, rdpcap, wrpcap } from "./index.ts";

const FILE = "test-data/collect/held-out-0.3mbps-session-24.pcap";

describe("rdpcap and wrpcap (Scapy's)", () => {
  it("keeps each packet's capture time through a write, as Scapy's pkt.time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qoelab-pcap-io-"));
    try {
      const packets = (await rdpcap(FILE)).slice(0, 20);
      const out = join(dir, "out.pcap");
      await wrpcap(out, packets);
      const original: string[] = [];
      await forEachPacket(FILE, (r) => {
        if (original.length < 20) original.push(`${r.tsSec}.${r.tsNsec}`);
      });
      const written: string[] = [];
      await forEachPacket(out, (r) => {
        written.push(`${r.tsSec}.${r.tsNsec}`);
      });
      assert.deepEqual(written, original);
      assert.deepEqual(
        packets.map((p) => `${packetTime(p)?.sec}.${packetTime(p)?.nsec}`),
        original,
      );
      // Packets built in code have no capture time: written 1 ms apart.
      const built = [ipv4({ dst: "10.77.0.2" }).over(icmp()), ipv4({ dst: "10.77.0.3" }).over(icmp())];
      assert.equal(packetTime(built[0]!), undefined);
      const second = join(dir, "built.pcap");
      await wrpcap(second, built);
      const ns: number[] = [];
      await forEachPacket(second, (r) => {
        ns.push(r.tsSec * 1e9 + r.tsNsec);
      });
      assert.equal(ns.length, 2);
      assert.equal(Math.round((ns[1]! - ns[0]!) / 1e6), 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
