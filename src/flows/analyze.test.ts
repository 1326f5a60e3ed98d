/**
 * The parallel path (one reader thread, shard workers fed through shared-memory rings) against the
 * single-threaded engine on one generated capture large enough for the rings to wrap many times:
 * hundreds of interleaved TCP connections with retransmissions, holes, duplicate ACKs, FIN/RST,
 * abandoned connections and idle gaps that cross the timeouts (so shards must sweep exactly when one
 * thread would), port reuse, UDP flows and malformed frames.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { type AnalyzeOptions, analyzeCaptureFile } from "./analyze.ts";
import type { FlowsResult } from "./results.ts";
import { type FrameSpec, TcpScript, writePcap } from "./test-support/synthetic.ts";

const dir = mkdtempSync(join(tmpdir(), `qoelab-flows-parallel-${process.pid}-`));
const file = join(dir, "many-flows.pcap");
const SNAPLEN = 96;

/** xorshift32: the same capture on every run. */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

function conversation(random: () => number, k: number, start: number): FrameSpec[] {
  const client = `10.77.1.${1 + (k % 200)}`;
  const server = `10.77.2.${1 + (k % 7)}`;
  const port = 30000 + (k % 900); // ports repeat: later conversations reuse 4-tuples
  const s = new TcpScript(
    client,
    server,
    port,
    443,
    start,
    Math.floor(random() * 2 ** 32),
    Math.floor(random() * 2 ** 32),
  );
  if (random() < 0.08) {
    s.data(false, 500); // joined mid-connection: no handshake
  } else {
    s.handshake(0.0005 + random() * 0.01);
  }
  if (random() < 0.05) return s.frames; // SYN-only or abandoned right away: times out
  s.data(true, 200 + Math.floor(random() * 300));
  const segments = 20 + Math.floor(random() * 300);
  let sinceAck = 0;
  for (let i = 0; i < segments; i++) {
    const r = random();
    const gap = r < 0.002 ? 3 + random() * 8 : 0.0001 + random() * 0.002; // rare long stalls
    if (r < 0.02) {
      const seq = s.skip(false, 1448); // lost before the probe …
      s.data(false, 1448, gap);
      s.ack(true, 0.0005, seq); // … duplicate ACKs …
      s.ack(true, 0.0005, seq);
      s.ack(true, 0.0005, seq);
      s.resend(false, seq, 1448, 0.001); // … fast retransmit fills the hole
    } else if (r < 0.04) {
      s.resend(false, (s.serverSeq - 1448 * (1 + Math.floor(random() * 3))) >>> 0, 1448, gap);
    } else {
      s.data(false, random() < 0.9 ? 1448 : 1 + Math.floor(random() * 1400), gap);
    }
    if (++sinceAck >= 2) {
      s.ack(true, 0.0002 + random() * 0.01);
      sinceAck = 0;
    }
    if (random() < 0.01) s.udp(true, 40 + Math.floor(random() * 100)); // a UDP flow on the same pair
  }
  const end = random();
  if (end < 0.6) {
    s.fin(false);
    s.fin(true);
    s.ack(false);
  } else if (end < 0.75) {
    s.rst(random() < 0.5);
  } // else left open: ends by timeout or at the end of the capture
  return s.frames;
}

before(async () => {
  const random = rng(0x5eed);
  const frames: FrameSpec[] = [];
  for (let k = 0; k < 700; k++) frames.push(...conversation(random, k, 1_700_000_000 + random() * 120));
  frames.sort((a, b) => a.time - b.time);
  await writePcap(file, frames, SNAPLEN);
  // A few corrupt frames (bad IHL, cut TCP header) among the rest.
  const bytes = readFileSync(file);
  let at = 24;
  for (let n = 0; at < bytes.length; n++) {
    const caplen = bytes.readUInt32LE(at + 8);
    if (n % 997 === 5) bytes[at + 16 + 14] = 0x43;
    at += 16 + caplen;
  }
  writeFileSync(file, bytes);
});

after(() => rmSync(dir, { recursive: true, force: true }));

async function both(options: AnalyzeOptions, workers: number | "auto"): Promise<[FlowsResult, FlowsResult]> {
  const single = await analyzeCaptureFile(file, { ...options, workers: 1 });
  const parallel = await analyzeCaptureFile(file, {
    ...options,
    workers,
    ...(workers === "auto" ? { parallelThreshold: 0 } : {}),
  });
  return [single, parallel];
}

describe("parallel analysis (reader thread + shard workers)", () => {
  it("gives the single-threaded JSON with 2 workers, on a capture that exercises timeouts and reuse", async () => {
    const [single, parallel] = await both({ udpIdleTimeout: 5, tcpSynTimeout: 2, tcpClosedLinger: 4 }, 2);
    assert.ok(single.capture.packets > 100_000, `packets ${single.capture.packets}`);
    const states = new Set(single.flows.map((f) => f.state));
    for (const state of ["timeout", "complete", "reset", "open"]) assert.ok(states.has(state as never), state);
    assert.ok(single.flows.some((f) => f.proto === "udp"));
    assert.ok(single.capture.malformedPackets > 0);
    let retx = 0;
    for (const f of single.flows) if (f.proto === "tcp") retx += f.s2c.retxPackets + f.s2c.fastRetransmit;
    assert.ok(retx > 0);
    assert.equal(JSON.stringify(parallel), JSON.stringify(single));
  });

  it("is identical with features, series and a filter, for 3 workers and for auto", async () => {
    const options: AnalyzeOptions = { features: true, series: true, window: 0.25, filter: "host 10.77.2.3 or udp" };
    const [single, three] = await both(options, 3);
    assert.ok(single.capture.filteredOut > 0);
    assert.equal(JSON.stringify(three), JSON.stringify(single));
    const [, auto] = await both(options, "auto");
    assert.equal(JSON.stringify(auto), JSON.stringify(single));
  });

  it("fails with the reader's error, without hanging, on a file corrupt in the middle", async () => {
    const bytes = readFileSync(file);
    let at = 24;
    for (let n = 0; n < 50_000; n++) at += 16 + bytes.readUInt32LE(at + 8);
    bytes.writeUInt32LE(0x7fffffff, at + 8); // caplen above any packet (a caplen above the snaplen alone is read)
    const corrupt = join(dir, "corrupt.pcap");
    writeFileSync(corrupt, bytes);
    await assert.rejects(analyzeCaptureFile(corrupt, { workers: 2 }), (error) => {
      assert.ok(isQoelabError(error), String(error));
      assert.equal(error.code, "PCAP_ABSURD_LENGTH");
      return true;
    });
  });
});
