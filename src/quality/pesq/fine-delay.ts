import type { FrameCorrelations } from "./frame-correlations.ts";
import { perSize } from "./per-size.ts";

/**
 * Fine time alignment per utterance (spec 01 §1.10): a histogram of the cross-correlation peaks of
 * Hann-windowed frames of A samples (75 % overlap), smoothed, normalized and read at its peak.
 */

export function hannWindow(size: number): Float32Array {
  const w = new Float32Array(size);
  for (let n = 0; n < size; n++) w[n] = 0.5 * (1 - Math.cos((2 * Math.PI * n) / size));
  return w;
}

/** A shared Hann window of `size` samples (read only). */
export const sharedHannWindow: (size: number) => Float32Array = perSize(hannWindow);

/** Lag of the first maximum of `h`, folded to negative above A/2. */
export function peakLag(h: Float32Array | Float64Array): number {
  let best = 0;
  let max = h[0]!;
  for (let p = 1; p < h.length; p++) {
    if (h[p]! > max) {
      max = h[p]!;
      best = p;
    }
  }
  return best >= h.length / 2 ? best - h.length : best;
}

export interface FineDelay {
  delay: number;
  confidence: number;
}

/** Fine delay of the reference windows [s0, s1) from the initial estimate `d0` (spec 01 §1.10). */
export function fineDelay(
  frames: FrameCorrelations,
  degNominal: number,
  s0: number,
  s1: number,
  d0: number,
  W: number,
  A: number,
): FineDelay {
  frames.useWindow(sharedHannWindow(A));
  const h = new Float64Array(A);
  let r = s0 * W;
  let d = r + d0;
  if (d < 0) {
    r = -d0;
    d = 0;
  }
  while (d + A <= degNominal && r + A <= s1 * W) {
    frames.correlate(r, d);
    const { weight, peaks, peakTo } = frames;
    for (let i = frames.peakFrom; i < peakTo; i++) {
      const p = peaks[i]!;
      h[p] = Math.fround(h[p]! + weight);
    }
    r += A / 4;
    d += A / 4;
  }
  let sum = 0;
  for (let p = 0; p < A; p++) sum += h[p]!;
  const radius = A / 64;
  const smooth = new Float32Array(A);
  if (sum > 0) {
    for (let p = 0; p < A; p++) {
      let s = h[p]!;
      for (let k = 1; k < radius; k++) {
        const kw = 1 - k / radius;
        s += kw * (h[(p + k) % A]! + h[(p - k + A) % A]!);
      }
      smooth[p] = Math.abs(s / sum);
    }
  }
  const lag = peakLag(smooth);
  const at = lag < 0 ? lag + A : lag;
  return { delay: d0 + lag, confidence: smooth[at]! };
}
