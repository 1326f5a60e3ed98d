import { crossCorrelation, nextPow2 } from "./fft.ts";

/**
 * Bad-interval realignment (ITU-T P.862 §10.2.9; Rix et al. 2002, part I): runs of badly disturbed
 * frames are assumed to be misaligned (a delay change the utterance alignment missed). Each run is
 * realigned on its own by waveform correlation and rescored; a frame keeps the lower disturbance.
 */

/** Frames whose symmetric disturbance exceeds this are candidates for realignment. */
export const BAD_FRAME_DISTURBANCE = 30;
/** Bad frames closer than this many frames form one interval. */
export const BAD_INTERVAL_JOIN = 5;
/** Shorter runs are left alone (a few bad frames are a real distortion, not a misalignment). */
export const MIN_BAD_FRAMES = 5;

/** [first, last) frame ranges of bad intervals. */
export function badIntervals(symmetric: Float64Array, frames: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let f = 0; f < frames; f++) {
    if (symmetric[f]! <= BAD_FRAME_DISTURBANCE) continue;
    const last = out[out.length - 1];
    if (last && f - last[1] < BAD_INTERVAL_JOIN) last[1] = f + 1;
    else out.push([f, f + 1]);
  }
  return out.filter(([a, b]) => b - a >= MIN_BAD_FRAMES);
}

/**
 * Delay within ±range of `around` maximising the normalised correlation of the magnitudes |ref| and
 * |deg| over reference samples [from, to); undefined when the best lag lies on the range's edge or its
 * correlation is below `minCorrelation` (noise against noise: nothing to realign).
 */
export function bestDelay(
  ref: Float64Array,
  deg: Float64Array,
  from: number,
  to: number,
  around: number,
  range: number,
  minCorrelation = 0,
): number | undefined {
  const length = to - from;
  const span = length + 2 * range;
  const size = nextPow2(length + span);
  const a = new Float64Array(size);
  const b = new Float64Array(size);
  let refEnergy = 0;
  for (let i = 0; i < length; i++) {
    const r = ref[from + i] ?? 0;
    a[i] = Math.abs(r);
    refEnergy += r * r;
  }
  // Degraded window: delays around-range … around+range; prefix energies for normalisation.
  const base = from + around - range;
  const prefix = new Float64Array(span + 1);
  for (let i = 0; i < span; i++) {
    const j = base + i;
    const d = j >= 0 && j < deg.length ? deg[j]! : 0;
    b[i] = Math.abs(d);
    prefix[i + 1] = prefix[i]! + d * d;
  }
  const corr = crossCorrelation(a, b);
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  // Normalised by the degraded energy under each lag, so that a louder stretch does not win by
  // its loudness; a best lag on the edge of the range is no peak, and nothing is realigned.
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let k = 0; k <= 2 * range; k++) {
    const score = corr[k]! / Math.sqrt(prefix[k + length]! - prefix[k]! + 1e-9);
    if (score > bestScore * (1 + 1e-9)) {
      bestScore = score;
      bestValue = corr[k]!;
      best = k;
    }
  }
  if (best === 0 || best === 2 * range) return undefined;
  const degEnergy = prefix[best + length]! - prefix[best]!;
  const normalised = bestValue / Math.sqrt(refEnergy * degEnergy + 1e-30);
  return normalised >= minCorrelation ? around - range + best : undefined;
}
