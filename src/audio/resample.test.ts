import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rmsDbfs } from "./levels.ts";
import { resample } from "./resample.ts";

function tone(freq: number, rate: number, seconds: number, amplitude = 0.5): Float32Array {
  const out = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < out.length; i++) out[i] = amplitude * Math.sin((2 * Math.PI * freq * i) / rate);
  return out;
}

/** Amplitude of `freq` in `x` by correlation with a quadrature pair. */
function amplitudeAt(x: Float32Array, freq: number, rate: number): number {
  let c = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    c += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    s += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(c, s)) / x.length;
}

describe("resample", () => {
  it("keeps an in-band tone and its level (48 kHz → 16 kHz)", () => {
    const out = resample(tone(1000, 48000, 0.5), 48000, 16000);
    assert.equal(out.length, 8000);
    assert.ok(Math.abs(amplitudeAt(out.subarray(200, 7800), 1000, 16000) - 0.5) < 0.01);
  });

  it("removes a tone above the new Nyquist (16 kHz → 8 kHz)", () => {
    const out = resample(tone(6000, 16000, 0.5), 16000, 8000);
    assert.ok(rmsDbfs(out.subarray(100, 3900)) < -50);
  });

  it("upsamples 8 kHz → 44.1 kHz", () => {
    const out = resample(tone(440, 8000, 0.25), 8000, 44100);
    assert.equal(out.length, Math.floor((2000 * 44100) / 8000));
    assert.ok(Math.abs(amplitudeAt(out.subarray(500, 10500), 440, 44100) - 0.5) < 0.01);
  });
});
