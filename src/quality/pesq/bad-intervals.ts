/**
 * Bad-interval realignment (ITU-T P.862 §10.2.9; Rix et al. 2002, part I): runs of badly disturbed
 * frames are assumed to be misaligned (a delay change the utterance alignment missed). Each run is
 * realigned on its own by waveform correlation and rescored; a frame keeps the lower disturbance.
 */

/** Frames whose symmetric disturbance exceeds this are candidates for realignment. */
export const BAD_FRAME_DISTURBANCE = 15;
/** Bad frames closer than this many frames form one interval. */
export const BAD_INTERVAL_JOIN = 5;

/** [first, last) frame ranges of bad intervals. */
export function badIntervals(symmetric: Float64Array, frames: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let f = 0; f < frames; f++) {
    if (symmetric[f]! <= BAD_FRAME_DISTURBANCE) continue;
    const last = out[out.length - 1];
    if (last && f - last[1] < BAD_INTERVAL_JOIN) last[1] = f + 1;
    else out.push([f, f + 1]);
  }
  return out;
}

/** Delay within ±range of `around` maximising Σ ref[i]·deg[i+delay] over reference samples [from, to). */
export function bestDelay(
  ref: Float64Array,
  deg: Float64Array,
  from: number,
  to: number,
  around: number,
  range: number,
): number {
  let best = around;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let delay = around - range; delay <= around + range; delay++) {
    let sum = 0;
    const lo = Math.max(from, -delay);
    const hi = Math.min(to, deg.length - delay);
    for (let i = lo; i < hi; i++) sum += ref[i]! * deg[i + delay]!;
    if (sum > bestValue) {
      bestValue = sum;
      best = delay;
    }
  }
  return best;
}
