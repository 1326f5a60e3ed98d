import { nextPow2, realFft } from "./fft.ts";
import { perSize } from "./per-size.ts";

/**
 * Coarse delay by correlating log-VAD envelopes (spec 01 §1.9). Lags are in samples, positive
 * when the degraded signal is late.
 */

export interface CorrelationScratch {
  a: Float64Array;
  b: Float64Array;
  A: Float64Array;
  B: Float64Array;
  out: Float32Array;
}

/**
 * Buffers of one transform length, reused by every envelope correlation of that length (these and
 * the bad intervals' in bad-intervals.ts); valid until the next correlation of that length.
 */
export const correlationScratch: (R: number) => CorrelationScratch = perSize(
  (R): CorrelationScratch => ({
    a: new Float64Array(R),
    b: new Float64Array(R),
    A: realFft(R).createSpectrum(),
    B: realFft(R).createSpectrum(),
    out: new Float32Array(R),
  }),
);

/**
 * c[k] = Σ x[xs + i]·y[ys + i + k − (nr − 1)] for k in [0, nr + nd − 1), computed with FFTs of length
 * 2·nextPow2(max(nr, nd)) (spec 02 §2.8). The result is a view of scratch memory, valid until the
 * next correlation of the same transform length.
 */
export function envelopeCorrelation(
  x: Float32Array,
  xs: number,
  nr: number,
  y: Float32Array,
  ys: number,
  nd: number,
): Float32Array {
  const R = 2 * nextPow2(Math.max(nr, nd));
  const fft = realFft(R);
  const { a, b, A, B, out: scratchOut } = correlationScratch(R);
  for (let i = 0; i < nr; i++) a[i] = x[xs + nr - 1 - i]!;
  a.fill(0, nr);
  for (let i = 0; i < nd; i++) b[i] = y[ys + i]!;
  b.fill(0, nd);
  fft.forward(a, A);
  fft.forward(b, B);
  for (let k = 0; k <= R / 2; k++) {
    const ar = Math.fround(A[2 * k]!);
    const ai = Math.fround(A[2 * k + 1]!);
    const br = Math.fround(B[2 * k]!);
    const bi = Math.fround(B[2 * k + 1]!);
    A[2 * k] = Math.fround(ar * br - ai * bi);
    A[2 * k + 1] = Math.fround(ar * bi + ai * br);
  }
  fft.inverse(A, a);
  const out = scratchOut.subarray(0, nr + nd - 1);
  for (let k = 0; k < out.length; k++) out[k] = a[k]!;
  return out;
}

/** Index of the first strict maximum above 0, starting from nr − 1 (lag 0). */
function bestIndex(c: Float32Array, nr: number): number {
  let best = 0;
  let index = nr - 1;
  for (let k = 0; k < c.length; k++) {
    if (c[k]! > best) {
      best = c[k]!;
      index = k;
    }
  }
  return index;
}

/** Whole-signal coarse delay (spec 01 §1.9 steps 1–6). */
export function wholeSignalDelay(ref: Float32Array, deg: Float32Array, W: number): number {
  if (ref.length <= 1 || deg.length <= 1) return 0;
  const c = envelopeCorrelation(ref, 0, ref.length, deg, 0, deg.length);
  return (bestIndex(c, ref.length) - ref.length + 1) * W;
}

/**
 * Coarse delay of the reference windows [s0, s1) seeded with `seed` samples (spec 01 §1.9 step 7).
 * `onOutput` sees each correlation that runs (the split search needs its length and values).
 */
export function segmentDelay(
  ref: Float32Array,
  deg: Float32Array,
  s0: number,
  s1: number,
  seed: number,
  W: number,
  onOutput?: (c: Float32Array) => void,
): number {
  let start = s0;
  let nr = s1 - start;
  let sd = start + Math.trunc(seed / W);
  if (sd < 0) {
    start = -Math.trunc(seed / W);
    sd = 0;
    nr = s1 - start;
  }
  let nd = nr;
  if (sd + nd > deg.length) nd = deg.length - sd;
  if (nr <= 1 || nd <= 1) return seed;
  const c = envelopeCorrelation(ref, start, nr, deg, sd, nd);
  onOutput?.(c);
  return (bestIndex(c, nr) - nr + 1) * W + seed;
}
