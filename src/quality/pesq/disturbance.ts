import type { BarkBands } from "./bark-bands.ts";

/**
 * Disturbance of one frame (spec 04 §4.1–4.3): loudness difference with a dead zone, its weighted
 * L2 norm over bands 1..B−1 (symmetric) and the weighted L1 norm after the asymmetry factor.
 */
export class DisturbanceMeter {
  private readonly d: Float32Array;
  private readonly widthSum: number;

  constructor(private readonly bands: BarkBands) {
    this.d = new Float32Array(bands.count);
    let s = 0;
    for (let b = 1; b < bands.count; b++) s += bands.widthBark[b]!;
    this.widthSum = s;
  }

  /** Returns [symmetric, asymmetric] frame disturbances. */
  measure(
    loudRef: Float32Array,
    loudDeg: Float32Array,
    pRef: Float32Array,
    pDeg: Float32Array,
    offset: number,
  ): [number, number] {
    const { bands, d, widthSum } = this;
    const B = bands.count;
    for (let b = 0; b < B; b++) {
      const diff = loudDeg[b]! - loudRef[b]!;
      const m = 0.25 * Math.min(loudDeg[b]!, loudRef[b]!);
      d[b] = diff > m ? diff - m : diff < -m ? diff + m : 0;
    }
    let sym = 0;
    let asym = 0;
    for (let b = 1; b < B; b++) {
      const w = bands.widthBark[b]!;
      const x = Math.abs(d[b]!) * w;
      sym += x * x;
      const ratio = (pDeg[offset + b]! + 50) / (pRef[offset + b]! + 50);
      // ratio < 2.49 gives ratio^1.2 < 2.99 < 3, a zero factor without the power.
      if (ratio < 2.49) continue;
      let h = ratio ** 1.2;
      if (h > 12) h = 12;
      else if (h < 3) h = 0;
      asym += Math.abs(Math.fround(d[b]! * h)) * w;
    }
    return [Math.fround(Math.sqrt(sym / widthSum) * widthSum), Math.fround((asym / widthSum) * widthSum)];
  }
}

/** Bad-interval gate on the pre-normalization symmetric disturbance (spec 04 §4.2 step 2). */
export const BAD_FRAME_DISTURBANCE = 30;

/** Power normalization and the cap of 45 (spec 04 §4.6), in place over [first, last]. */
export function normalizeDisturbance(
  symmetric: Float32Array,
  asymmetric: Float32Array,
  audibleRef: Float32Array,
  first: number,
  last: number,
): void {
  for (let f = first; f <= last; f++) {
    const h = ((audibleRef[f]! + 1e5) / 1e7) ** 0.04;
    symmetric[f] = Math.min(symmetric[f]! / h, 45);
    asymmetric[f] = Math.min(asymmetric[f]! / h, 45);
  }
}
