import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QoelabError } from "../errors.ts";
import { encodeG711 } from "./g711.ts";
import { readPcm16le, writePcm16le } from "./pcm.ts";
import { readWav, writeWav } from "./wav.ts";

function header(formatTag: number, channels: number, rate: number, bits: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(44 + data.length);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode("RIFF"), 0);
  v.setUint32(4, 36 + data.length, true);
  out.set(new TextEncoder().encode("WAVEfmt "), 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, formatTag, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, (rate * channels * bits) / 8, true);
  v.setUint16(32, (channels * bits) / 8, true);
  v.setUint16(34, bits, true);
  out.set(new TextEncoder().encode("data"), 36);
  v.setUint32(40, data.length, true);
  out.set(data, 44);
  return out;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof QoelabError, String(error));
    return error.code;
  }
  assert.fail("expected a QoelabError");
}

describe("wav", () => {
  it("round-trips 16-bit PCM stereo exactly", () => {
    const left = new Float32Array([0, 0.5, -0.5, -1, 32767 / 32768]);
    const right = new Float32Array([0.25, -0.25, 0, 0.125, -0.125]);
    const wav = readWav(writeWav([left, right], 8000));
    assert.equal(wav.sampleRate, 8000);
    assert.equal(wav.encoding, "pcm");
    assert.equal(wav.bitsPerSample, 16);
    assert.deepEqual(Array.from(wav.channels[0]!), Array.from(left));
    assert.deepEqual(Array.from(wav.channels[1]!), Array.from(right));
  });

  it("reads 8-bit unsigned, 24-bit and float PCM", () => {
    const pcm8 = readWav(header(1, 1, 8000, 8, new Uint8Array([128, 255, 0])));
    assert.deepEqual(Array.from(pcm8.channels[0]!), [0, 127 / 128, -1]);
    const pcm24 = readWav(header(1, 1, 16000, 24, new Uint8Array([0, 0, 0x40, 0xff, 0xff, 0xff])));
    assert.deepEqual(Array.from(pcm24.channels[0]!), [0.5, -1 / 8388608]);
    const f = new Float32Array([0.25, -0.75]);
    const float = readWav(header(3, 1, 48000, 32, new Uint8Array(f.buffer)));
    assert.equal(float.encoding, "float");
    assert.deepEqual(Array.from(float.channels[0]!), [0.25, -0.75]);
  });

  it("decodes G.711 µ-law and A-law WAV", () => {
    const samples = new Int16Array([0, 1000, -1000, 8000]);
    for (const [tag, law] of [
      [7, "ulaw"],
      [6, "alaw"],
    ] as const) {
      const wav = readWav(header(tag, 1, 8000, 8, encodeG711(law, samples)));
      assert.equal(wav.encoding, law === "ulaw" ? "mulaw" : "alaw");
      const back = Array.from(wav.channels[0]!, (v) => v * 32768);
      for (const [i, v] of back.entries()) assert.ok(Math.abs(v - samples[i]!) <= Math.abs(samples[i]!) / 16 + 16);
    }
  });

  it("names compressed and broken files with coded errors", () => {
    assert.equal(
      codeOf(() => readWav(header(2, 1, 8000, 4, new Uint8Array(8)))),
      "WAV_UNSUPPORTED_FORMAT",
    );
    assert.equal(
      codeOf(() => readWav(new TextEncoder().encode("not a wave file at all"))),
      "WAV_BAD_HEADER",
    );
    assert.equal(
      codeOf(() => readWav(new Uint8Array(4))),
      "WAV_TRUNCATED",
    );
    const noData = header(1, 1, 8000, 16, new Uint8Array(0)).subarray(0, 36);
    assert.equal(
      codeOf(() => readWav(noData)),
      "WAV_NO_DATA",
    );
  });

  it("reads and writes raw PCM16 LE", () => {
    const s = new Float32Array([0, -1, 0.5]);
    assert.deepEqual(Array.from(readPcm16le(writePcm16le(s))), Array.from(s));
    assert.equal(
      codeOf(() => readPcm16le(new Uint8Array(3))),
      "PCM_ODD_LENGTH",
    );
  });
});
