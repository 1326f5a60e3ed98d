import type { BarkBands } from "./bark-bands.ts";
import { realFft } from "./fft.ts";

/**
 * The auditory transform of PESQ (ITU-T P.862 §10.2.1–10.2.5; Beerends et al. 2002, part II):
 * 32 ms Hann-windowed frames → power spectrum → pitch power density per Bark band, partial
 * compensation of the system's frequency response and of short-term gain changes, then Zwicker's
 * law to loudness densities (sone per Bark).
 */

export class BarkAnalyzer {
  private readonly window: Float64Array;
  private readonly frame: Float64Array;
  private readonly spectrum: Float64Array;

  constructor(
    readonly frameLength: number,
    readonly bands: BarkBands,
    readonly powerScale: number,
  ) {
    this.window = new Float64Array(frameLength);
    for (let i = 0; i < frameLength; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / frameLength);
    this.frame = new Float64Array(frameLength);
    this.spectrum = realFft(frameLength).createSpectrum();
  }

  /** Pitch power density of the frame at `start` (zero outside the signal), written to out[offset..]. */
  analyse(signal: Float64Array, start: number, out: Float64Array, offset: number): void {
    const N = this.frameLength;
    const { frame, window, spectrum, bands } = this;
    if (start >= 0 && start + N <= signal.length) {
      for (let i = 0; i < N; i++) frame[i] = signal[start + i]! * window[i]!;
    } else {
      for (let i = 0; i < N; i++) {
        const s = start + i;
        frame[i] = s >= 0 && s < signal.length ? signal[s]! * window[i]! : 0;
      }
    }
    realFft(N).forward(frame, spectrum);
    for (let b = 0; b < bands.count; b++) {
      const first = bands.firstBin[b]!;
      const last = first + bands.binCount[b]!;
      let sum = 0;
      for (let k = first; k < last; k++) {
        const re = spectrum[2 * k]!;
        const im = spectrum[2 * k + 1]!;
        sum += re * re + im * im;
      }
      out[offset + b] = sum * bands.powerDensityCorrection[b]! * this.powerScale;
    }
  }
}

/** Σ of band densities above `factor` × the hearing threshold (bands from 1; band 0 is DC). */
export function audiblePower(ppd: Float64Array, offset: number, bands: BarkBands, factor: number): number {
  let sum = 0;
  for (let b = 1; b < bands.count; b++) {
    const v = ppd[offset + b]!;
    if (v > factor * bands.absThreshold[b]!) sum += v;
  }
  return sum;
}

/** Frames whose reference audible power is below this are silent. */
export const SILENCE_POWER = 1e7;

/**
 * Partial compensation of the system's frequency response: the reference is multiplied per band by
 * the ratio of the degraded to reference mean audible density over speech frames (offset 1000,
 * bounded to ±20 dB), so that linear filtering is only partly penalised.
 */
export function compensateFrequencyResponse(
  ref: Float64Array,
  deg: Float64Array,
  frames: number,
  speech: Uint8Array,
  bands: BarkBands,
): void {
  const nb = bands.count;
  for (let b = 0; b < nb; b++) {
    const threshold = 100 * bands.absThreshold[b]!;
    let sumRef = 0;
    let sumDeg = 0;
    let n = 0;
    for (let f = 0; f < frames; f++) {
      if (!speech[f]) continue;
      n++;
      const r = ref[f * nb + b]!;
      const d = deg[f * nb + b]!;
      if (r > threshold) sumRef += r;
      if (d > threshold) sumDeg += d;
    }
    if (n > 0) {
      sumRef /= n;
      sumDeg /= n;
    }
    let ratio = (sumDeg + 1000) / (sumRef + 1000);
    if (ratio > 100) ratio = 100;
    else if (ratio < 0.01) ratio = 0.01;
    for (let f = 0; f < frames; f++) ref[f * nb + b] = ref[f * nb + b]! * ratio;
  }
}

/**
 * One step of the short-term gain compensation: the ratio of reference to degraded audible power
 * (offset 5000), bounded to [3e-4, 5], then low-passed along time (0.2 of the previous value).
 */
export function smoothGain(
  previous: number,
  ref: Float64Array,
  refOffset: number,
  deg: Float64Array,
  degOffset: number,
  bands: BarkBands,
): number {
  const r = audiblePower(ref, refOffset, bands, 1);
  const d = audiblePower(deg, degOffset, bands, 1);
  let ratio = (r + 5000) / (d + 5000);
  if (ratio > 5) ratio = 5;
  else if (ratio < 3e-4) ratio = 3e-4;
  return 0.2 * previous + 0.8 * ratio;
}

/**
 * Compensation of short-term gain variation: each degraded frame is scaled by the smoothed ratio of
 * reference to degraded audible power (offset 5000, bounded to [3e-4, 5], first-order smoothing).
 * Returns the gain applied to each frame.
 */
export function compensateGain(ref: Float64Array, deg: Float64Array, frames: number, bands: BarkBands): Float64Array {
  const nb = bands.count;
  const gains = new Float64Array(frames);
  let g = 1;
  for (let f = 0; f < frames; f++) {
    g = smoothGain(g, ref, f * nb, deg, f * nb, bands);
    gains[f] = g;
    for (let b = 0; b < nb; b++) deg[f * nb + b] = deg[f * nb + b]! * g;
  }
  return gains;
}

/** Zwicker's law: loudness density (sone/Bark) of each band of one frame. */
export function loudness(
  ppd: Float64Array,
  offset: number,
  bands: BarkBands,
  loudnessScale: number,
  out: Float64Array,
  outOffset: number,
): void {
  const scale = bands.loudnessFactor;
  for (let b = 0; b < bands.count; b++) {
    const p0 = bands.absThreshold[b]!;
    const x = 0.5 + (0.5 * ppd[offset + b]!) / p0;
    // (x^g − 1) ≤ 0 when the density is at or below the threshold: no loudness.
    out[outOffset + b] = x > 1 ? loudnessScale * scale[b]! * (Math.exp(bands.zwickerPower[b]! * Math.log(x)) - 1) : 0;
  }
}
