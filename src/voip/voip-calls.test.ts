import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readWav } from "../audio/index.ts";
import { QoelabError } from "../errors.ts";
import { createCaptureWriter, Dissection, dissect, forEachPacket } from "../packet/index.ts";
import { analyzeRtpStreams, analyzeSipCalls, extractRtpAudio, type RtpStream, sipLadder } from "./index.ts";
import { type BaresipCallResult, recordBaresipCall } from "./test-support/baresip-call.ts";
import { type TsharkRow, tsharkStreams } from "./test-support/tshark-streams.ts";

/*
 * Real calls between two baresip softphones (test-support/baresip-call.ts): one lossless, one with
 * 4 % random loss on the caller → callee RTP (iptables statistic). tshark is the oracle for the
 * stream statistics; the callee's own decoder output is the oracle for the extracted audio.
 */
const dir = mkdtempSync(join(tmpdir(), `qoelab-voip-${process.pid}-`));
let clean: BaresipCallResult;
let lossy: BaresipCallResult;

before(async () => {
  const speech = join(dir, "speech.wav");
  execFileSync("espeak-ng", [
    "-w",
    speech,
    "This is a test call between two softphones. We measure packet loss, jitter and the audio that arrives. One two three four five six seven eight nine ten.",
  ]);
  clean = await recordBaresipCall({ wav: speech, seconds: 6, dir: join(dir, "clean") });
  lossy = await recordBaresipCall({ wav: speech, seconds: 6, lossPercent: 4, dir: join(dir, "lossy") });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function assertEqualsTshark(ours: RtpStream[], theirs: TsharkRow[]): void {
  assert.equal(ours.length, theirs.length, "stream count");
  for (const t of theirs) {
    const s = ours.find((x) => x.ssrc === t.ssrc);
    assert.ok(s, `stream 0x${t.ssrc.toString(16)}`);
    assert.equal(`${s.srcAddress}:${s.srcPort}`, t.src);
    assert.equal(s.packets, t.packets, "packets");
    assert.equal(s.lost, t.lost, "lost");
    const mine = [s.minDeltaMs, s.meanDeltaMs, s.maxDeltaMs, s.minJitterMs, s.meanJitterMs, s.maxJitterMs];
    mine.forEach((v, i) => {
      assert.ok(Math.abs(v - t.values[i]!) <= 0.0005 + 1e-9, `value ${i}: ${v} vs tshark ${t.values[i]}`);
    });
  }
}

describe("rtp streams vs tshark -z rtp,streams", () => {
  it("lossless call: streams from SIP/SDP equal tshark's", async () => {
    const ours = await analyzeRtpStreams(clean.pcap);
    assert.ok(ours.every((s) => s.foundBy === "sdp"));
    assertEqualsTshark(ours, tsharkStreams(clean.pcap));
    for (const s of ours) {
      assert.equal(s.lost, 0);
      assert.ok(s.estimate && s.estimate.R > 85 && s.estimate.R < 93.3, `R ${s.estimate?.R}`);
    }
  });

  it("lossy call: lost, sequence errors and jitter equal tshark's; E-model sees the loss", async () => {
    const ours = await analyzeRtpStreams(lossy.pcap);
    assertEqualsTshark(ours, tsharkStreams(lossy.pcap));
    const forward = ours.find((s) => s.srcAddress === lossy.callerAddress)!;
    assert.ok(forward.lost > 0 && forward.problem);
    assert.ok(forward.lost <= lossy.droppedPackets, `lost ${forward.lost}, dropped ${lossy.droppedPackets}`);
    const back = ours.find((s) => s.srcAddress === lossy.calleeAddress)!;
    assert.ok(forward.estimate!.R < back.estimate!.R);
  });

  it("without signalling the heuristic finds the same streams as tshark's RTP heuristic", async () => {
    const stripped = join(dir, "no-sip.pcap");
    execFileSync("tshark", ["-r", lossy.pcap, "-Y", "!sip", "-w", stripped], { stdio: "ignore" });
    const ours = await analyzeRtpStreams(stripped);
    assert.ok(ours.every((s) => s.foundBy === "heuristic"));
    assertEqualsTshark(ours, tsharkStreams(stripped, ["-o", "rtp.heuristic_rtp:TRUE"]));
  });

  it("--packets rows follow Wireshark's per-packet definitions (recomputed from tshark's fields)", async () => {
    const ours = await analyzeRtpStreams(lossy.pcap, { packets: true });
    const forward = ours.find((s) => s.srcAddress === lossy.callerAddress)!;
    const fields = execFileSync(
      "tshark",
      [
        "-r",
        lossy.pcap,
        "-Y",
        `rtp.ssrc == ${forward.ssrc}`,
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "frame.time_relative",
      ].concat(["-e", "rtp.seq", "-e", "rtp.timestamp", "-e", "rtp.marker"]),
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    )
      .trim()
      .split("\n")
      .map((l) => l.split("\t"));
    const rows = forward.rows!;
    assert.equal(rows.length, fields.length);
    // Independent recomputation: delta = t − t_prev; D = |t − (t_prev + Δts/8)|; J += (D − J)/16;
    // skew = Σ Δts/8 − Σ delta (ms); status "Wrong sequence number" when seq ≠ previous + 1.
    let jitter = 0;
    let skewNominal = 0;
    let skewArrival = 0;
    for (let i = 0; i < rows.length; i++) {
      const [frame, time, seq, ts, marker] = fields[i]!;
      const r = rows[i]!;
      assert.equal(r.frame, Number(frame));
      assert.equal(r.sequence, Number(seq));
      assert.equal(r.marker, marker === "1" || marker === "True");
      if (i === 0) continue;
      const [, prevTime, prevSeq, prevTs] = fields[i - 1]!;
      const delta = (Number(time) - Number(prevTime)) * 1000;
      const nominal = (Number(ts) - Number(prevTs)) / 8;
      jitter += (Math.abs(delta - nominal) - jitter) / 16;
      skewNominal += nominal;
      skewArrival += delta;
      assert.ok(Math.abs(r.deltaMs - delta) < 1e-6, `delta at ${frame}`);
      assert.ok(Math.abs(r.jitterMs - jitter) < 1e-6, `jitter at ${frame}`);
      assert.ok(Math.abs(r.skewMs - (skewNominal - skewArrival)) < 1e-6, `skew at ${frame}`);
      const inOrder = Number(seq) === ((Number(prevSeq) + 1) & 0xffff);
      assert.equal(r.status, inOrder ? "[ Ok ]" : "Wrong sequence number", `status at ${frame}`);
      assert.ok(r.bandwidthKbps > 0);
    }
    const regular = rows.slice(1).filter((r) => !r.marker);
    assert.equal(Math.max(...regular.map((r) => r.deltaMs)), forward.maxDeltaMs);
    assert.equal(Math.max(...regular.map((r) => r.jitterMs)), forward.maxJitterMs);
  });

  it("a capture without RTP is a coded error", async () => {
    const sipOnly = join(dir, "sip-only.pcap");
    execFileSync("tshark", ["-r", clean.pcap, "-Y", "sip", "-w", sipOnly], { stdio: "ignore" });
    await assert.rejects(
      analyzeRtpStreams(sipOnly),
      (e: unknown) => e instanceof QoelabError && e.code === "VOIP_NO_RTP" && /no RTP streams/.test(e.message),
    );
  });
});

/** baresip's G.711 table (libre) reconstructs the two zero codes 0xFF/0x7F as ±2, G.711 as 0. */
function recording(path: string): Int16Array {
  const audio = readWav(new Uint8Array(readFileSync(path)));
  return Int16Array.from(audio.channels[0]!, (v) => {
    const s = Math.round(v * 32768);
    return s === 2 || s === -2 ? 0 : s;
  });
}

/**
 * Offset k with extracted[i + k] === recorded[i] over stretches of speech: every half-second stretch
 * votes for the offset at which ≥ 90 % of its non-zero samples are equal, and the most common offset
 * wins, so a stretch holding a gap (lossy call) or a slipped frame does not decide it.
 */
function alignment(extracted: Int16Array, recorded: Int16Array): number {
  const votes = new Map<number, number>();
  for (let start = 8000; start + 4000 <= recorded.length; start += 4000) {
    let loud = 0;
    for (let i = start; i < start + 4000; i++) if (recorded[i] !== 0) loud++;
    if (loud <= 1000) continue;
    const allowedMisses = Math.floor(0.1 * loud);
    for (let k = -4000; k <= 4000; k++) {
      let misses = 0;
      for (let i = start; i < start + 4000 && misses <= allowedMisses; i++) {
        if (recorded[i] !== 0 && extracted[i + k] !== recorded[i]) misses++;
      }
      if (misses <= allowedMisses) {
        votes.set(k, (votes.get(k) ?? 0) + 1);
        break;
      }
    }
  }
  let best: number | undefined;
  for (const [k, n] of votes) if (best === undefined || n > votes.get(best)!) best = k;
  if (best === undefined) throw new Error("no alignment found");
  return best;
}

describe("rtp extract", () => {
  it("lossless call: equals the callee's own decoder output sample for sample", async () => {
    const result = await extractRtpAudio(clean.pcap, {
      ssrc: (await analyzeRtpStreams(clean.pcap)).find((s) => s.srcAddress === clean.callerAddress)!.ssrc,
    });
    assert.equal(result.gaps.length, 0);
    const recorded = recording(clean.calleeRecording!);
    const k = alignment(result.samples, recorded);
    let compared = 0;
    for (let i = 0; i < recorded.length; i++) {
      const j = i + k;
      if (j < 0 || j >= result.samples.length) continue;
      assert.equal(result.samples[j], recorded[i], `sample ${i}`);
      compared++;
    }
    assert.ok(compared > recorded.length - 400, `compared ${compared} of ${recorded.length}`);
  });

  it("lossy call: gaps sit exactly at the lost sequence numbers; everything else equals the callee's output", async () => {
    const forward = (await analyzeRtpStreams(lossy.pcap)).find((s) => s.srcAddress === lossy.callerAddress)!;
    const result = await extractRtpAudio(lossy.pcap, { ssrc: forward.ssrc });
    const seqs = execFileSync(
      "tshark",
      ["-r", lossy.pcap, "-Y", `rtp.ssrc == ${forward.ssrc}`, "-T", "fields", "-e", "rtp.seq"],
      { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
    )
      .trim()
      .split("\n")
      .map(Number);
    const first = seqs[0]!;
    const received = new Set(seqs.map((s) => (s - first) & 0xffff));
    const span = ((seqs[seqs.length - 1]! - first) & 0xffff) + 1;
    const missing: number[] = [];
    for (let n = 0; n < span; n++) if (!received.has(n)) missing.push(n);
    assert.equal(missing.length, forward.lost);
    assert.deepEqual(
      result.lostSequences,
      missing.map((n) => (n + first) & 0xffff),
    );
    // 160 samples per packet: packet n occupies [160·n, 160·n + 160).
    for (let n = 0; n < span; n++) {
      const flags = result.present.subarray(n * 160, n * 160 + 160);
      const expected = received.has(n) ? 1 : 0;
      assert.ok(
        flags.every((f) => f === expected),
        `packet ${n}: expected ${expected ? "audio" : "gap"}`,
      );
    }
    // Between the gaps the audio is the callee decoder's, sample for sample. baresip's own playout
    // fills a lost slot with the next frame and may slip by whole frames after a loss, so each run
    // of audio between gaps is matched on its own (at a whole-frame offset near the global one),
    // leaving out the first and last frame of the run.
    const recorded = recording(lossy.calleeRecording!);
    const k = alignment(result.samples, recorded);
    let matchedRuns = 0;
    let runs = 0;
    for (let start = 0; start < result.present.length; ) {
      if (!result.present[start]) {
        start++;
        continue;
      }
      let end = start;
      while (end < result.present.length && result.present[end]) end++;
      const from = start + 160;
      const to = end - 160;
      start = end;
      if (to - from < 160 || from - k < 0 || to - k > recorded.length) continue;
      runs++;
      for (let shift = -3; shift <= 3; shift++) {
        const off = k + shift * 160;
        let same = true;
        for (let j = from; j < to && same; j++) same = result.samples[j] === recorded[j - off];
        if (same) {
          matchedRuns++;
          break;
        }
      }
    }
    assert.ok(runs >= 5);
    assert.equal(matchedRuns, runs, `${matchedRuns} of ${runs} runs between gaps equal the callee's output`);
    // With G.711 Appendix I PLC the gaps carry concealment instead of silence.
    const concealed = await extractRtpAudio(lossy.pcap, { ssrc: forward.ssrc, plc: "g711" });
    let energyInGaps = 0;
    for (const n of missing) for (let i = n * 160; i < n * 160 + 160; i++) energyInGaps += concealed.samples[i]! ** 2;
    assert.ok(energyInGaps > 0);
    for (let i = 0; i < result.samples.length; i++) {
      if (
        result.present[i] &&
        (i < 40 || result.present[i - 40]) &&
        result.present[Math.min(i + 200, result.present.length - 1)]
      ) {
        // Far from every gap the concealed output is untouched.
        if (!hasGapNear(result.present, i, 120)) assert.equal(concealed.samples[i], result.samples[i], `sample ${i}`);
      }
    }
  });

  it("a jitter buffer discards late packets; unknown streams are coded errors", async () => {
    // A deterministic input (not the live call, whose jitter follows the machine's load): the
    // recorded fixture call with every forward packet re-timed to its RTP timestamp (no jitter at
    // all), and every forward packet after the first 50 delayed by 6 ms: a 1 ms buffer plays the
    // first 50 and finds each delayed one late.
    const fixture = "test-data/sip/baresip-call.pcap";
    const forward = (await analyzeRtpStreams(fixture)).find((s) => s.srcAddress === "10.77.0.1")!;
    const bufferMs = 1;
    const delayed = join(dir, "delayed.pcap");
    const writer = createCaptureWriter(delayed, { format: "pcap", linkType: 1 });
    const d = new Dissection();
    let forwardSeen = 0;
    let firstNs = 0n;
    let firstTs = 0;
    await forEachPacket(fixture, (record) => {
      dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
      const isForward =
        d.ipProto === 17 &&
        d.srcPort === forward.srcPort &&
        d.dstPort === forward.dstPort &&
        d.payloadOffset >= 0 &&
        record.buffer[d.payloadOffset + 1]! < 200;
      let ns = BigInt(record.tsSec) * 1_000_000_000n + BigInt(record.tsNsec);
      if (isForward) {
        forwardSeen++;
        const p = d.payloadOffset;
        const b = record.buffer;
        const ts = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
        if (forwardSeen === 1) {
          firstNs = ns;
          firstTs = ts;
        }
        // 8 kHz: one timestamp unit is 125 µs.
        ns = firstNs + BigInt(((ts - firstTs) >>> 0) * 125_000) + (forwardSeen > 50 ? 6_000_000n : 0n);
      }
      writer.writePacket({
        bytes: record.buffer.subarray(record.offset, record.offset + record.caplen),
        origlen: record.origlen,
        tsSec: Number(ns / 1_000_000_000n),
        tsNsec: Number(ns % 1_000_000_000n),
      });
    });
    await writer.close();
    const tight = await extractRtpAudio(delayed, {
      ssrc: forward.ssrc,
      jitterBuffer: { kind: "fixed", delayMs: bufferMs },
    });
    const roomy = await extractRtpAudio(delayed, {
      ssrc: forward.ssrc,
      jitterBuffer: { kind: "fixed", delayMs: bufferMs + 200 },
    });
    assert.equal(roomy.late, 0);
    assert.equal(tight.late, forwardSeen - 50, `a ${bufferMs} ms buffer and packets 6 ms late`);
    assert.equal(tight.late + tight.played, roomy.played);
    await assert.rejects(
      extractRtpAudio(clean.pcap),
      (e: unknown) => e instanceof QoelabError && e.code === "VOIP_STREAM_AMBIGUOUS",
    );
    await assert.rejects(
      extractRtpAudio(clean.pcap, { ssrc: 1 }),
      (e: unknown) => e instanceof QoelabError && e.code === "VOIP_NO_SUCH_STREAM",
    );
  });
});

/** The first INVITE, the first 2xx answering an INVITE and the first BYE (epoch s), read by tshark. */
function sipTimesByTshark(pcap: string): { invite: number; answer: number; bye: number } {
  const out = execFileSync(
    "tshark",
    [
      "-r",
      pcap,
      "-Y",
      "sip",
      "-T",
      "fields",
      "-E",
      "separator=|",
      "-e",
      "frame.time_epoch",
      "-e",
      "sip.Method",
      "-e",
      "sip.Status-Code",
      "-e",
      "sip.CSeq.method",
    ],
    { encoding: "utf8" },
  );
  const times = { invite: Number.NaN, answer: Number.NaN, bye: Number.NaN };
  for (const line of out.trim().split("\n")) {
    const [time = "", method = "", status = "", cseqMethod = ""] = line.split("|");
    const t = Number(time);
    if (method === "INVITE" && Number.isNaN(times.invite)) times.invite = t;
    else if (method === "BYE" && Number.isNaN(times.bye)) times.bye = t;
    else if (cseqMethod === "INVITE" && /^2\d\d$/.test(status) && Number.isNaN(times.answer)) times.answer = t;
  }
  assert.ok(!Number.isNaN(times.invite + times.answer + times.bye), `tshark's SIP times: ${out}`);
  return times;
}

function hasGapNear(present: Uint8Array, i: number, radius: number): boolean {
  for (let j = Math.max(0, i - radius); j < Math.min(present.length, i + radius); j++) if (!present[j]) return true;
  return false;
}

describe("sip calls", () => {
  it("finds the call with its state, setup time, duration and SDP media; the ladder's columns and rows", async () => {
    const calls = await analyzeSipCalls(clean.pcap);
    assert.equal(calls.length, 1);
    const call = calls[0]!;
    assert.equal(call.from, `sip:alice@${clean.callerAddress}`);
    assert.equal(call.to, `sip:bob@${clean.calleeAddress}`);
    assert.equal(call.state, "COMPLETED");
    assert.equal(call.finalStatus, 200);
    // Setup (INVITE → its 2xx) and duration (2xx → BYE) as tshark times the same capture: the live
    // call's own timing is whatever this machine made of it.
    const sip = sipTimesByTshark(clean.pcap);
    assert.ok(call.setupTimeMs! > 0 && call.durationS! > 0);
    assert.ok(Math.abs(call.setupTimeMs! - (sip.answer - sip.invite) * 1000) < 0.001, `setup ${call.setupTimeMs}`);
    assert.ok(Math.abs(call.durationS! - (sip.bye - sip.answer)) < 1e-6, `duration ${call.durationS}`);
    assert.deepEqual(
      call.media.map((m) => m.address),
      [clean.callerAddress, clean.calleeAddress],
    );
    const labels = call.events.map((e) => e.label.replace(/ \(SDP\)$/, "").split(" ")[0]);
    assert.deepEqual(
      labels.filter((l) => l === "INVITE" || l === "ACK" || l === "BYE"),
      ["INVITE", "ACK", "BYE"],
    );
    // The ladder's data (render/ladder.ts draws it; the CLI test below prints one): both softphones, every message.
    const ladder = sipLadder(calls);
    assert.deepEqual(
      ladder.endpoints.map((e) => e.split(":")[0]),
      [clean.callerAddress, clean.calleeAddress],
    );
    assert.equal(ladder.events.length, call.events.length);
  });
});

describe("CLI wiring", () => {
  const cli = (...args: string[]) =>
    spawnSync("npx", ["tsx", "src/cli/main.ts", ...args], {
      encoding: "utf8",
      cwd: join(import.meta.dirname, "../.."),
    });

  it("rtp streams, rtp extract, sip calls, emodel", () => {
    const streams = cli("rtp", "streams", lossy.pcap, "--json");
    assert.equal(streams.status, 0, streams.stderr);
    const parsed = JSON.parse(streams.stdout) as RtpStream[];
    assert.equal(parsed.length, 2);
    const csv = cli("rtp", "streams", lossy.pcap, "--packets");
    assert.equal(csv.status, 0, csv.stderr);
    assert.match(csv.stdout, /^ssrc,frame,seq,time,delta_ms,jitter_ms,skew_ms,bandwidth_kbps,marker,status\n/);
    const wav = join(dir, "cli.wav");
    const ssrc = `0x${parsed.find((s) => s.srcAddress === lossy.callerAddress)!.ssrc.toString(16)}`;
    const extract = cli("rtp", "extract", lossy.pcap, "--ssrc", ssrc, "-o", wav, "--plc", "g711", "--json");
    assert.equal(extract.status, 0, extract.stderr);
    assert.equal(readWav(new Uint8Array(readFileSync(wav))).sampleRate, 8000);
    const sip = cli("sip", "calls", clean.pcap, "--ladder", "text");
    assert.equal(sip.status, 0, sip.stderr);
    assert.match(sip.stdout, /COMPLETED/);
    assert.match(sip.stdout, /INVITE \(SDP\)-*>\|/);
    assert.match(sip.stdout, /\|<-*200 OK-*\|/);
    const svgFile = join(dir, "ladder.svg");
    const svgLadder = cli("sip", "calls", clean.pcap, "--ladder", "svg", "-o", svgFile);
    assert.equal(svgLadder.status, 0, svgLadder.stderr);
    const svg = readFileSync(svgFile, "utf8");
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.ok((svg.match(/<line [^>]*marker-end/g) ?? []).length >= 6, "one arrow per message");
    const emodel = cli("emodel", "--codec", "g711", "--plc", "--loss", "1%", "--delay", "150ms", "--json");
    assert.equal(emodel.status, 0, emodel.stderr);
    assert.ok(Math.abs((JSON.parse(emodel.stdout) as { R: number }).R - 85.8993) < 1e-3);
    const bad = cli("emodel", "--codec", "opus");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /EMODEL_UNKNOWN_CODEC/);
  });
});
