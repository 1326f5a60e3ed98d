import type { BarkBands } from "./bark-bands.ts";
import type { PesqRateConfig } from "./config.ts";
import { realFft } from "./fft.ts";
import { hannWindow } from "./fine-delay.ts";
import type { Utterance } from "./utterances.ts";

/**
 * Perceptual model part 1 (spec 03): frame layout, Bark-band pitch power densities, audibility,
 * frequency response compensation, loudness densities and local gain scaling.
 */

export interface FrameLayout {
  frameStart: number;
  frameStop: number;
}

/** Frames to process, after skipping leading and trailing silence of the reference (spec 03 §3.1). */
export function frameLayout(ref: Float32Array, nominalMax: number, cfg: PesqRateConfig): FrameLayout {
  const { margin, padding, hop } = cfg;
  // Five samples from `from`, stepping by `step` (±1), sum to less than 500 in magnitude.
  const quiet = (from: number, step: number) => {
    let s = 0;
    for (let i = 0; i < 5; i++) s += Math.abs(ref[from + step * i]!);
    return s < 500;
  };
  let skipStart = 0;
  while (quiet(margin + skipStart, 1) && skipStart < nominalMax / 2) skipStart++;
  let skipEnd = 0;
  while (quiet(nominalMax - margin + padding - 1 - skipEnd, -1) && skipEnd < nominalMax / 2) skipEnd++;
  return {
    frameStart: Math.trunc(skipStart / hop),
    frameStop: Math.trunc((nominalMax - 2 * margin + padding - skipEnd) / hop) - 1,
  };
}

/** Delay of the utterance governing sample `at`: the last one starting at or before it. */
export function governingDelay(utterances: Utterance[], at: number, W: number): number {
  let delay = utterances[0]!.delay;
  for (const u of utterances) if (u.start * W <= at) delay = u.delay;
  return delay;
}

/** Hann-windowed power spectrum warped to Bark bands (spec 03 §3.2–3.3). */
export class BarkAnalyzer {
  private readonly spectrum: Float64Array;
  private readonly power: Float64Array;
  private readonly window: Float32Array;

  constructor(private readonly cfg: PesqRateConfig) {
    const F = cfg.frameLength;
    this.spectrum = realFft(F).createSpectrum();
    this.power = new Float64Array(F / 2);
    this.window = hannWindow(F);
  }

  /** Pitch power density of the frame starting at `at` into out[offset, offset + bands). */
  analyze(signal: Float32Array, at: number, out: Float32Array, offset: number): void {
    const { frameLength: F, bands, powerScale } = this.cfg;
    const { spectrum, power, window } = this;
    realFft(F).forwardFrame(signal, at, window, spectrum);
    for (let k = 0; k < F / 2; k++) {
      const re = Math.fround(spectrum[2 * k]!);
      const im = Math.fround(spectrum[2 * k + 1]!);
      power[k] = Math.fround(re * re + im * im);
    }
    power[0] = 0;
    for (let b = 0; b < bands.count; b++) {
      let sum = 0;
      const first = bands.firstBin[b]!;
      for (let k = first; k < first + bands.binCount[b]!; k++) sum += power[k]!;
      out[offset + b] = sum * bands.powerDensityCorrection[b]! * powerScale;
    }
  }
}

/** Sum of the bands 1..B−1 above `factor` × hearing threshold (spec 03 §3.4). */
export function audiblePower(p: Float32Array, offset: number, bands: BarkBands, factor: number): number {
  let sum = 0;
  for (let b = 1; b < bands.count; b++) {
    const v = p[offset + b]!;
    if (v > factor * bands.absThreshold[b]!) sum += v;
  }
  return sum;
}

/** Silence flag: reference audible power at 100 × threshold below 1e7 (spec 03 §3.4 step 2). */
export const SILENCE_POWER = 1e7;

/**
 * Frequency response compensation of the reference toward the degraded average (spec 03 §3.5),
 * over frames 0..frameStop, in place on `pRef`.
 */
export function compensateFrequencyResponse(
  pRef: Float32Array,
  pDeg: Float32Array,
  silent: Uint8Array,
  frameStop: number,
  nominalMax: number,
  cfg: PesqRateConfig,
): void {
  const { bands } = cfg;
  const B = bands.count;
  const divisor = Math.trunc((nominalMax - 2 * cfg.margin + cfg.padding) / cfg.hop) - 1;
  for (let b = 0; b < B; b++) {
    const limit = 100 * bands.absThreshold[b]!;
    let sumRef = 0;
    let sumDeg = 0;
    for (let f = 0; f <= frameStop; f++) {
      if (silent[f]) continue;
      const r = pRef[f * B + b]!;
      const d = pDeg[f * B + b]!;
      if (r > limit) sumRef += r;
      if (d > limit) sumDeg += d;
    }
    const avgRef = Math.fround(sumRef / divisor);
    const avgDeg = Math.fround(sumDeg / divisor);
    const x = Math.min(Math.max(Math.fround((avgDeg + 1000) / (avgRef + 1000)), 0.01), 100);
    for (let f = 0; f <= frameStop; f++) pRef[f * B + b] = pRef[f * B + b]! * x;
  }
}

/**
 * Local gain scaling of one degraded frame (spec 03 §3.7): returns the unclamped smoothed scale to
 * carry to the next frame; the clamped one multiplies the frame in place.
 */
export function scaleDegradedFrame(
  pDeg: Float32Array,
  offset: number,
  audibleRef: number,
  frame: number,
  previous: number,
  bands: BarkBands,
): number {
  const audibleDeg = audiblePower(pDeg, offset, bands, 1);
  let scale = Math.fround((audibleRef + 5000) / (audibleDeg + 5000));
  if (frame > 0) scale = Math.fround(0.2 * previous + 0.8 * scale);
  const next = scale;
  scale = Math.min(Math.max(scale, 3e-4), 5);
  for (let b = 0; b < bands.count; b++) pDeg[offset + b] = pDeg[offset + b]! * scale;
  return next;
}

/** Loudness densities by Zwicker's law (spec 03 §3.6). */
export function loudness(p: Float32Array, offset: number, out: Float32Array, cfg: PesqRateConfig): void {
  const { bands, loudnessScale } = cfg;
  for (let b = 0; b < bands.count; b++) {
    const t = bands.absThreshold[b]!;
    const v = p[offset + b]!;
    if (v > t) {
      const z = bands.zwickerPower[b]!;
      out[b] = bands.loudnessFactor[b]! * ((0.5 + (0.5 * v) / t) ** z - 1) * loudnessScale;
    } else out[b] = 0;
  }
}
