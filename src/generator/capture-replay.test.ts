import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { startCapture } from "../capture/index.ts";
import { isQoelabError } from "../errors.ts";
import {
  createCaptureWriter,
  Dissection,
  dissect,
  ether,
  forEachPacket,
  IpProto,
  ipv4,
  raw,
  stack,
  tcp,
  udp,
} from "../packet/index.ts";
import { type ReplaySource, readReplaySource, replayCapture } from "./capture-replay.ts";

const run = promisify(execFile);
const FIXTURE = "test-data/sip/baresip-call.pcap";
const CALLER = "10.77.0.1";

async function receiver(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket("udp4");
  await new Promise<void>((r) => socket.bind(0, "127.0.0.1", () => r()));
  socket.on("message", () => undefined);
  return { socket, port: socket.address().port };
}

/** UDP payloads to `port` in a capture, with their times (ms). */
async function captured(pcap: string, port: number): Promise<{ timeMs: number; payload: Uint8Array }[]> {
  const d = new Dissection();
  const out: { timeMs: number; payload: Uint8Array }[] = [];
  await forEachPacket(pcap, (r) => {
    dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
    if (d.ipProto !== IpProto.UDP || d.dstPort !== port) return;
    out.push({
      timeMs: r.tsSec * 1000 + r.tsNsec / 1e6,
      payload: r.buffer.slice(d.payloadOffset, d.payloadOffset + d.capturedPayloadLength),
    });
  });
  return out;
}

function sequenceOf(payload: Uint8Array): number {
  return (payload[2]! << 8) | payload[3]!;
}

