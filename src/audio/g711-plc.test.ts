import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { concealLosses, findPitch, G711Plc, PLC_DELAY } from "./g711-plc.ts";

const dir = mkdtempSync(join(tmpdir(), `qoelab-plc-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A voiced-speech-like periodic signal: 125 Hz fundamental (64 samples) with decaying harmonics. */
function voiced(length: number): Int16Array {
  const out = new Int16Array(length);
  for (let n = 0; n < length; n++) {
    let x = 0;
    for (let k = 1; k <= 8; k++) x += Math.sin((2 * Math.PI * 125 * k * n) / 8000 + k) / k;
    out[n] = Math.round(6000 * x);
  }
  return out;
}

function snrDb(reference: Int16Array, test: Int16Array, from: number, to: number): number {
  let signal = 0;
  let noise = 0;
  for (let i = from; i < to; i++) {
    signal += reference[i]! ** 2;
    noise += (reference[i]! - test[i]!) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

function maskWithGaps(length: number, gaps: readonly [number, number][]): Uint8Array {
  const present = new Uint8Array(length).fill(1);
  for (const [from, to] of gaps) present.fill(0, from, to);
  return present;
}

describe("G.711 Appendix I PLC", () => {
  it("finds the pitch period of a periodic signal", () => {
    const x = voiced(400);
    assert.equal(findPitch(Float32Array.from(x.subarray(10))), 64);
  });

  it("passes a loss-free signal through unchanged (delay compensated) and delays by 3.75 ms", () => {
    const x = voiced(2000);
    assert.deepEqual(concealLosses(x, maskWithGaps(x.length, [])), x);
    const plc = new G711Plc();
    const out = new Int16Array(160);
    plc.good(x, 0, 160, out, 0);
    assert.equal(PLC_DELAY, 30);
    assert.deepEqual(out.subarray(PLC_DELAY), x.subarray(0, 160 - PLC_DELAY));
  });

  it("reconstructs a lost 20 ms frame of a periodic signal far better than silence", () => {
    const x = voiced(4000);
    const gap: [number, number] = [1600, 1760];
    const present = maskWithGaps(x.length, [gap]);
    const concealed = concealLosses(x, present);
    const silenced = x.map((v, i) => (present[i] ? v : 0));
    // First 10 ms: exact repetition of an exactly periodic signal (only rounding differs).
    assert.ok(snrDb(x, concealed, 1600, 1680) > 40);
    // Second 10 ms is attenuated 0–20 %: still ≥ 14 dB; silence is 0 dB by definition.
    assert.ok(snrDb(x, concealed, 1680, 1760) > 14);
    assert.equal(Math.round(snrDb(x, silenced, 1600, 1760)), 0);
    // Samples outside the gap and its crossfades are untouched.
    assert.deepEqual(concealed.subarray(0, 1600 - 16), x.subarray(0, 1600 - 16));
    assert.deepEqual(concealed.subarray(1760 + 80), x.subarray(1760 + 80));
  });

  it("fades to silence after 60 ms and joins the real signal without a click", () => {
    const x = voiced(4000);
    const gap: [number, number] = [1600, 2400]; // 100 ms
    const concealed = concealLosses(x, maskWithGaps(x.length, [gap]));
    for (let i = 1600 + 480; i < 2400; i++) assert.equal(concealed[i], 0, `sample ${i}`);
    // Attenuation is linear from 10 ms to 60 ms: at 35 ms the envelope is at half.
    const peak = (from: number, to: number) => Math.max(...Array.from(concealed.subarray(from, to), Math.abs));
    const ratio = peak(1600 + 280 - 32, 1600 + 280 + 32) / peak(1600, 1680);
    assert.ok(ratio > 0.35 && ratio < 0.65, `ratio ${ratio}`);
    // No step larger than the signal's own largest sample-to-sample change.
    let ownMax = 0;
    for (let i = 1; i < x.length; i++) ownMax = Math.max(ownMax, Math.abs(x[i]! - x[i - 1]!));
    for (let i = 1; i < concealed.length; i++) {
      assert.ok(Math.abs(concealed[i]! - concealed[i - 1]!) <= ownMax * 1.05, `step at ${i}`);
    }
  });

  it("continues real speech in the first 10 ms of each gap (espeak-ng, 20 ms lost every 200 ms)", () => {
    const wav = join(dir, "speech.wav");
    const raw = join(dir, "speech.raw");
    execFileSync("espeak-ng", ["-w", wav, "The quick brown fox jumps over the lazy dog near the river bank."]);
    execFileSync("sox", ["-D", wav, "-t", "raw", "-r", "8000", "-e", "signed", "-b", "16", "-c", "1", raw]);
    const bytes = readFileSync(raw);
    const x = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length >> 1);
    const gaps: [number, number][] = [];
    for (let at = 800; at + 160 < x.length; at += 1600) gaps.push([at, at + 160]);
    const concealed = concealLosses(x, maskWithGaps(x.length, gaps));
    // Waveform SNR punishes any phase slip harder than silence, so judge what PLC promises: in
    // voiced gaps (level ≥ 60 dB re 1 LSB) the repetition follows the lost waveform (normalised
    // correlation) at a similar level; silence would correlate 0.
    const correlations: number[] = [];
    for (const [from] of gaps) {
      let eo = 0;
      let ec = 0;
      let xc = 0;
      for (let i = from; i < from + 80; i++) {
        eo += x[i]! ** 2;
        ec += concealed[i]! ** 2;
        xc += x[i]! * concealed[i]!;
      }
      if (10 * Math.log10(eo / 80) < 60) continue;
      correlations.push(xc / Math.sqrt(eo * ec));
    }
    correlations.sort((a, b) => a - b);
    assert.ok(correlations.length >= 8, `${correlations.length} voiced gaps`);
    const median = correlations[correlations.length >> 1]!;
    assert.ok(median > 0.6, `median correlation ${median}`);
  });
});
