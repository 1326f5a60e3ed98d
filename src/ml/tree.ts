import type { BinnedData } from "./binning.ts";
import type { Random } from "./random.ts";

/**
 * One decision tree over histogram-binned features, grown by one of four split criteria:
 * gini or entropy (classification, class counts per bin), mse (regression), or gradient
 * (second-order boosting: sums of gradients and hessians). Splits are "value <= threshold" with
 * the side for missing values learned at every split (tried both ways when the node has some;
 * otherwise missing values follow the child with more samples).
 *
 * Growth is best-first under `maxLeafNodes` (as histogram gradient boosting does) and plain
 * depth-first without it (as CART in a random forest does; both give the same tree then).
 */
export type Criterion = "gini" | "entropy" | "mse" | "gradient";

/** A grown tree as flat arrays (node 0 is the root; feature −1 marks a leaf). */
export interface Tree {
  feature: Int32Array;
  threshold: Float64Array;
  missingLeft: Uint8Array;
  left: Int32Array;
  right: Int32Array;
  /** `width` values per node: class probabilities, or one regression / boosting value. */
  value: Float64Array;
  width: number;
  /** Weighted samples that reached each node. */
  weight: Float64Array;
  /** Criterion improvement of each split node (0 at leaves), for impurity importance. */
  improvement: Float64Array;
}

export interface TreeParams {
  criterion: Criterion;
  /** Classes (gini/entropy). */
  classes?: number;
  maxDepth?: number;
  maxLeafNodes?: number;
  minSamplesSplit?: number;
  minSamplesLeaf?: number;
  /** Features drawn at random per node (default all). */
  maxFeatures?: number;
  /** L2 regularisation of leaf values (gradient). */
  l2?: number;
  minHessian?: number;
  /** Leaf values are multiplied by this (gradient: the learning rate). */
  shrinkage?: number;
}

/** What is learnt: class index or value per row, optional weights (bootstrap counts), gradients. */
export interface TreeTarget {
  y?: Float64Array;
  weight?: Float64Array;
  gradient?: Float64Array;
  hessian?: Float64Array;
}

export interface GrownTree {
  tree: Tree;
  /** Training rows as partitioned: the rows of leaf `leafNodes[k]` are `rows[leafStart[k], leafEnd[k])`. */
  rows: Uint32Array;
  leafNodes: number[];
  leafStart: number[];
  leafEnd: number[];
}

const EPS = 1e-12;

interface Split {
  feature: number;
  bin: number;
  missingLeft: boolean;
  score: number;
  /** Stats of the left child (its own copy). */
  left: Float64Array;
}

interface Pending {
  node: number;
  start: number;
  end: number;
  depth: number;
  stats: Float64Array;
  hist: Float64Array | null;
  split: Split | null;
}

class Builder {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly missingLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly value: number[] = [];
  readonly weight: number[] = [];
  readonly improvement: number[] = [];

  add(weight: number): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.threshold.push(0);
    this.missingLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.weight.push(weight);
    this.improvement.push(0);
    return id;
  }

  finish(width: number, values: Float64Array[]): Tree {
    const n = this.feature.length;
    const value = new Float64Array(n * width);
    values.forEach((v, i) => {
      value.set(v, i * width);
    });
    return {
      feature: Int32Array.from(this.feature),
      threshold: Float64Array.from(this.threshold),
      missingLeft: Uint8Array.from(this.missingLeft),
      left: Int32Array.from(this.left),
      right: Int32Array.from(this.right),
      value,
      width,
      weight: Float64Array.from(this.weight),
      improvement: Float64Array.from(this.improvement),
    };
  }
}

// Histogram buffers are reused across nodes and trees (boosting allocates ~60 per tree otherwise).
const histPool: Float64Array[] = [];
let histPoolSize = 0;

function takeHist(size: number): Float64Array {
  if (size !== histPoolSize) {
    histPool.length = 0;
    histPoolSize = size;
  }
  const h = histPool.pop();
  if (h) {
    h.fill(0);
    return h;
  }
  return new Float64Array(size);
}

