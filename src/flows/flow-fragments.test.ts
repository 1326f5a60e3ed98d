import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createCaptureWriter, ether, ipv4, ipv6, ipv6Extension, raw, stack, udp } from "../packet/index.ts";
import { analyzeCaptureFile } from "./analyze.ts";

/**
 * Flows over IP fragments: the packet library reassembles IPv4/IPv6 fragments before the
 * transport layer (as tshark's ip.defragment, on by default), so a connection whose segments were
 * all fragmented is found, with tshark's conversation counts: the frame completing a datagram
 * stands for it (its own frame length), the other fragments are not in the conversation.
 */

const FILE = join(
  import.meta.dirname,
  "../../../shared/data/realcaps/tcp/anomalies/peafowl-http_ip_fragmented_out_of_order.pcap",
);

/** tshark -z conv,tcp (or udp) rows: [a, b, framesBtoA, bytesBtoA, framesAtoB, bytesAtoB]. */
function tsharkTcpConversations(file: string, proto = "tcp"): string[][] {
  const r = spawnSync("tshark", ["-r", file, "-n", "-q", "-z", `conv,${proto}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tshark failed: ${r.stderr}`);
  const rows: string[][] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+) bytes\s+(\d+)\s+(\d+) bytes/.exec(line);
    if (m) rows.push(m.slice(1, 7));
  }
  return rows;
}

describe("flows over IP fragments", { skip: !existsSync(FILE) }, () => {
  test("the out-of-order fragmented HTTP connection is found with tshark's conversation counts", async () => {
    const theirs = tsharkTcpConversations(FILE);
    assert.equal(theirs.length, 1);
    const [a, b, framesBA, bytesBA, framesAB, bytesAB] = theirs[0]!;
    for (const workers of [1, 2]) {
      const result = await analyzeCaptureFile(FILE, { workers });
      const tcp = result.flows.filter((f) => f.proto === "tcp");
      assert.equal(tcp.length, 1, `workers ${workers}`);
      const flow = tcp[0]!;
      if (flow.proto !== "tcp") throw new Error("unreachable");
      assert.equal(`${flow.client.address}:${flow.client.port}`, a);
      assert.equal(`${flow.server.address}:${flow.server.port}`, b);
      assert.equal(flow.c2s.packets, Number(framesAB));
      assert.equal(flow.c2s.wireBytes, Number(bytesAB));
      assert.equal(flow.s2c.packets, Number(framesBA));
      assert.equal(flow.s2c.wireBytes, Number(bytesBA));
      assert.ok(flow.s2c.uniqueBytes > 2000, "the reassembled HTTP response");
      assert.equal(result.capture.malformedPackets, 0);
    }
  });
});

/**
 * Fragments `frame` (Ethernet + IP header of `ipHeader` bytes + payload) into IP fragments of
 * `size` payload bytes: IPv4 by flags/offset, IPv6 by a Fragment header.
 */
function fragments(version: 4 | 6, datagram: Uint8Array, size: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < datagram.length; off += size) {
    const part = datagram.subarray(off, Math.min(datagram.length, off + size));
    const more = off + size < datagram.length ? 1 : 0;
    const ip =
      version === 4
        ? ipv4({ id, mf: more, fragOffset: off / 8, protocol: 17, src: "10.9.0.1", dst: "10.9.0.2" })
        : ipv6({
            src: "2001:db8::91",
            dst: "2001:db8::92",
            extensions: [{ ...ipv6Extension.fragment(off / 8, more, id), nextHeader: 17 }],
          });
    out.push(stack(ether(), ip, raw(part)).bytes());
  }
  return out;
}

describe("fragments cut by the snaplen", () => {
  test("cannot be reassembled: a first IPv4 fragment is its datagram's UDP packet, an IPv6 one none, as tshark counts them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "qoelab-snapped-"));
    try {
      const file = join(dir, "snapped.pcap");
      const writer = createCaptureWriter(file, { format: "pcap", snaplen: 96 });
      let t = 0;
      for (const version of [4, 6] as const) {
        for (let id = 1; id <= 3; id++) {
          // A 3,000-byte RTP-sized datagram in 1,480-byte pieces, captured with -s 96.
          const header = version === 4 ? 34 : 54;
          const whole = stack(
            ether(),
            version === 4 ? ipv4() : ipv6(),
            udp({ sport: 5004, dport: 5006 }),
            raw({ size: 3000 }),
          ).bytes();
          for (const frame of fragments(version, whole.subarray(header), 1480, id)) {
            writer.writePacket({ bytes: frame.subarray(0, 96), origlen: frame.length, tsSec: 1000 + t++, tsNsec: 0 });
          }
        }
      }
      await writer.close();
      const theirs = tsharkTcpConversations(file, "udp");
      assert.equal(theirs.length, 1, "tshark reads no UDP in a first IPv6 fragment it could not reassemble");
      for (const workers of [1, 2]) {
        const result = await analyzeCaptureFile(file, { workers });
        assert.equal(result.capture.udpPackets, 3, `workers ${workers}`);
        assert.equal(result.capture.malformedPackets, 0);
        const udpFlows = result.flows.filter((f) => f.proto === "udp");
        assert.equal(udpFlows.length, 1);
        for (const flow of udpFlows) {
          const row = theirs.find((r) => r[0] === `${flow.client.address}:${flow.client.port}`);
          assert.ok(row, `${flow.client.address} in tshark's conversations`);
          assert.equal(flow.c2s.packets, Number(row[4]));
          assert.equal(flow.c2s.wireBytes, Number(row[5]));
          assert.equal(flow.c2s.payloadBytes, 3 * 3000);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
