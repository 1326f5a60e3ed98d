import { aggregateDisturbance } from "./aggregation.ts";
import {
  audiblePower,
  BarkAnalyzer,
  compensateFrequencyResponse,
  compensateGain,
  loudness,
  SILENCE_POWER,
  smoothGain,
} from "./auditory-transform.ts";
import { badIntervals, bestDelay } from "./bad-intervals.ts";
import type { PesqRateConfig } from "./config.ts";
import { DisturbanceMeter } from "./disturbance.ts";
import type { Utterance } from "./time-align.ts";

/**
 * The perceptual model over time-aligned signals (ITU-T P.862 §10.2): every 16 ms a 32 ms frame of
 * the reference and the delay-compensated degraded signal go through the auditory transform; the
 * loudness difference gives a symmetric and an asymmetric frame disturbance, bad intervals are
 * realigned, and the frame values are aggregated over time.
 */
export interface ModelOutput {
  disturbance: number;
  asymmetric: number;
  /** Per-frame values after realignment (for diagnostics). */
  frameDisturbance: Float64Array;
  frameAsymmetric: Float64Array;
  frameDelay: Int32Array;
}

/** Frames louder than this weigh less: disturbance / ((P + 1e5) / 1e7)^0.04. */
const LOUDNESS_WEIGHT_POWER = 0.04;
/** Bad intervals are realigned within ± this many perceptual frame lengths (128 ms) of their delay. */
const REALIGN_RANGE_FRAMES = 4;
/** Frame disturbances are clipped here. */
const MAX_FRAME_DISTURBANCE = 45;

/** Delay of each frame: the utterance holding the frame centre; borders halfway between utterances. */
function frameDelays(frames: number, hop: number, frameLength: number, pad: number, D: number, utts: Utterance[]) {
  const delays = new Int32Array(frames);
  let u = 0;
  for (let f = 0; f < frames; f++) {
    const centre = (pad + f * hop + frameLength / 2) / D;
    while (u < utts.length - 1 && centre >= (utts[u]!.end + utts[u + 1]!.start) / 2) u++;
    delays[f] = utts[u]!.delay;
  }
  return delays;
}

/**
 * The active interval of the reference (P.862 §10.2.2): from the first to the last position where
 * five successive absolute sample values sum to more than 500; leading and trailing silence is not
 * scored. Returns the first and last frame inside it.
 */
function activeFrames(ref: Float64Array, pad: number, length: number, hop: number, frames: number): [number, number] {
  const sum5 = (i: number) =>
    Math.abs(ref[i]!) + Math.abs(ref[i + 1]!) + Math.abs(ref[i + 2]!) + Math.abs(ref[i + 3]!) + Math.abs(ref[i + 4]!);
  let start = pad;
  while (start < pad + length - 5 && sum5(start) <= 500) start++;
  let stop = pad + length - 5;
  while (stop > start && sum5(stop) <= 500) stop--;
  const first = Math.max(0, Math.floor((start - pad) / hop));
  const last = Math.min(frames - 1, Math.floor((stop - pad) / hop));
  return first <= last ? [first, last] : [0, frames - 1];
}

/**
 * Zeroing of the frame disturbance (P.862 §10.2): where the delay decreases by more than half a
 * frame (16 ms), the degraded frames step back over material already scored (content the system
 * dropped); those frames are not scored again. A frame is zeroed while its degraded start lies
 * before the furthest degraded start reached so far.
 */
function zeroRepeatedFrames(sym: Float64Array, asym: Float64Array, delays: Int32Array, hop: number): void {
  let reached = Number.NEGATIVE_INFINITY;
  for (let f = 0; f < sym.length; f++) {
    const degStart = f * hop + delays[f]!;
    if (degStart < reached) {
      sym[f] = 0;
      asym[f] = 0;
    } else reached = degStart;
  }
}

/**
 * `ref` and `deg` are the filtered, level-aligned signals with `pad` samples of silence on each side;
 * `refLength` is the reference length without padding.
 */
export function perceptualModel(
  ref: Float64Array,
  deg: Float64Array,
  refLength: number,
  pad: number,
  utterances: Utterance[],
  cfg: PesqRateConfig,
): ModelOutput {
  const N = cfg.frameLength;
  const hop = N / 2;
  const bands = cfg.bands;
  const nb = bands.count;
  const frames = Math.floor((refLength - N) / hop) + 1;
  const delays = frameDelays(frames, hop, N, pad, cfg.envelopeFrame, utterances);
  const analyzer = new BarkAnalyzer(N, bands, cfg.powerScale);
  const refPpd = new Float64Array(frames * nb);
  const degPpd = new Float64Array(frames * nb);
  const speech = new Uint8Array(frames);
  const loudWeight = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const start = pad + f * hop;
    analyzer.analyse(ref, start, refPpd, f * nb);
    analyzer.analyse(deg, start + delays[f]!, degPpd, f * nb);
    const audible = audiblePower(refPpd, f * nb, bands, 1);
    speech[f] = audible >= SILENCE_POWER ? 1 : 0;
    loudWeight[f] = 1 / ((audible + 1e5) / 1e7) ** LOUDNESS_WEIGHT_POWER;
  }
  compensateFrequencyResponse(refPpd, degPpd, frames, speech, bands);
  const gains = compensateGain(refPpd, degPpd, frames, bands);

  const refLoud = new Float64Array(frames * nb);
  const degLoud = new Float64Array(frames * nb);
  const meter = new DisturbanceMeter(bands);
  const sym = new Float64Array(frames);
  const asym = new Float64Array(frames);
  const score = (f: number, degP: Float64Array, degL: Float64Array, offset: number): [number, number] => {
    loudness(degP, offset, bands, cfg.loudnessScale, degL, offset);
    const d = meter.measure(refLoud, degL, refPpd, degP, f * nb, offset);
    const w = loudWeight[f]!;
    return [Math.min(d.symmetric * w, MAX_FRAME_DISTURBANCE), Math.min(d.asymmetric * w, MAX_FRAME_DISTURBANCE)];
  };
  for (let f = 0; f < frames; f++) {
    loudness(refPpd, f * nb, bands, cfg.loudnessScale, refLoud, f * nb);
    [sym[f], asym[f]] = score(f, degPpd, degLoud, f * nb);
  }

  const oneDeg = new Float64Array(nb);
  const oneLoud = new Float64Array(nb);
  for (const [first, last] of badIntervals(sym, frames)) {
    const delay = bestDelay(
      ref,
      deg,
      pad + first * hop,
      pad + last * hop + hop,
      delays[first]!,
      REALIGN_RANGE_FRAMES * N,
    );
    if (delay === undefined || delay === delays[first]) continue;
    let g = first > 0 ? gains[first - 1]! : 1;
    for (let f = first; f < last; f++) {
      analyzer.analyse(deg, pad + f * hop + delay, oneDeg, 0);
      g = smoothGain(g, refPpd, f * nb, oneDeg, 0, bands);
      for (let b = 0; b < nb; b++) oneDeg[b] = oneDeg[b]! * g;
      const [s, a] = score(f, oneDeg, oneLoud, 0);
      if (s < sym[f]!) {
        sym[f] = s;
        asym[f] = a;
        delays[f] = delay;
      }
    }
  }
  zeroRepeatedFrames(sym, asym, delays, hop);
  const [first, last] = activeFrames(ref, pad, refLength, hop, frames);
  return {
    disturbance: aggregateDisturbance(sym, first, last),
    asymmetric: aggregateDisturbance(asym, first, last),
    frameDisturbance: sym,
    frameAsymmetric: asym,
    frameDelay: delays,
  };
}
