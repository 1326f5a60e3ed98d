/**
 * Voice activity on 4 ms frames (ITU-T P.862 §10.1.2, Rix et al. 2002 part I).
 *
 * The noise floor is estimated iteratively from the frames below the current threshold; frames
 * above the threshold are active. Active bursts shorter than 16 ms are dropped. The envelope used for
 * alignment is log(E/threshold) on active frames and 0 elsewhere.
 */
export interface VadResult {
  /** Mean power per envelope frame. */
  energy: Float64Array;
  /** log(E/threshold) on active frames, 0 elsewhere. */
  envelope: Float64Array;
  threshold: number;
  noiseLevel: number;
}

const THRESHOLD_ITERATIONS = 12;
const MIN_SPEECH_FRAMES = 4;

/**
 * `signal` may carry added silence: the noise floor is estimated on frames [firstFrame, lastFrame)
 * only, so that the padding does not pull the threshold down.
 */
export function voiceActivity(
  signal: Float64Array,
  frame: number,
  firstFrame = 0,
  lastFrame = Math.floor(signal.length / frame),
): VadResult {
  const count = Math.floor(signal.length / frame);
  const energy = new Float64Array(count);
  let mean = 0;
  for (let f = 0; f < count; f++) {
    let sum = 0;
    const start = f * frame;
    for (let i = start; i < start + frame; i++) sum += signal[i]! * signal[i]!;
    energy[f] = sum / frame;
    if (f >= firstFrame && f < lastFrame) mean += energy[f]!;
  }
  let threshold = lastFrame > firstFrame ? mean / (lastFrame - firstFrame) : 0;
  let noiseLevel = 0;
  for (let it = 0; it < THRESHOLD_ITERATIONS; it++) {
    let n = 0;
    let sum = 0;
    for (let f = firstFrame; f < lastFrame; f++) {
      if (energy[f]! <= threshold) {
        sum += energy[f]!;
        n++;
      }
    }
    if (n === 0) break;
    noiseLevel = sum / n;
    let variance = 0;
    for (let f = firstFrame; f < lastFrame; f++) {
      if (energy[f]! <= threshold) variance += (energy[f]! - noiseLevel) ** 2;
    }
    threshold = 1.001 * (noiseLevel + 2 * Math.sqrt(variance / n));
  }
  const envelope = new Float64Array(count);
  for (let f = 0; f < count; f++) {
    if (energy[f]! > threshold) envelope[f] = Math.log(energy[f]! / threshold);
  }
  // Drop bursts too short to be speech.
  let f = 0;
  while (f < count) {
    if (envelope[f]! > 0) {
      let end = f;
      while (end < count && envelope[end]! > 0) end++;
      if (end - f < MIN_SPEECH_FRAMES) envelope.fill(0, f, end);
      f = end;
    } else f++;
  }
  return { energy, envelope, threshold, noiseLevel };
}
