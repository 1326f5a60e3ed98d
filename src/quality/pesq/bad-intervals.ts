import { correlationScratch } from "./coarse-delay.ts";
import type { PesqRateConfig } from "./config.ts";
import { BAD_FRAME_DISTURBANCE } from "./disturbance.ts";
import { nextPow2, realFft } from "./fft.ts";
import { governingDelay } from "./perceptual-model.ts";
import { positiveRuns } from "./positive-runs.ts";
import type { Utterance } from "./utterances.ts";

/**
 * Bad intervals and their re-alignment (spec 04 §4.5): runs of frames with a large symmetric
 * disturbance get a delay of their own from an envelope correlation, and their frames are scored
 * again against the re-aligned degraded signal, keeping the smaller disturbance.
 */
export interface BadInterval {
  /** Frames [start, stop). */
  start: number;
  stop: number;
  startSample: number;
  stopSample: number;
  delay: number;
}

/** Shorter runs of bad frames are left as they are. */
const MIN_BAD_FRAMES = 5;
/** Intervals re-aligned at most. */
const MAX_INTERVALS = 1000;

/** Runs of (dilated) bad frames of at least 5 frames (spec 04 §4.5.1). */
export function detectBadIntervals(symmetric: Float32Array, frameStop: number): Array<[number, number]> {
  const bad = new Uint8Array(frameStop + 1);
  for (let f = 1; f <= frameStop; f++) bad[f] = symmetric[f]! > BAD_FRAME_DISTURBANCE ? 1 : 0;
  const dilated = new Uint8Array(frameStop + 1);
  for (let f = 2; f <= frameStop - 2; f++) {
    const left = bad[f]! | bad[f - 1]! | bad[f - 2]!;
    const right = bad[f]! | bad[f + 1]! | bad[f + 2]!;
    dilated[f] = left & right;
  }
  const out: Array<[number, number]> = [];
  positiveRuns(dilated, (a, b) => {
    if (b - a >= MIN_BAD_FRAMES && out.length < MAX_INTERVALS) out.push([a, b]);
  });
  return out;
}

/** The degraded signal shifted by each utterance's delay (spec 04 §4.5.2). */
export function realignedDegraded(
  deg: Float32Array,
  utterances: Utterance[],
  nominalMax: number,
  cfg: PesqRateConfig,
): Float32Array {
  const { margin, padding, window: W } = cfg;
  const size = nominalMax + padding;
  const t = new Float32Array(size);
  const lo = margin;
  const hi = size - margin - 1;
  for (let i = margin; i < size - margin; i++) {
    const delay = governingDelay(utterances, i, W);
    const j = Math.min(Math.max(i + delay, lo), hi);
    t[i] = deg[j]!;
  }
  return t;
}

/** Delay of one bad interval by normalized envelope correlation (spec 04 §4.5.3). */
export function intervalDelay(
  ref: Float32Array,
  t: Float32Array,
  startSample: number,
  stopSample: number,
  nominalMax: number,
  cfg: PesqRateConfig,
): number {
  const { margin, padding } = cfg;
  const s = 4 * cfg.frameLength;
  const n = stopSample - startSample;
  const m = 2 * s + n;
  const R = nextPow2(2 * m);
  const { a, b, A, B } = correlationScratch(R);
  a.fill(0);
  b.fill(0, m);
  const lo = margin;
  const hi = nominalMax + padding - margin - 1;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const v = ref[startSample + i]!;
    a[s + i] = Math.abs(v);
    s1 += v * v;
  }
  for (let i = 0; i < m; i++) {
    const j = Math.min(Math.max(startSample - s + i, lo), hi);
    const v = t[j]!;
    b[i] = Math.abs(v);
    s2 += v * v;
  }
  const p1 = s1 / R;
  const p2 = s2 / R;
  if (p1 <= 1e-6 || p2 <= 1e-6) return 0;
  const fft = realFft(R);
  fft.forward(a, A);
  fft.forward(b, B);
  for (let k = 0; k <= R / 2; k++) {
    const ar = Math.fround(A[2 * k]! / R);
    const ai = Math.fround(A[2 * k + 1]! / R);
    const br = Math.fround(B[2 * k]!);
    const bi = Math.fround(B[2 * k + 1]!);
    A[2 * k] = ar * br + ai * bi;
    A[2 * k + 1] = ar * bi - ai * br;
  }
  fft.inverse(A, a);
  const norm = Math.sqrt(p1 * p2);
  let best = 0;
  let lag = 0;
  for (let tau = -s; tau < s; tau++) {
    const h = Math.abs(a[tau < 0 ? R + tau : tau]!) / norm;
    if (h > best) {
      best = h;
      lag = tau;
    }
  }
  return best < 0.5 ? 0 : lag;
}

/** Bad intervals with their delays, and the degraded signal re-aligned per interval (spec 04 §4.5.4). */
export function realignBadIntervals(
  ref: Float32Array,
  deg: Float32Array,
  symmetric: Float32Array,
  frameStop: number,
  utterances: Utterance[],
  nominalMax: number,
  cfg: PesqRateConfig,
): { intervals: BadInterval[]; signal: Float32Array } | null {
  const found = detectBadIntervals(symmetric, frameStop);
  if (found.length === 0) return null;
  const { hop: Q, frameLength: F, margin } = cfg;
  const t = realignedDegraded(deg, utterances, nominalMax, cfg);
  const intervals = found.map(([a, b]) => {
    const startSample = a * Q + margin;
    const stopSample = b * Q + F + margin;
    const delay = intervalDelay(ref, t, startSample, stopSample, nominalMax, cfg);
    return { start: a, stop: Math.min(b, frameStop), startSample, stopSample, delay };
  });
  const t2 = t.slice();
  for (const iv of intervals) {
    for (let i = iv.startSample; i < iv.stopSample; i++) {
      const j = Math.min(Math.max(i + iv.delay, 0), nominalMax - 1);
      t2[i] = t[j]!;
    }
  }
  return { intervals, signal: t2 };
}
