import { type PesqRateConfig, TARGET_POWER } from "./config.ts";
import { ALIGNMENT_CURVE, fftFiltered } from "./filters.ts";

/**
 * Level normalization (spec 01 §1.3): the mean power of the signal through the alignment band-pass
 * (350–3250 Hz) over [margin, N − margin + P), divided by Nmax − 2·margin + P, is brought to 1e7 by
 * scaling the first N samples. Returns the scale (0 when the band holds no power).
 */
export function levelAlign(buffer: Float32Array, nominal: number, nominalMax: number, cfg: PesqRateConfig): number {
  const { margin, padding } = cfg;
  const length = nominal - 2 * margin + padding;
  // Odd samples come negated; only their squares are read.
  const filtered = fftFiltered(buffer, margin, length, ALIGNMENT_CURVE, cfg.sampleRate);
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const v = Math.fround(filtered[i]!);
    sum += v * v;
  }
  const power = sum / (nominalMax - 2 * margin + padding);
  if (!(power > 0)) return 0;
  const scale = Math.fround(Math.sqrt(TARGET_POWER / power));
  for (let i = 0; i < nominal; i++) buffer[i] = buffer[i]! * scale;
  return scale;
}
