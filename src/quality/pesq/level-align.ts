import { TARGET_POWER } from "./config.ts";
import { filteredEnergy, type SignalSpectrum } from "./input-filter.ts";

/**
 * Level alignment (ITU-T P.862 §10.1.1): the gain that brings the power of the band-limited signal
 * to the fixed target, so that reference and degraded are compared at the same listening level.
 * `length` is the number of signal samples (without the added silence).
 */
export function levelAlignGain(spectrum: SignalSpectrum, levelGains: Float64Array, length: number): number {
  const power = filteredEnergy(spectrum, levelGains) / length;
  return power > 0 ? Math.sqrt(TARGET_POWER / power) : 0;
}
