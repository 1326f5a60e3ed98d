import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { readPcm16le, readWav, writeWav } from "../../audio/index.ts";
import { QoelabError } from "../../errors.ts";
import { mosLqoNarrowband, mosLqoWideband, rawFromMosLqoNarrowband } from "./mos-mapping.ts";
import { pesq } from "./pesq.ts";
import { pesqFiles } from "./pesq-files.ts";
import { parsePairsTsv } from "./pesq-input.ts";
import { conformanceDir } from "./test-support.ts";

const dir = conformanceDir();
const ref8 = readWav(new Uint8Array(readFileSync(path.join(dir, "voip8k/or105.wav")))).channels[0]!;
const deg8 = readWav(new Uint8Array(readFileSync(path.join(dir, "voip8k/dg105.wav")))).channels[0]!;
const tmp = mkdtempSync(path.join(tmpdir(), `qoelab-pesq-${process.pid}-`));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof QoelabError, String(error));
    return error.code;
  }
  assert.fail("expected a QoelabError");
}

function upsample2(x: Float32Array): Float32Array {
  // Zero-order hold is enough to make a 16 kHz speech signal for the wideband path.
  const out = new Float32Array(2 * x.length);
  for (let i = 0; i < x.length; i++) out[2 * i] = out[2 * i + 1] = x[i]!;
  return out;
}

