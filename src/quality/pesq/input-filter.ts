import type { PesqRateConfig } from "./config.ts";
import {
  filterSegmentInPlace,
  IRS_RECEIVE_CURVE,
  iirCascade,
  iirSection,
  type SegmentSpectrum,
  WIDEBAND_SECTION_16K,
} from "./filters.ts";

/**
 * The listening-condition filter applied to the level-aligned signal before the model copy is
 * saved: the IRS receive curve in narrowband (spec 01 §1.4), edge ramps plus a 100 Hz high-pass
 * section in wideband (spec 06 §6.3). The IRS filter reuses the spectrum the level alignment took of
 * the same span before scaling it by `levelScale`.
 */
export function irsReceiveFilter(
  buffer: Float32Array,
  spectrum: SegmentSpectrum,
  levelScale: number,
  cfg: PesqRateConfig,
): void {
  filterSegmentInPlace(buffer, cfg.margin, spectrum, IRS_RECEIVE_CURVE, cfg.sampleRate, levelScale);
}

export function widebandFilter(buffer: Float32Array, nominal: number, cfg: PesqRateConfig): void {
  const start = cfg.margin;
  const end = nominal - cfg.margin;
  for (let k = 0; k < 16; k++) {
    buffer[start + k] = buffer[start + k]! * ((k + 1) / 16);
    buffer[end - 1 - k] = buffer[end - 1 - k]! * ((k + 1) / 16);
  }
  iirSection(buffer, WIDEBAND_SECTION_16K, start, end);
}

/**
 * The working copy for VAD and alignment: DC removal with the reference's divisor N and 4 ms edge
 * ramps (spec 01 §1.5), then the input IIR cascade over the whole buffer (spec 01 §1.6).
 */
export function alignmentCopy(model: Float32Array, nominal: number, cfg: PesqRateConfig): Float32Array {
  const work = model.slice();
  const { margin, window: W } = cfg;
  let sum = 0;
  for (let i = margin; i < nominal - margin; i++) sum += work[i]!;
  const mean = sum / nominal;
  for (let i = margin; i < nominal - margin; i++) work[i] = work[i]! - mean;
  for (let k = 0; k < W; k++) {
    const ramp = (0.5 + k) / W;
    work[margin + k] = work[margin + k]! * ramp;
    work[nominal - margin - 1 - k] = work[nominal - margin - 1 - k]! * ramp;
  }
  iirCascade(work, cfg.cascade);
  return work;
}
