/**
 * Aggregation over time (ITU-T P.862 §10.2.10): frame disturbances are combined with an L6 norm
 * over split-second intervals of 20 frames (320 ms) overlapping by 50 %, and the intervals with an
 * L2 norm over the active part of the file; a few large disturbances weigh more than many small ones.
 * An interval running past the last frame counts the missing frames as undisturbed.
 */
export const SPLIT_SECOND_FRAMES = 20;

/** Aggregate of frames [first, last]. */
export function aggregateDisturbance(values: Float64Array, first: number, last: number): number {
  const hop = SPLIT_SECOND_FRAMES / 2;
  let sumSq = 0;
  let intervals = 0;
  for (let start = first; start <= last; start += hop) {
    const end = Math.min(start + SPLIT_SECOND_FRAMES - 1, last);
    let sum6 = 0;
    for (let f = start; f <= end; f++) sum6 += values[f]! ** 6;
    const l6 = (sum6 / SPLIT_SECOND_FRAMES) ** (1 / 6);
    sumSq += l6 * l6;
    intervals++;
  }
  return intervals > 0 ? Math.sqrt(sumSq / intervals) : 0;
}