describe("pesq", () => {
  it("scores identical input 4.5 raw, MOS-LQO 4.549, and states the version", () => {
    const r = pesq(ref8, ref8, 8000);
    assert.equal(r.raw, 4.5);
    assert.equal(r.mosLqo.toFixed(3), "4.549");
    assert.equal(r.version, "ITU-T P.862 (2001) + P.862.1 (2003)");
    assert.equal(r.rawLabel, "P.862 raw");
    assert.equal(r.mosLqoLabel, "P.862.1 MOS-LQO");
    const wb = pesq(upsample2(ref8), upsample2(ref8), 16000, { mode: "wb" });
    assert.equal(wb.raw, 4.5);
    assert.equal(wb.mosLqo.toFixed(3), mosLqoWideband(4.5).toFixed(3));
    assert.equal(wb.version, "ITU-T P.862.2 (2005)");
    assert.equal(wb.rawLabel, null);
    assert.equal(wb.mosLqoLabel, "P.862.2 MOS-LQO");
    assert.equal(wb.conformance, null);
  });

  it("is level-independent and deterministic", () => {
    const quiet = deg8.map((v) => v * 0.25);
    const a = pesq(ref8, deg8, 8000);
    const b = pesq(ref8, deg8, 8000);
    const c = pesq(ref8, quiet, 8000);
    assert.equal(a.raw, b.raw);
    assert.ok(Math.abs(a.raw - c.raw) < 1e-6, `${a.raw} vs ${c.raw}`);
    assert.ok(a.raw > 1 && a.raw < 4, String(a.raw));
    assert.ok(a.utterances.length >= 1);
  });

  it("finds a pure delay", () => {
    const shift = 200; // 25 ms
    const delayed = new Float32Array(ref8.length);
    delayed.set(ref8.subarray(0, ref8.length - shift), shift);
    const r = pesq(ref8, delayed, 8000);
    for (const u of r.utterances) assert.equal(u.delayMs, 25);
    assert.ok(r.raw > 4.4, String(r.raw));
  });

  it("scores wideband P.862.2 at 16 kHz with its own filter and mapping, and refuses wb-c2", async () => {
    const ref16 = readPcm16le(new Uint8Array(readFileSync(path.join(dir, "voip16k/or105.16k.raw"))));
    const deg16 = readPcm16le(new Uint8Array(readFileSync(path.join(dir, "voip16k/dg105.16k.raw"))));
    const nb = pesq(ref16, deg16, 16000);
    const wb = pesq(ref16, deg16, 16000, { mode: "wb" });
    // Annex A test 2 at 16 kHz, pair 1: narrowband raw 2.399.
    assert.equal(nb.raw.toFixed(3), "2.399");
    assert.ok(Number.isFinite(wb.mosLqo) && wb.mosLqo > 1 && wb.mosLqo < 4.644, String(wb.mosLqo));
    assert.equal(wb.mosLqo, mosLqoWideband(wb.raw));
    assert.notEqual(wb.raw, nb.raw);
    assert.equal(await codeOf(() => pesq(ref16, deg16, 16000, { mode: "wb-c2" })), "PESQ_MODE_UNAVAILABLE");
  });

  it("maps raw scores with P.862.1 and P.862.2", () => {
    assert.equal(mosLqoNarrowband(4.5).toFixed(3), "4.549");
    assert.ok(Math.abs(rawFromMosLqoNarrowband(mosLqoNarrowband(2.3)) - 2.3) < 1e-12);
    assert.equal(mosLqoWideband(4.5).toFixed(3), "4.644");
  });

  it("refuses bad input with coded errors, never NaN", async () => {
    const silent = new Float32Array(16000);
    assert.equal(await codeOf(() => pesq(silent, deg8, 8000)), "PESQ_SILENT");
    assert.equal(await codeOf(() => pesq(ref8, silent, 8000)), "PESQ_SILENT");
    assert.equal(await codeOf(() => pesq(ref8.subarray(0, 1000), deg8.subarray(0, 1000), 8000)), "PESQ_TOO_SHORT");
    let seed = 1;
    const whiteNoise = (n: number, amplitude: number) =>
      new Float32Array(n).map(() => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return (seed / 2147483648 - 0.5) * amplitude;
      });
    // Speech shorter than an utterance (50 VAD windows, 200 ms): nothing to align (spec 01 §1.11 step 5).
    const burst = new Float32Array(16000);
    burst.set(ref8.subarray(4000, 4800), 8000);
    assert.equal(await codeOf(() => pesq(burst, burst, 8000)), "PESQ_NO_SPEECH");
    // Steady noise has no quieter part: the VAD takes all of it as active (spec 01 §1.8 step 11).
    const steady = whiteNoise(16000, 0.3);
    assert.equal(pesq(steady, steady, 8000).raw, 4.5);
    // A degraded signal without speech is scored (a total loss), not refused.
    const noise = whiteNoise(ref8.length, 1e-3);
    const lost = pesq(ref8, noise, 8000);
    const kept = pesq(ref8, deg8, 8000);
    assert.ok(Number.isFinite(lost.raw) && lost.raw < 2 && lost.raw < kept.raw - 0.5, `${lost.raw} vs ${kept.raw}`);
    assert.equal(await codeOf(() => pesq(ref8, deg8, 44100)), "PESQ_RATE_UNSUPPORTED");
    assert.equal(await codeOf(() => pesq(ref8, deg8, 8000, { mode: "wb" })), "PESQ_WB_NEEDS_16K");
    assert.equal(await codeOf(() => pesq(ref8, deg8.subarray(0, 20000), 8000)), "PESQ_LENGTH_MISMATCH");
    const nan = deg8.slice();
    nan[100] = Number.NaN;
    assert.equal(await codeOf(() => pesq(ref8, nan, 8000)), "PESQ_BAD_SAMPLE");
  });

  it("reads files: converts only unambiguous layouts and says so", async () => {
    const refPath = path.join(tmp, "ref-stereo.wav");
    const degPath = path.join(tmp, "deg16k.wav");
    writeFileSync(refPath, writeWav([ref8, ref8], 8000));
    writeFileSync(degPath, writeWav([upsample2(deg8)], 16000));
    assert.equal(await codeOf(() => pesqFiles(refPath, degPath)), "PESQ_RATE_MISMATCH");
    const degMono = path.join(tmp, "deg.wav");
    writeFileSync(degMono, writeWav([deg8], 8000));
    const r = await pesqFiles(refPath, degMono);
    assert.deepEqual(r.conversions, [`${refPath}: 2 identical channels taken as mono`]);
    assert.equal(r.raw, pesq(ref8, deg8, 8000).raw);
    const mixed = path.join(tmp, "mixed.wav");
    writeFileSync(mixed, writeWav([ref8, deg8], 8000));
    assert.equal(await codeOf(() => pesqFiles(mixed, degMono)), "PESQ_AMBIGUOUS_CHANNELS");
    const adpcm = path.join(tmp, "adpcm.wav");
    const bytes = writeWav([deg8], 8000);
    new DataView(bytes.buffer).setUint16(20, 2, true);
    writeFileSync(adpcm, bytes);
    assert.equal(await codeOf(() => pesqFiles(refPath, adpcm)), "WAV_UNSUPPORTED_FORMAT");
    assert.equal(await codeOf(() => pesqFiles(degMono, degMono, { mode: "wb" })), "PESQ_WB_NEEDS_16K");
    const mulaw = path.join(tmp, "mulaw.wav");
    const law = writeWav([deg8], 8000);
    const lawView = new DataView(law.buffer);
    lawView.setUint16(20, 7, true); // format tag: G.711 µ-law
    lawView.setUint16(32, 1, true); // block align
    lawView.setUint16(34, 8, true); // bits per sample
    lawView.setUint32(28, 8000, true); // byte rate
    writeFileSync(mulaw, law);
    assert.equal(await codeOf(() => pesqFiles(refPath, mulaw)), "PESQ_NOT_PCM");
    assert.equal(await codeOf(() => pesqFiles(refPath, path.join(tmp, "missing.wav"))), "PESQ_FILE_UNREADABLE");
    const raw = path.join(tmp, "x.raw");
    writeFileSync(raw, new Uint8Array(3200));
    assert.equal(await codeOf(() => pesqFiles(raw, raw)), "PESQ_RAW_NEEDS_RATE");
  });

  it("parses batch pair lists (the conformance list format included)", () => {
    const pairs = parsePairsTsv("Reference\tDegraded\tFsample\tPESQ_score\na.wav\t/x/b.raw\t16000\t2.1\n", "/data");
    assert.deepEqual(pairs, [{ reference: "/data/a.wav", degraded: "/x/b.raw", rate: 16000 }]);
  });
});
