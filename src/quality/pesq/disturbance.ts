import type { BarkBands } from "./bark-bands.ts";

/**
 * Disturbance of one frame (ITU-T P.862 §10.2.6–10.2.8): the signed loudness difference per band,
 * less a masking dead zone of 0.25 × the smaller loudness; the asymmetric variant weights it by
 * the (Pdeg+50)/(Pref+50) density ratio to the power 1.2 (ignored below 3, capped at 12), because
 * added components are more annoying than missing ones. Bands are aggregated with an L2 (symmetric)
 * and an L1 (asymmetric) norm weighted by band width.
 */

export interface FrameDisturbance {
  symmetric: number;
  asymmetric: number;
}

const ASYMMETRY_POWER = 1.2;
const SYMMETRIC_P = 2;

/** Width-weighted Lp norm over bands 1.., scaled back by the total width. */
function weightedLp(values: Float64Array, bands: BarkBands, p: number): number {
  let sum = 0;
  let weight = 0;
  for (let b = 1; b < bands.count; b++) {
    const w = bands.widthBark[b]!;
    const v = Math.abs(values[b]!) * w;
    sum += p === 1 ? v : p === 2 ? v * v : v ** p;
    weight += w;
  }
  const mean = sum / weight;
  return (p === 1 ? mean : p === 2 ? Math.sqrt(mean) : mean ** (1 / p)) * weight;
}

export class DisturbanceMeter {
  private readonly density: Float64Array;
  private readonly asymmetricDensity: Float64Array;

  constructor(private readonly bands: BarkBands) {
    this.density = new Float64Array(bands.count);
    this.asymmetricDensity = new Float64Array(bands.count);
  }

  /** Loudness densities and (compensated) pitch power densities of one frame at `offset`. */
  measure(
    refLoud: Float64Array,
    degLoud: Float64Array,
    refPpd: Float64Array,
    degPpd: Float64Array,
    offset: number,
    degOffset = offset,
  ): FrameDisturbance {
    const nb = this.bands.count;
    const { density, asymmetricDensity } = this;
    for (let b = 0; b < nb; b++) {
      const r = refLoud[offset + b]!;
      const d = degLoud[degOffset + b]!;
      const mask = 0.25 * (r < d ? r : d);
      let diff = d - r;
      if (diff > mask) diff -= mask;
      else if (diff < -mask) diff += mask;
      else diff = 0;
      density[b] = diff;
      let h = ((degPpd[degOffset + b]! + 50) / (refPpd[offset + b]! + 50)) ** ASYMMETRY_POWER;
      if (h > 12) h = 12;
      else if (h < 3) h = 0;
      asymmetricDensity[b] = diff * h;
    }
    return {
      symmetric: weightedLp(density, this.bands, SYMMETRIC_P),
      asymmetric: weightedLp(asymmetricDensity, this.bands, 1),
    };
  }
}
