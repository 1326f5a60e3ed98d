import { MARGIN_WINDOWS } from "./config.ts";

/**
 * Utterances of the reference (spec 01 §1.11–1.12): runs of speech windows at least 50 windows long
 * that the degraded signal can hold at the coarse delay, their search windows and boundaries.
 */
export interface Utterance {
  /** Search window [searchStart, searchEnd] in VAD windows. */
  searchStart: number;
  searchEnd: number;
  /** Boundaries [start, end) in VAD windows (margin included). */
  start: number;
  end: number;
  /** Coarse estimate, fine delay (samples) and confidence of the fine delay. */
  coarse: number;
  delay: number;
  confidence: number;
}

const MIN_UTTERANCE = 50;

/** Qualifying speech runs [a, c] of the processed energy `e` (spec 01 §1.11 steps 1–3). */
export function speechRuns(
  e: Float32Array,
  coarseDelay: number,
  degNominal: number,
  W: number,
): Array<[number, number]> {
  const V = e.length;
  const b1 = MIN_UTTERANCE - Math.trunc(coarseDelay / W);
  const b2 = Math.trunc((degNominal - coarseDelay) / W) - MIN_UTTERANCE;
  const runs: Array<[number, number]> = [];
  let start = -1;
  for (let v = 0; v < V; v++) {
    const speech = e[v]! > 0;
    if (speech && start < 0) start = v;
    if (start >= 0 && (!speech || v === V - 1)) {
      const c = v;
      if (c - start >= MIN_UTTERANCE && start < b2 && c > b1) runs.push([start, c]);
      start = -1;
    }
  }
  return runs;
}

/** Search windows: runs widened by 75 windows each side (spec 01 §1.11 step 4). */
export function searchWindows(runs: Array<[number, number]>, V: number): Array<[number, number]> {
  return runs.map(([a, c]) => [Math.max(a - MARGIN_WINDOWS, 0), Math.min(c + MARGIN_WINDOWS, V - 1)]);
}

/** Boundaries from the runs and the fine delays (spec 01 §1.12 steps 2–5), in place. */
export function setBoundaries(
  utterances: Utterance[],
  runs: Array<[number, number]>,
  V: number,
  degNominal: number,
  W: number,
  margin: number,
): void {
  const n = utterances.length;
  for (let u = 0; u < n; u++) {
    utterances[u]!.start = runs[u]![0];
    utterances[u]!.end = runs[u]![1];
  }
  utterances[0]!.start = MARGIN_WINDOWS;
  utterances[n - 1]!.end = V - MARGIN_WINDOWS;
  for (let u = 1; u < n; u++) {
    const mid = Math.trunc((utterances[u]!.start + utterances[u - 1]!.end) / 2);
    utterances[u]!.start = mid;
    utterances[u - 1]!.end = mid;
  }
  const first = utterances[0]!;
  if (first.start * W + first.delay < margin) first.start = MARGIN_WINDOWS + Math.trunc((W - 1 - first.delay) / W);
  const last = utterances[n - 1]!;
  if (last.end * W + last.delay > degNominal - margin) {
    last.end = Math.trunc((degNominal - last.delay) / W) - MARGIN_WINDOWS;
  }
  for (let u = 1; u < n; u++) {
    const cur = utterances[u]!;
    const prev = utterances[u - 1]!;
    const a = cur.start * W + cur.delay;
    const b = prev.end * W + prev.delay;
    if (a < b) {
      const c = Math.trunc((a + b) / 2);
      cur.start = Math.trunc((W - 1 + c - cur.delay) / W);
      prev.end = Math.trunc((c - prev.delay) / W);
    }
  }
}
