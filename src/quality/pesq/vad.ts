import { positiveRuns } from "./positive-runs.ts";

/**
 * Voice activity detection on 4 ms windows (spec 01 §1.8). Produces the processed energy `e`
 * (positive on speech, 0 elsewhere) that locates utterances, and the log-domain `l` = ln(e/t) on
 * speech that the coarse delay correlates.
 */
export interface VadResult {
  energy: Float32Array;
  logEnergy: Float32Array;
  threshold: number;
}

/** Refinements of the noise threshold. */
const ITERATIONS = 12;
/** Speech runs this short (in windows) or shorter are dropped as clicks. */
const SHORT_RUN = 4;
/** Speech runs this close (in windows) are joined. */
const JOIN_GAP = 50;

export function voiceActivity(work: Float32Array, nominal: number, W: number): VadResult {
  const V = Math.trunc(nominal / W);
  const e = new Float32Array(V);
  let total = 0;
  let max = 0;
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let i = v * W; i < (v + 1) * W; i++) s += work[i]! * work[i]!;
    e[v] = s / W;
    total += e[v]!;
    if (e[v]! > max) max = e[v]!;
  }
  let t = Math.fround(total / V);
  const m = max > 0 ? Math.fround(max * 1e-4) : 1;
  for (let v = 0; v < V; v++) if (e[v]! < m) e[v] = m;

  for (let it = 0; it < ITERATIONS; it++) {
    let sum = 0;
    let count = 0;
    for (let v = 0; v < V; v++) {
      if (e[v]! <= t) {
        sum += e[v]!;
        count++;
      }
    }
    const mean = count > 0 ? sum / count : 0;
    let dev = 0;
    for (let v = 0; v < V; v++) if (e[v]! <= t) dev += (e[v]! - mean) ** 2;
    const std = count > 0 ? Math.sqrt(dev / count) : 0;
    t = Math.fround(1.001 * (mean + 2 * std));
  }

  let signalSum = 0;
  let signalCount = 0;
  let noiseSum = 0;
  let noiseCount = 0;
  for (let v = 0; v < V; v++) {
    if (e[v]! > t) {
      signalSum += e[v]!;
      signalCount++;
    } else {
      noiseSum += e[v]!;
      noiseCount++;
    }
  }
  const signalLevel = signalCount > 0 ? signalSum / signalCount : 0;
  if (signalCount === 0) t = -1;
  const noiseLevel = noiseCount > 0 ? noiseSum / noiseCount : 1;

  for (let v = 0; v < V; v++) if (e[v]! <= t) e[v] = -e[v]!;
  e[0] = -m;
  e[V - 1] = -m;

  positiveRuns(e, (a, b) => {
    if (b - a <= SHORT_RUN) for (let v = a; v < b; v++) e[v] = -e[v]!;
  });
  if (signalLevel >= 1000 * noiseLevel) {
    positiveRuns(e, (a, b) => {
      let s = 0;
      for (let v = a; v < b; v++) s += e[v]!;
      if (s < 3 * t * (b - a)) for (let v = a; v < b; v++) e[v] = -e[v]!;
    });
  }
  let previousEnd = -1;
  positiveRuns(e, (a, b) => {
    if (previousEnd >= 0 && a - previousEnd <= JOIN_GAP) for (let v = previousEnd; v < a; v++) e[v] = m;
    previousEnd = b;
  });
  let anySpeech = false;
  for (let v = 0; v < V; v++) if (e[v]! > 0) anySpeech = true;
  if (!anySpeech) {
    for (let v = 0; v < V; v++) e[v] = Math.abs(e[v]!);
    e[0] = -m;
    e[V - 1] = -m;
  }

  for (let v = 3; v < V - 2; v++) {
    if (e[v]! > 0 && e[v - 2]! <= 0) {
      e[v - 2] = 0.1 * e[v]!;
      e[v - 1] = 0.3 * e[v]!;
      v++;
    }
    if (e[v]! <= 0 && e[v - 1]! > 0) {
      e[v] = 0.3 * e[v - 1]!;
      e[v + 1] = 0.1 * e[v - 1]!;
      v += 3;
    }
  }
  for (let v = 0; v < V; v++) if (e[v]! < 0) e[v] = 0;

  if (t <= 0) t = m;
  const logEnergy = new Float32Array(V);
  for (let v = 0; v < V; v++) logEnergy[v] = e[v]! <= t ? 0 : Math.log(e[v]! / t);
  return { energy: e, logEnergy, threshold: t };
}
