import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
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

/** tshark -z conv,tcp rows: [a, b, framesBtoA, bytesBtoA, framesAtoB, bytesAtoB]. */
function tsharkTcpConversations(file: string): string[][] {
  const r = spawnSync("tshark", ["-r", file, "-n", "-q", "-z", "conv,tcp"], { encoding: "utf8" });
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
