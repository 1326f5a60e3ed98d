/**
 * Time weighting and aggregation of frame disturbances (spec 04 §4.7–4.8): an L6 mean over
 * syllables of 20 frames (step 10), then an L2 mean over the syllables.
 */
export const SYLLABLE_FRAMES = 20;
const SYLLABLE_STEP = 10;

export function aggregateDisturbance(
  values: Float32Array,
  frameStart: number,
  frameStop: number,
  nominalMax: number,
  margin: number,
  hop: number,
): number {
  let f = 0;
  let n = 1;
  if (frameStop + 1 > 1000) {
    n = Math.trunc((nominalMax - 2 * margin) / hop) - 1;
    f = Math.min((n - 1000) / 5500, 0.5);
  }
  let sum = 0;
  let weights = 0;
  for (let s = frameStart; s <= frameStop; s += SYLLABLE_STEP) {
    let syl = 0;
    for (let k = s; k < s + SYLLABLE_FRAMES && k <= frameStop; k++) syl += values[k]! ** 6;
    const syllable = (syl / SYLLABLE_FRAMES) ** (1 / 6);
    const w = 1 - f + (f * (s - frameStart)) / n;
    sum += (w * syllable) ** 2;
    weights += w * w;
  }
  return Math.sqrt(sum / weights);
}
