import { segmentDelay, wholeSignalDelay } from "./coarse-delay.ts";
import { MARGIN_WINDOWS, type PesqRateConfig } from "./config.ts";
import { fineDelay } from "./fine-delay.ts";
import { frameCorrelations } from "./frame-correlations.ts";
import { splitUtterances } from "./utterance-split.ts";
import { searchWindows, setBoundaries, speechRuns, type Utterance } from "./utterances.ts";
import type { VadResult } from "./vad.ts";

/**
 * Time alignment (spec 01 §1.9–1.13): whole-signal coarse delay, utterances with their own coarse
 * and fine delays, boundaries, then splitting. Returns no utterance when the reference has none.
 */
export function alignUtterances(
  refWork: Float32Array,
  degWork: Float32Array,
  refVad: VadResult,
  degVad: VadResult,
  degNominal: number,
  cfg: PesqRateConfig,
): Utterance[] {
  const { window: W, alignLength: A, margin } = cfg;
  const V = refVad.energy.length;
  const coarse = wholeSignalDelay(refVad.logEnergy, degVad.logEnergy, W);
  const runs = speechRuns(refVad.energy, coarse, degNominal, W);
  if (runs.length === 0) return [];
  const frames = frameCorrelations(A);
  frames.begin(refWork, degWork);
  const utterances: Utterance[] = searchWindows(runs, V).map(([s0, s1]) => {
    const est = segmentDelay(refVad.logEnergy, degVad.logEnergy, s0, s1, coarse, W);
    const fine = fineDelay(frames, degNominal, s0, s1, est, W, A);
    return {
      searchStart: s0,
      searchEnd: s1,
      start: 0,
      end: 0,
      coarse: est,
      delay: fine.delay,
      confidence: fine.confidence,
    };
  });
  setBoundaries(utterances, runs, V, degNominal, W, margin);
  splitUtterances(utterances, {
    refEnergy: refVad.energy,
    refLog: refVad.logEnergy,
    degLog: degVad.logEnergy,
    frames,
    degNominal,
    cfg,
  });
  return utterances;
}

/**
 * Frames whose disturbance is forced to zero after a negative delay jump of more than one hop
 * between adjacent utterances (spec 01 §1.14), as inclusive ranges below `frameStop`. The spec's
 * 128 samples is the model hop Q at 8 kHz; at 16 kHz both the threshold and the divisor are Q = 256
 * (frame indices are in hops).
 */
export function skippedFrames(
  utterances: Utterance[],
  frameStop: number,
  cfg: PesqRateConfig,
): Array<[number, number]> {
  const { window: W, hop: Q } = cfg;
  const out: Array<[number, number]> = [];
  for (let u = 1; u < utterances.length; u++) {
    const j0 = utterances[u - 1]!.delay;
    const j1 = utterances[u]!.delay;
    if (j1 - j0 >= -Q) continue;
    let f1 = Math.trunc(((utterances[u]!.start - MARGIN_WINDOWS) * W + j1) / Q);
    const j = Math.trunc(((utterances[u - 1]!.end - MARGIN_WINDOWS) * W + j0) / Q);
    if (f1 > j) f1 = j;
    if (f1 < 0) f1 = 0;
    const f2 = Math.trunc(((utterances[u]!.start - MARGIN_WINDOWS) * W + Math.max(0, Math.abs(j1 - j0))) / Q) + 1;
    const last = Math.min(f2, frameStop - 1);
    if (f1 <= last) out.push([f1, last]);
  }
  return out;
}
