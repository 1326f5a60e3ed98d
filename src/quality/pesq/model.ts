import { realignBadIntervals } from "./bad-intervals.ts";
import type { PesqRateConfig } from "./config.ts";
import { BAD_FRAME_DISTURBANCE, DisturbanceMeter, normalizeDisturbance } from "./disturbance.ts";
import {
  audiblePower,
  BarkAnalyzer,
  compensateFrequencyResponse,
  frameLayout,
  governingDelay,
  loudness,
  SILENCE_POWER,
  scaleDegradedFrame,
} from "./perceptual-model.ts";
import { skippedFrames } from "./time-align.ts";
import type { Utterance } from "./utterances.ts";

/**
 * The frame loop of the perceptual model (spec 03) and the disturbance processing (spec 04 §4.1–4.6):
 * per-frame symmetric and asymmetric disturbances, ready for aggregation.
 */
export interface FrameDisturbances {
  frameStart: number;
  frameStop: number;
  symmetric: Float32Array;
  asymmetric: Float32Array;
  silentFrames: number;
  skippedFrames: number;
  badIntervals: number;
}

export function frameDisturbances(
  ref: Float32Array,
  deg: Float32Array,
  nominalMax: number,
  utterances: Utterance[],
  cfg: PesqRateConfig,
): FrameDisturbances {
  const { bands, margin, hop: Q, frameLength: F, padding, window: W } = cfg;
  const B = bands.count;
  const { frameStart, frameStop } = frameLayout(ref, nominalMax, cfg);
  const frames = frameStop + 1;
  const analyzer = new BarkAnalyzer(cfg);
  const pRef = new Float32Array(frames * B);
  const pDeg = new Float32Array(frames * B);
  const silent = new Uint8Array(frames);
  let silentFrames = 0;
  for (let f = 0; f < frames; f++) {
    const r0 = margin + f * Q;
    analyzer.analyze(ref, r0, pRef, f * B);
    const d0 = r0 + governingDelay(utterances, r0, W);
    if (d0 > 0 && d0 + F < nominalMax + padding) analyzer.analyze(deg, d0, pDeg, f * B);
    if (audiblePower(pRef, f * B, bands, 100) < SILENCE_POWER) {
      silent[f] = 1;
      silentFrames++;
    }
  }
  compensateFrequencyResponse(pRef, pDeg, silent, frameStop, nominalMax, cfg);

  const symmetric = new Float32Array(frames);
  const asymmetric = new Float32Array(frames);
  const audibleRef = new Float32Array(frames);
  const loudRef = new Float32Array(B);
  const loudDeg = new Float32Array(B);
  const meter = new DisturbanceMeter(bands);
  let anyBad = false;
  let previous = 1;
  for (let f = frameStart; f <= frameStop; f++) {
    audibleRef[f] = audiblePower(pRef, f * B, bands, 1);
    previous = scaleDegradedFrame(pDeg, f * B, audibleRef[f]!, f, previous, bands);
    loudness(pRef, f * B, loudRef, cfg);
    loudness(pDeg, f * B, loudDeg, cfg);
    const [sym, asym] = meter.measure(loudRef, loudDeg, pRef, pDeg, f * B);
    symmetric[f] = sym;
    asymmetric[f] = asym;
    if (sym > BAD_FRAME_DISTURBANCE) anyBad = true;
  }

  let skipped = 0;
  for (const [a, b] of skippedFrames(utterances, frameStop, cfg)) {
    for (let f = a; f <= b; f++) {
      symmetric[f] = 0;
      asymmetric[f] = 0;
      skipped++;
    }
  }

  let badIntervals = 0;
  if (anyBad) {
    const realigned = realignBadIntervals(ref, deg, symmetric, frameStop, utterances, nominalMax, cfg);
    if (realigned) {
      badIntervals = realigned.intervals.length;
      const p = new Float32Array(B);
      const pr = new Float32Array(B);
      for (const iv of realigned.intervals) {
        let prev = 1;
        for (let f = iv.start; f < iv.stop; f++) {
          analyzer.analyze(realigned.signal, margin + f * Q, p, 0);
          pr.set(pRef.subarray(f * B, (f + 1) * B));
          prev = scaleDegradedFrame(p, 0, audibleRef[f]!, f, prev, bands);
          loudness(pr, 0, loudRef, cfg);
          loudness(p, 0, loudDeg, cfg);
          const [sym, asym] = meter.measure(loudRef, loudDeg, pr, p, 0);
          if (sym < symmetric[f]!) symmetric[f] = sym;
          if (asym < asymmetric[f]!) asymmetric[f] = asym;
        }
      }
    }
  }
  normalizeDisturbance(symmetric, asymmetric, audibleRef, frameStart, frameStop);
  return {
    frameStart,
    frameStop,
    symmetric,
    asymmetric,
    silentFrames,
    skippedFrames: skipped,
    badIntervals,
  };
}
