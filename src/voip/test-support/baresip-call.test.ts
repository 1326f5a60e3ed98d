import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeRtp, decodeSip, looksLikeRtp } from "../../packet/index.ts";
import { readUdpPayloads, tsharkFields } from "../../packet/test-support/udp-payloads.ts";
import { type BaresipCallResult, recordBaresipCall } from "./baresip-call.ts";

/** G.711 µ-law expansion (ITU-T G.711 table 2), except that baresip maps the two zero codes to ±2. */
function baresipUlaw(code: number): number {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4)) - 0x84;
  if (magnitude === 0) return u & 0x80 ? -2 : 2;
  return u & 0x80 ? -magnitude : magnitude;
}

function wavSamples(path: string): Int16Array {
  const bytes = readFileSync(path);
  let p = 12;
  while (p + 8 <= bytes.length) {
    const id = bytes.toString("latin1", p, p + 4);
    const size = bytes.readUInt32LE(p + 4);
    if (id === "data") {
      const samples = new Int16Array(Math.floor(size / 2));
      for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(p + 8 + i * 2);
      return samples;
    }
    p += 8 + size + (size & 1);
  }
  throw new Error(`${path}: no data chunk`);
}

/** Caller → callee RTP packets in capture order. */
function callerRtp(call: BaresipCallResult): ReturnType<typeof decodeRtp>[] {
  return readUdpPayloads(call.pcap)
    .filter((u) => u.srcPort !== 5060 && looksLikeRtp(u.bytes, 0, u.bytes.length))
    .map((u) => ({ udp: u, rtp: decodeRtp(u.bytes, 0, u.bytes.length) }))
    .filter(({ rtp }) => rtp.payloadType === 0)
    .filter(({ udp }) => {
      const row = tsharkSources.get(call.pcap)?.get(udp.frame);
      return row?.["ip.src"] === call.callerAddress;
    })
    .map(({ rtp }) => rtp);
}

const tsharkSources = new Map<string, Map<number, Record<string, string>>>();

describe("recordBaresipCall (live: two baresip softphones in two namespaces)", () => {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-baresip-${process.pid}-`));
  let speech = "";
  before(() => {
    speech = join(dir, "speech.wav");
    execFileSync("espeak-ng", ["-w", speech, "One two three four five six seven eight nine ten."]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a lossless call: signalling, two RTP streams, and a callee recording equal to the decoded RTP", async () => {
    const call = await recordBaresipCall({ wav: speech, seconds: 4, dir: join(dir, "clean") });
    const sip = tsharkFields(call.pcap, "sip", ["sip.Method", "sip.Status-Code", "sip.CSeq.method"]);
    const steps = [...sip.values()].map((r) => r["sip.Method"] || `${r["sip.Status-Code"]} ${r["sip.CSeq.method"]}`);
    const flow = [...new Set(steps)]; // UDP retransmissions (BYE on a busy machine) counted once
    assert.deepEqual(flow, ["INVITE", "180 INVITE", "200 INVITE", "ACK", "BYE", "200 BYE"]);
    for (const udp of readUdpPayloads(call.pcap)) {
      if (udp.srcPort === 5060) assert.deepEqual(decodeSip(udp.bytes).anomalies, []);
    }
    tsharkSources.set(call.pcap, tsharkFields(call.pcap, "udp", ["ip.src"]));
    const rtp = callerRtp(call);
    // 4 s of call at 50 packets/s; call set-up on a loaded machine eats into it.
    assert.ok(rtp.length > 100, `${rtp.length} caller RTP packets`);
    rtp.forEach((packet, i) => {
      assert.equal(packet.sequence, (rtp[0]!.sequence + i) & 0xffff, "no gaps without loss");
    });
    // The callee's decoder output, frame by frame, is the µ-law decode of the packets in order.
    assert.ok(call.calleeRecording);
    const recorded = wavSamples(call.calleeRecording);
    const frames = Math.floor(recorded.length / 160);
    assert.ok(frames >= rtp.length - 3 && frames <= rtp.length, `${frames} frames for ${rtp.length} packets`);
    for (let f = 0; f < frames; f++) {
      const payload = rtp[f]!.payload;
      for (let s = 0; s < 160; s++) {
        if (recorded[f * 160 + s] !== baresipUlaw(payload[s]!)) {
          assert.fail(`frame ${f} sample ${s}: recorded ${recorded[f * 160 + s]}, RTP ${baresipUlaw(payload[s]!)}`);
        }
      }
    }
    assert.ok(call.callerSent && call.calleeSent && call.callerRecording);
    assert.equal(call.droppedPackets, 0);
  });

  test("a lossy call: the capture misses exactly the packets iptables dropped", async () => {
    const call = await recordBaresipCall({ wav: speech, seconds: 4, lossPercent: 10, dir: join(dir, "lossy") });
    tsharkSources.set(call.pcap, tsharkFields(call.pcap, "udp", ["ip.src"]));
    const rtp = callerRtp(call);
    assert.ok(call.droppedPackets > 0, "10 % loss over ~200 packets drops some");
    const first = rtp[0]!.sequence;
    const span = ((rtp[rtp.length - 1]!.sequence - first) & 0xffff) + 1;
    // Drops after the last delivered packet do not show as gaps.
    assert.ok(span - rtp.length <= call.droppedPackets && span - rtp.length >= call.droppedPackets - 3);
    const streams = execFileSync("tshark", ["-r", call.pcap, "-q", "-z", "rtp,streams"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    assert.match(
      streams,
      new RegExp(`${call.callerAddress}\\s+\\d+\\s+${call.calleeAddress}.*\\s${span - rtp.length} \\(`),
    );
  });
});
