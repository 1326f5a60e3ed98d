import { type PesqRateConfig, TARGET_POWER } from "./config.ts";
import { ALIGNMENT_CURVE, filteredSegment, type SegmentSpectrum } from "./filters.ts";

/**
 * Level normalization (spec 01 §1.3): the mean power of the signal through the alignment band-pass
 * (350–3250 Hz) over [margin, N − margin + P), divided by Nmax − 2·margin + P, is brought to 1e7 by
 * scaling the first N samples. `spectrum` is that of the span (`levelSpan`). Returns the scale (0
 * when the band holds no power).
 */
export function levelAlign(
  buffer: Float32Array,
  spectrum: SegmentSpectrum,
  nominal: number,
  nominalMax: number,
  cfg: PesqRateConfig,
): number {
  const { margin, padding } = cfg;
  const { length } = spectrum;
  // Odd samples come negated; only their squares are read.
  const filtered = filteredSegment(spectrum, ALIGNMENT_CURVE, cfg.sampleRate);
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

/**
 * The span [margin, N − margin + P) that the level alignment measures and the IRS receive filter
 * filters: its start and length.
 */
export function levelSpan(nominal: number, cfg: PesqRateConfig): { start: number; length: number } {
  return { start: cfg.margin, length: nominal - 2 * cfg.margin + cfg.padding };
}
