import { ENTROPY, GINI } from "./tree-criterion.ts";
import { occupiedBins, wordsOf } from "./tree-histogram.ts";

/*
 * Split finding: the best "bin <= b" split of one feature from its histogram (S stats per bin,
 * `tree-criterion.ts`), with the side of missing values tried both ways when the node has some.
 */

/** The best split of a node so far, in scalars (scanning allocates nothing). */
export class BestSplit {
  score = 0;
  /** −1 until a split is found. */
  feature = -1;
  /** Last bin on the left as scanned; `bin` is the threshold bin placed from it (`fresh` until then). */
  at = 0;
  fresh = false;
  bin = 0;
  missingLeft = false;
  readonly left: Float64Array;
  constructor(S: number) {
    this.left = new Float64Array(S);
  }

  get found(): boolean {
    return this.feature >= 0;
  }

  reset(): void {
    this.feature = -1;
  }

  /** Takes the candidate if it beats the best so far (the caller then copies its left stats). */
  offer(score: number, feature: number, missingLeft: boolean, at: number): boolean {
    if (this.found && !(score > this.score + 1e-12 * Math.abs(score))) return false;
    this.score = score;
    this.feature = feature;
    this.missingLeft = missingLeft;
    this.at = at;
    this.fresh = true;
    return true;
  }
}

/** Bin of the threshold after a split at bin b: midway through the empty bins that follow (as CART puts it midway between the node's neighbouring values). */
export function thresholdBin(hist: Float64Array, base: number, S: number, bins: number, b: number): number {
  if (b === bins - 1) return b;
  let next = b + 1;
  while (next < bins && hist[base + next * S]! === 0) next++;
  return (b + next - 1) >> 1;
}

/** One feature's histogram and what a scan of it needs. */
export interface FeatureHist {
  hist: Float64Array;
  base: number;
  occupied: Int32Array;
  wordBase: number;
  feature: number;
  bins: number;
}

// The occupied bins of the feature being scanned (at most 255 value bins and the missing one).
const occupiedList = new Int32Array(256);

/**
 * Best gradient split of one feature (scalar sums: the boosting hot loop). A feature constant
 * in the node finds no split (one side would be empty).
 */
export function scanGradient(
  h: FeatureHist,
  minLeaf: number,
  minHessian: number,
  l2: number,
  total: Float64Array,
  best: BestSplit,
): void {
  const { hist, base, bins } = h;
  const missingBase = base + bins * 3;
  const missingCount = hist[missingBase]!;
  const totalC = total[0]!;
  const totalH = total[1]!;
  const totalG = total[2]!;
  const count = occupiedBins(h.occupied, h.wordBase, wordsOf(bins), bins, occupiedList);
  for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
    const missingLeft = pass === 1;
    let cL = missingLeft ? missingCount : 0;
    let hL = missingLeft ? hist[missingBase + 1]! : 0;
    let gL = missingLeft ? hist[missingBase + 2]! : 0;
    // With missing values present, "every value left, missing right" is a candidate too.
    const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
    for (let j = 0; j < count; j++) {
      const b = occupiedList[j]!;
      if (b >= last) break;
      const o = base + b * 3;
      cL += hist[o]!;
      hL += hist[o + 1]!;
      gL += hist[o + 2]!;
      if (cL < minLeaf || hL < minHessian) continue;
      const cR = totalC - cL;
      if (cR < minLeaf) break;
      const hR = totalH - hL;
      if (hR < minHessian) continue;
      const gR = totalG - gL;
      const score = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2);
      if (best.offer(score, h.feature, missingCount > 0 ? missingLeft : cL >= cR, b)) {
        best.left[0] = cL;
        best.left[1] = hL;
        best.left[2] = gL;
      }
    }
  }
}

/**
 * Best split of one feature for gini, entropy or mse (stats vectors of S numbers). The right side's
 * stats are never stored: each is total − left, in the same order as the proxy would take them.
 */
export function scanStats(
  h: FeatureHist,
  S: number,
  code: number,
  minLeaf: number,
  total: Float64Array,
  best: BestSplit,
  left: Float64Array,
): void {
  const { hist, base, bins } = h;
  const missingBase = base + bins * S;
  const missingCount = hist[missingBase]!;
  const totalC = total[0]!;
  const totalW = total[1]!;
  const count = occupiedBins(h.occupied, h.wordBase, wordsOf(bins), bins, occupiedList);
  for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
    const missingLeft = pass === 1;
    left.fill(0);
    if (missingLeft) for (let c = 0; c < S; c++) left[c] = hist[missingBase + c]!;
    const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
    for (let j = 0; j < count; j++) {
      const b = occupiedList[j]!;
      if (b >= last) break;
      const o = base + b * S;
      for (let c = 0; c < S; c++) left[c]! += hist[o + c]!;
      const cL = left[0]!;
      const wL = left[1]!;
      if (!(cL >= minLeaf && wL > 0)) continue;
      const cR = totalC - cL;
      const wR = totalW - wL;
      if (!(cR >= minLeaf && wR > 0)) continue;
      const score = splitScore(code, S, left, total, wL, wR);
      if (best.offer(score, h.feature, missingCount > 0 ? missingLeft : cL >= cR, b)) best.left.set(left);
    }
  }
}

/** Proxy of a split for gini, entropy or mse: both sides' terms, the right one as total − left. */
function splitScore(code: number, S: number, left: Float64Array, total: Float64Array, wL: number, wR: number): number {
  if (code === GINI || code === ENTROPY) {
    const gini = code === GINI;
    let sumL = 0;
    let sumR = 0;
    for (let k = 2; k < S; k++) {
      const l = left[k]!;
      const r = total[k]! - l;
      if (gini) {
        sumL += l * l;
        sumR += r * r;
      } else {
        if (l > 0) sumL += l * Math.log(l / wL);
        if (r > 0) sumR += r * Math.log(r / wR);
      }
    }
    return gini ? sumL / wL + sumR / wR : sumL + sumR;
  }
  const sL = left[2]!;
  const sR = total[2]! - sL;
  return (sL * sL) / wL + (sR * sR) / wR;
}