function giveHist(h: Float64Array): void {
  if (h.length === histPoolSize && histPool.length < 64) histPool.push(h);
}

/** Grows one tree on `rows` (indices into the binned data; repeated rows are not expected). */
export function growTree(
  data: BinnedData,
  target: TreeTarget,
  params: TreeParams,
  rows: Uint32Array,
  rng: Random | null,
): GrownTree {
  const { n, p, bins, thresholds } = data;
  const criterion = params.criterion;
  const K = params.classes ?? 0;
  const S = criterion === "gini" || criterion === "entropy" ? K + 2 : criterion === "mse" ? 4 : 3;
  const minLeaf = Math.max(1, params.minSamplesLeaf ?? 1);
  const minSplit = Math.max(2, params.minSamplesSplit ?? 2, 2 * minLeaf);
  const maxDepth = params.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxLeaves = params.maxLeafNodes ?? Number.POSITIVE_INFINITY;
  const maxFeatures = Math.min(p, params.maxFeatures ?? p);
  const l2 = params.l2 ?? 0;
  const minHessian = params.minHessian ?? 1e-3;
  const shrinkage = params.shrinkage ?? 1;
  const useSubtraction = maxFeatures === p;
  const { y, weight, gradient, hessian } = target;
  const featureOrder = Int32Array.from({ length: p }, (_, i) => i);
  const nb = thresholds.map((t) => t.length + 1);
  // Compact histograms: feature f owns (nb[f] + 1) · S entries, its missing bin last.
  const histOffset = new Int32Array(p + 1);
  for (let f = 0; f < p; f++) histOffset[f + 1] = histOffset[f]! + (nb[f]! + 1) * S;
  const histSize = histOffset[p]!;

  let maxFeatureHist = 0;
  for (let f = 0; f < p; f++) maxFeatureHist = Math.max(maxFeatureHist, (nb[f]! + 1) * S);

  const proxy = (s: Float64Array, o: number): number => {
    const w = s[o + 1]!;
    switch (criterion) {
      case "gini": {
        if (w <= 0) return 0;
        let sum = 0;
        for (let k = 0; k < K; k++) sum += s[o + 2 + k]! * s[o + 2 + k]!;
        return sum / w;
      }
      case "entropy": {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const c = s[o + 2 + k]!;
          if (c > 0) sum += c * Math.log(c / w);
        }
        return sum;
      }
      case "mse":
        return w > 0 ? (s[o + 2]! * s[o + 2]!) / w : 0;
      default:
        return (s[o + 2]! * s[o + 2]!) / (w + l2);
    }
  };
  const childOk = (s: Float64Array, o: number): boolean =>
    s[o]! >= minLeaf && (criterion === "gradient" ? s[o + 1]! >= minHessian : s[o + 1]! > 0);
  const isPure = (s: Float64Array): boolean => {
    if (criterion === "gini" || criterion === "entropy") {
      let max = 0;
      for (let k = 0; k < K; k++) max = Math.max(max, s[2 + k]!);
      return max >= s[1]! * (1 - EPS);
    }
    if (criterion === "mse") {
      const w = s[1]!;
      return w <= 0 || s[3]! - (s[2]! * s[2]!) / w <= EPS * Math.max(1, s[3]!);
    }
    return false;
  };
  const leafValue = (s: Float64Array): Float64Array => {
    const w = s[1]!;
    if (criterion === "gini" || criterion === "entropy") {
      const v = new Float64Array(K);
      for (let k = 0; k < K; k++) v[k] = w > 0 ? s[2 + k]! / w : 0;
      return v;
    }
    if (criterion === "mse") return Float64Array.of(w > 0 ? s[2]! / w : 0);
    return Float64Array.of((-s[2]! / (w + l2)) * shrinkage);
  };

  /** Adds the rows' stats of one feature into `hist` from `base` on. */
  const accumulate = (hist: Float64Array, base: number, f: number, start: number, end: number) => {
    const col = f * n;
    if (criterion === "gradient") {
      for (let r = start; r < end; r++) {
        const i = rows[r]!;
        const o = base + bins[col + i]! * 3;
        hist[o]! += 1;
        hist[o + 1]! += hessian![i]!;
        hist[o + 2]! += gradient![i]!;
      }
    } else if (criterion === "mse") {
      for (let r = start; r < end; r++) {
        const i = rows[r]!;
        const o = base + bins[col + i]! * 4;
        const w = weight ? weight[i]! : 1;
        const v = y![i]!;
        hist[o]! += 1;
        hist[o + 1]! += w;
        hist[o + 2]! += w * v;
        hist[o + 3]! += w * v * v;
      }
    } else {
      for (let r = start; r < end; r++) {
        const i = rows[r]!;
        const o = base + bins[col + i]! * S;
        const w = weight ? weight[i]! : 1;
        hist[o]! += 1;
        hist[o + 1]! += w;
        hist[o + 2 + y![i]!]! += w;
      }
    }
  };
  const nodeStats = (start: number, end: number): Float64Array => {
    const s = new Float64Array(S);
    for (let r = start; r < end; r++) {
      const i = rows[r]!;
      const w = weight ? weight[i]! : 1;
      s[0]! += 1;
      if (criterion === "gradient") {
        s[1]! += hessian![i]!;
        s[2]! += gradient![i]!;
      } else if (criterion === "mse") {
        s[1]! += w;
        s[2]! += w * y![i]!;
        s[3]! += w * y![i]! * y![i]!;
      } else {
        s[1]! += w;
        s[2 + y![i]!]! += w;
      }
    }
    return s;
  };

  const leftStats = new Float64Array(S);
  const rightStats = new Float64Array(S);
  /** scanFeature for the gradient criterion with scalar sums (the boosting hot loop). */
  const scanGradient = (
    hist: Float64Array,
    base: number,
    f: number,
    bins: number,
    missingBase: number,
    total: Float64Array,
    best: { split: Split | null },
  ): void => {
    const totalC = total[0]!;
    const totalH = total[1]!;
    const totalG = total[2]!;
    const missingCount = hist[missingBase]!;
    for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
      const missingLeft = pass === 1;
      let cL = missingLeft ? missingCount : 0;
      let hL = missingLeft ? hist[missingBase + 1]! : 0;
      let gL = missingLeft ? hist[missingBase + 2]! : 0;
      const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
      for (let b = 0; b < last; b++) {
        const o = base + b * 3;
        const c = hist[o]!;
        if (c === 0) continue;
        cL += c;
        hL += hist[o + 1]!;
        gL += hist[o + 2]!;
        if (cL < minLeaf || hL < minHessian) continue;
        const cR = totalC - cL;
        if (cR < minLeaf) break;
        const hR = totalH - hL;
        if (hR < minHessian) continue;
        const gR = totalG - gL;
        const score = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2);
        if (best.split === null || score > best.split.score + 1e-12 * Math.abs(score)) {
          const ml = missingCount > 0 ? missingLeft : cL >= cR;
          let next = b + 1;
          while (next < bins && hist[base + next * 3]! === 0) next++;
          const bin = b === bins - 1 ? b : (b + next - 1) >> 1;
          best.split = { feature: f, bin, missingLeft: ml, score, left: Float64Array.of(cL, hL, gL) };
        }
      }
    }
  };
  /** Best split of one feature from its histogram at `base`; updates `best` when better. */
  const scanFeature = (
    hist: Float64Array,
    base: number,
    f: number,
    total: Float64Array,
    best: { split: Split | null },
  ): boolean => {
    const bins = nb[f]!;
    const missingBase = base + bins * S;
    const missingCount = hist[missingBase]!;
    let nonEmpty = missingCount > 0 ? 1 : 0;
    for (let b = 0; b < bins; b++) if (hist[base + b * S]! > 0) nonEmpty++;
    if (nonEmpty < 2) return false; // constant in this node
    if (criterion === "gradient") {
      scanGradient(hist, base, f, bins, missingBase, total, best);
      return true;
    }
    for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
      const missingLeft = pass === 1;
      leftStats.fill(0);
      if (missingLeft) for (let c = 0; c < S; c++) leftStats[c] = hist[missingBase + c]!;
      // With missing values present, "every value left, missing right" is a candidate too.
      const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
      for (let b = 0; b < last; b++) {
        const o = base + b * S;
        if (hist[o]! === 0) continue; // same partition as the bin before
        for (let c = 0; c < S; c++) leftStats[c]! += hist[o + c]!;
        if (!childOk(leftStats, 0)) continue;
        for (let c = 0; c < S; c++) rightStats[c] = total[c]! - leftStats[c]!;
        if (!childOk(rightStats, 0)) continue;
        const score = proxy(leftStats, 0) + proxy(rightStats, 0);
        if (best.split === null || score > best.split.score + 1e-12 * Math.abs(score)) {
          const ml = missingCount > 0 ? missingLeft : leftStats[0]! >= rightStats[0]!;
          // Put the threshold midway through the empty bins that follow (as CART puts it midway
          // between the node's neighbouring values).
          let next = b + 1;
          while (next < bins && hist[base + next * S]! === 0) next++;
          const bin = b === bins - 1 ? b : (b + next - 1) >> 1;
          best.split = { feature: f, bin, missingLeft: ml, score, left: Float64Array.from(leftStats) };
        }
      }
    }
    return true;
  };

  const findSplit = (item: Pending): void => {
    const count = item.end - item.start;
    if (count < minSplit || item.depth >= maxDepth || isPure(item.stats)) return;
    const best: { split: Split | null } = { split: null };
    if (useSubtraction) {
      if (!item.hist) {
        item.hist = takeHist(histSize);
        for (let f = 0; f < p; f++) accumulate(item.hist, histOffset[f]!, f, item.start, item.end);
      }
      for (let f = 0; f < p; f++) scanFeature(item.hist, histOffset[f]!, f, item.stats, best);
    } else {
      const hist = new Float64Array(maxFeatureHist);
      let visited = 0;
      for (let k = 0; k < p && visited < maxFeatures; k++) {
        // Partial Fisher–Yates: draw the next feature among those not yet drawn at this node.
        const j = k + (rng ? rng.int(p - k) : 0);
        const f = featureOrder[j]!;
        featureOrder[j] = featureOrder[k]!;
        featureOrder[k] = f;
        hist.fill(0, 0, (nb[f]! + 1) * S);
        accumulate(hist, 0, f, item.start, item.end);
        if (scanFeature(hist, 0, f, item.stats, best)) visited++;
      }
    }
    const parent = proxy(item.stats, 0);
    if (best.split && best.split.score - parent > EPS * Math.max(1, Math.abs(parent))) item.split = best.split;
  };

  const builder = new Builder();
  const values: Float64Array[] = [];
  const rootStats = nodeStats(0, rows.length);
  const root: Pending = {
    node: builder.add(rootStats[1]!),
    start: 0,
    end: rows.length,
    depth: 0,
    stats: rootStats,
    hist: null,
    split: null,
  };
  values.push(leafValue(rootStats));
  findSplit(root);
  const frontier: Pending[] = [root];
  const leafNodes: number[] = [];
  const leafStart: number[] = [];
  const leafEnd: number[] = [];
  const closeLeaf = (item: Pending) => {
    leafNodes.push(item.node);
    leafStart.push(item.start);
    leafEnd.push(item.end);
    if (item.hist) giveHist(item.hist);
    item.hist = null;
  };
  let leaves = 1;
  const bestFirst = Number.isFinite(maxLeaves);
  while (frontier.length > 0) {
    let pick = frontier.length - 1;
    if (bestFirst) {
      let bestGain = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < frontier.length; k++) {
        const s = frontier[k]!.split;
        const g = s ? s.score - proxy(frontier[k]!.stats, 0) : Number.NEGATIVE_INFINITY;
        if (g > bestGain) {
          bestGain = g;
          pick = k;
        }
      }
    }
    const item = frontier[pick]!;
    frontier.splice(pick, 1);
    const split = item.split;
    if (!split || leaves >= maxLeaves) {
      closeLeaf(item);
      continue;
    }
    // Partition rows: left = bin <= split.bin, or missing and missing goes left.
    const col = split.feature * n;
    const missingBin = nb[split.feature]!;
    let lo = item.start;
    let hi = item.end - 1;
    while (lo <= hi) {
      const b = bins[col + rows[lo]!]!;
      const goesLeft = b === missingBin ? split.missingLeft : b <= split.bin;
      if (goesLeft) lo++;
      else {
        const t = rows[lo]!;
        rows[lo] = rows[hi]!;
        rows[hi] = t;
        hi--;
      }
    }
    const mid = lo;
    const lStats = split.left;
    const rStats = new Float64Array(S);
    for (let c = 0; c < S; c++) rStats[c] = item.stats[c]! - lStats[c]!;
    const node = item.node;
    builder.feature[node] = split.feature;
    const t = thresholds[split.feature]!;
    builder.threshold[node] = split.bin < t.length ? t[split.bin]! : Number.MAX_VALUE;
    builder.missingLeft[node] = split.missingLeft ? 1 : 0;
    builder.improvement[node] = split.score - proxy(item.stats, 0);
    const leftItem: Pending = {
      node: builder.add(lStats[1]!),
      start: item.start,
      end: mid,
      depth: item.depth + 1,
      stats: lStats,
      hist: null,
      split: null,
    };
    values.push(leafValue(lStats));
    const rightItem: Pending = {
      node: builder.add(rStats[1]!),
      start: mid,
      end: item.end,
      depth: item.depth + 1,
      stats: rStats,
      hist: null,
      split: null,
    };
    values.push(leafValue(rStats));
    builder.left[node] = leftItem.node;
    builder.right[node] = rightItem.node;
    leaves++;
    if (useSubtraction && item.hist) {
      // Histogram of the smaller child directly, the larger one by subtraction from the parent.
      const [small, large] = mid - item.start <= item.end - mid ? [leftItem, rightItem] : [rightItem, leftItem];
      const needSmall = small.end - small.start >= minSplit;
      const needLarge = large.end - large.start >= minSplit;
      if (needSmall || needLarge) {
        const sh = takeHist(histSize);
        for (let f = 0; f < p; f++) accumulate(sh, histOffset[f]!, f, small.start, small.end);
        if (needLarge) {
          const parentHist = item.hist;
          for (let k = 0; k < histSize; k++) parentHist[k] = parentHist[k]! - sh[k]!;
          large.hist = parentHist;
          item.hist = null; // moved to the larger child
        }
        if (needSmall) small.hist = sh;
        else giveHist(sh);
      }
    }
    if (item.hist) giveHist(item.hist);
    item.hist = null;
    findSplit(leftItem);
    findSplit(rightItem);
    if (!leftItem.split) closeLeaf(leftItem);
    else frontier.push(leftItem);
    if (!rightItem.split) closeLeaf(rightItem);
    else frontier.push(rightItem);
  }
  return {
    tree: builder.finish(criterion === "gini" || criterion === "entropy" ? K : 1, values),
    rows,
    leafNodes,
    leafStart,
    leafEnd,
  };
}

/** The leaf a row of a row-major matrix falls in. */
export function leafIndex(tree: Tree, x: Float64Array, offset: number): number {
  const { feature, threshold, left, right, missingLeft } = tree;
  let node = 0;
  for (;;) {
    const f = feature[node]!;
    if (f < 0) return node;
    const v = x[offset + f]!;
    node = (Number.isNaN(v) ? missingLeft[node] === 1 : v <= threshold[node]!) ? left[node]! : right[node]!;
  }
}

/** Impurity importance of one tree: improvements summed per feature (not normalised). */
export function addImprovements(tree: Tree, into: Float64Array): void {
  for (let k = 0; k < tree.feature.length; k++) {
    const f = tree.feature[k]!;
    if (f >= 0) into[f]! += tree.improvement[k]!;
  }
}