describe("capture replay", () => {
  let dir = "";
  let caller: ReplaySource;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-replay-${process.pid}-`));
    const any = await readReplaySource(FIXTURE).catch((e: unknown) => e);
    assert.ok(isQoelabError(any) && any.code === "REPLAY_STREAM_AMBIGUOUS", "a two-way call needs --ssrc");
    assert.match((any as Error).message, /choose one with --ssrc/);
    const streams = (any as { details: Record<string, unknown> }).details.ssrcs as number[];
    for (const ssrc of streams) {
      const source = await readReplaySource(FIXTURE, { ssrc });
      if (source.srcAddress === CALLER) caller = source;
    }
    assert.ok(caller, "the caller's stream is found");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("replays a recorded call's stream byte for byte with the original timing", async () => {
    assert.equal(caller.kind, "rtp");
    assert.ok(caller.packets.length > 300);
    const { socket, port } = await receiver();
    const pcap = join(dir, "replay.pcap");
    const capture = await startCapture({ iface: "lo", filter: `udp and dst port ${port}`, file: pcap });
    let result: Awaited<ReturnType<typeof replayCapture>>;
    try {
      result = await replayCapture({ source: caller, host: "127.0.0.1", port, seed: 1 });
    } finally {
      await new Promise((r) => setTimeout(r, 100));
      await capture.stop();
      socket.close();
    }
    assert.equal(result.sent, caller.packets.length);
    const got = await captured(pcap, port);
    assert.equal(got.length, caller.packets.length);
    got.forEach((p, i) => {
      assert.deepEqual(p.payload, caller.packets[i]!.payload, `packet ${i}`);
    });
    // Timing: the replay's inter-packet gaps against the recording's, as a distribution.
    const errors: number[] = [];
    for (let i = 1; i < got.length; i++) {
      const replayed = got[i]!.timeMs - got[i - 1]!.timeMs;
      const original = caller.packets[i]!.timeMs - caller.packets[i - 1]!.timeMs;
      errors.push(Math.abs(replayed - original));
    }
    errors.sort((a, b) => a - b);
    const median = errors[Math.floor(errors.length / 2)]!;
    assert.ok(median < 1, `median |Δreplay − Δoriginal| = ${median.toFixed(3)} ms`);
    const span = got[got.length - 1]!.timeMs - got[0]!.timeMs;
    const originalSpan = caller.packets[caller.packets.length - 1]!.timeMs;
    // Deadlines are absolute (start + original offsets): late packets do not accumulate into drift.
    assert.ok(
      Math.abs(span - originalSpan) < 0.02 * originalSpan,
      `replay spans ${span} ms, original ${originalSpan} ms`,
    );
  });

  test("seeded loss: the same seed drops the same sequence numbers, and only those are missing", async () => {
    const { socket, port } = await receiver();
    const pcap = join(dir, "lossy.pcap");
    const capture = await startCapture({ iface: "lo", filter: `udp and dst port ${port}`, file: pcap });
    const loss = { kind: "bernoulli" as const, p: 0.1 };
    let a: Awaited<ReturnType<typeof replayCapture>>;
    try {
      a = await replayCapture({ source: caller, host: "127.0.0.1", port, loss, seed: 42, speed: 8 });
    } finally {
      await new Promise((r) => setTimeout(r, 100));
      await capture.stop();
    }
    try {
      const b = await replayCapture({ source: caller, host: "127.0.0.1", port, loss, seed: 42, speed: 8 });
      const c = await replayCapture({ source: caller, host: "127.0.0.1", port, loss, seed: 43, speed: 8 });
      assert.ok(a.droppedSequences.length > 10, `${a.droppedSequences.length} dropped`);
      assert.deepEqual(b.droppedSequences, a.droppedSequences);
      assert.notDeepEqual(c.droppedSequences, a.droppedSequences);
    } finally {
      socket.close();
    }
    const seen = new Set((await captured(pcap, port)).map((p) => sequenceOf(p.payload)));
    const missing = caller.packets.map((p) => p.sequence!).filter((s) => !seen.has(s));
    assert.deepEqual(missing, a.droppedSequences);
  });

  test("a capture without RTP replays its largest UDP flow; one without UDP is refused", async () => {
    const udpOnly = join(dir, "udp.pcap");
    const w = createCaptureWriter(udpOnly, { format: "pcap", linkType: 1 });
    for (let i = 0; i < 6; i++) {
      const bytes = stack(
        ether(),
        ipv4({ src: "10.77.9.1", dst: "10.77.9.2" }),
        udp({ sport: 7000, dport: 7001 }),
        raw(`hello ${i}`),
      ).bytes();
      w.writePacket({ bytes, tsSec: 1_700_000_000, tsNsec: i * 5_000_000 });
    }
    await w.close();
    const source = await readReplaySource(udpOnly);
    assert.equal(source.kind, "udp");
    assert.equal(source.packets.length, 6);
    assert.equal(source.packets[5]!.timeMs, 25);

    const tcpOnly = join(dir, "tcp.pcap");
    const t = createCaptureWriter(tcpOnly, { format: "pcap", linkType: 1 });
    t.writePacket({
      bytes: stack(
        ether(),
        ipv4({ src: "10.77.9.1", dst: "10.77.9.2" }),
        tcp({ sport: 1, dport: 2, flags: "S" }),
      ).bytes(),
      tsSec: 1_700_000_000,
      tsNsec: 0,
    });
    await t.close();
    await assert.rejects(
      readReplaySource(tcpOnly),
      (e: unknown) => isQoelabError(e) && e.code === "REPLAY_NO_MEDIA" && e.message.includes(tcpOnly),
    );

    // CLI wiring: exit 0 with JSON for a real replay, exit 1 and the coded message for no media.
    const { socket, port } = await receiver();
    try {
      const ok = await run("npx", [
        "tsx",
        "src/cli/main.ts",
        "replay",
        FIXTURE,
        "--to",
        `127.0.0.1:${port}`,
        "--ssrc",
        `0x${caller.ssrc!.toString(16)}`,
        "--speed",
        "10",
        "--json",
      ]);
      const result = JSON.parse(ok.stdout) as { sent: number; kind: string };
      assert.equal(result.kind, "rtp");
      assert.equal(result.sent, caller.packets.length);
      await assert.rejects(
        run("npx", ["tsx", "src/cli/main.ts", "replay", tcpOnly, "--to", `127.0.0.1:${port}`]),
        (e: { code: number; stderr: string }) => e.code === 1 && /REPLAY_NO_MEDIA/.test(e.stderr),
      );
    } finally {
      socket.close();
    }
  });
});
