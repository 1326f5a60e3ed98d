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
 *
 * Speed (boosting grows hundreds of small trees): rows stay partitioned in place, so a node's
 * histogram comes from its own rows only; when every feature is searched, only the smaller
 * child's histogram is built and the larger one is parent − child; histograms are compact (a
 * feature with few distinct values has few bins), pooled, and carry an occupancy bitmap so scans
 * skip empty bins. Each bin sums its rows in row order whichever path builds it, so the trees
 * are bit for bit those of a plain build.
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

/** A node waiting in the frontier, with the best split found for it (if any). */
interface Pending {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: NodeHist | null;
  hasSplit: boolean;
  feature: number;
  bin: number;
  missingLeft: boolean;
  /** Proxy improvement of the split over the node. */
  gain: number;
}

/**
 * The tree under construction. Node stats (S numbers each) and the left-child stats of each
 * node's pending split live in two flat buffers that grow by doubling: no allocation per node.
 */
class Builder {
  readonly feature: number[] = [];
  readonly threshold: number[] = [];
  readonly missingLeft: number[] = [];
  readonly left: number[] = [];
  readonly right: number[] = [];
  readonly weight: number[] = [];
  readonly improvement: number[] = [];
  stats: Float64Array;
  splitLeft: Float64Array;

  constructor(readonly S: number) {
    this.stats = new Float64Array(64 * S);
    this.splitLeft = new Float64Array(64 * S);
  }

  add(): number {
    const id = this.feature.length;
    this.feature.push(-1);
    this.threshold.push(0);
    this.missingLeft.push(0);
    this.left.push(-1);
    this.right.push(-1);
    this.weight.push(0);
    this.improvement.push(0);
    if ((id + 1) * this.S > this.stats.length) {
      const stats = new Float64Array(this.stats.length * 2);
      stats.set(this.stats);
      this.stats = stats;
      const splitLeft = new Float64Array(this.splitLeft.length * 2);
      splitLeft.set(this.splitLeft);
      this.splitLeft = splitLeft;
    }
    return id;
  }

  finish(width: number, value: Float64Array): Tree {
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

/**
 * A node's histogram with an occupancy bitmap: bit b of feature f's words is set exactly when
 * bin b holds rows, so scans visit the occupied bins only (a node of 40 rows fills at most 40 of a
 * feature's 255 bins). Every slot whose bit is clear holds zeros (subtraction zeroes the
 * rounding residue it leaves in emptied slots).
 */
interface NodeHist {
  values: Float64Array;
  occupied: Int32Array;
}

// Histograms are reused across nodes and trees (boosting would allocate ~60 per tree otherwise).
const histPool: NodeHist[] = [];
let histPoolSize = 0;
let histPoolWords = 0;

function takeHist(size: number, words: number): NodeHist {
  if (size !== histPoolSize || words !== histPoolWords) {
    histPool.length = 0;
    histPoolSize = size;
    histPoolWords = words;
  }
  return histPool.pop() ?? { values: new Float64Array(size), occupied: new Int32Array(words) };
}

/** Returns a histogram, already cleared, to the pool. */
function poolHist(h: NodeHist): void {
  if (h.values.length === histPoolSize && h.occupied.length === histPoolWords && histPool.length < 64) histPool.push(h);
}

// Criteria as numbers, so the kernels below stay monomorphic whichever ensemble called them first.
const GINI = 0;
const ENTROPY = 1;
const MSE = 2;
const GRADIENT = 3;
const NO_OFFSET = new Int32Array(1);

/*
 * Histogram kernels. A histogram holds S numbers per bin: count, then weight and the class weights
 * (gini/entropy), weight, Σwy, Σwy² (mse), or hessian and gradient sums (gradient). They add the
 * rows `rows[start, end)` of `features` features whose bins sit at `bins[binBase + i·rowStride + k]`
 * (row-major: all features of a node at once; column-major: one feature, rowStride 1) into `hist`
 * at `offsets[k]`. Each bin sums its rows in row order either way, so the sums are the same.
 */
function addRowsGradient(
  hist: Float64Array,
  offsets: Int32Array,
  bins: Uint8Array,
  binBase: number,
  rowStride: number,
  features: number,
  rows: Uint32Array,
  start: number,
  end: number,
  gradient: Float64Array,
  hessian: Float64Array,
): void {
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const g = gradient[i]!;
    const h = hessian[i]!;
    const rb = binBase + i * rowStride;
    for (let k = 0; k < features; k++) {
      const o = offsets[k]! + bins[rb + k]! * 3;
      hist[o]! += 1;
      hist[o + 1]! += h;
      hist[o + 2]! += g;
    }
  }
}

function addRowsMse(
  hist: Float64Array,
  offsets: Int32Array,
  bins: Uint8Array,
  binBase: number,
  rowStride: number,
  features: number,
  rows: Uint32Array,
  start: number,
  end: number,
  y: Float64Array,
  weight: Float64Array,
): void {
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const w = weight[i]!;
    const v = y[i]!;
    const wv = w * v;
    const wvv = w * v * v;
    const rb = binBase + i * rowStride;
    for (let k = 0; k < features; k++) {
      const o = offsets[k]! + bins[rb + k]! * 4;
      hist[o]! += 1;
      hist[o + 1]! += w;
      hist[o + 2]! += wv;
      hist[o + 3]! += wvv;
    }
  }
}

function addRowsClass(
  hist: Float64Array,
  offsets: Int32Array,
  bins: Uint8Array,
  binBase: number,
  rowStride: number,
  features: number,
  rows: Uint32Array,
  start: number,
  end: number,
  classOf: Int32Array,
  weight: Float64Array,
  S: number,
): void {
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const w = weight[i]!;
    const c = 2 + classOf[i]!;
    const rb = binBase + i * rowStride;
    for (let k = 0; k < features; k++) {
      const o = offsets[k]! + bins[rb + k]! * S;
      hist[o]! += 1;
      hist[o + 1]! += w;
      hist[o + c]! += w;
    }
  }
}

/** addRowsGradient over every feature, with each row's histogram positions precomputed in `cells`. */
function addCellsGradient(
  hist: Float64Array,
  cells: Int32Array,
  p: number,
  rows: Uint32Array,
  start: number,
  end: number,
  gradient: Float64Array,
  hessian: Float64Array,
): void {
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const g = gradient[i]!;
    const h = hessian[i]!;
    const rb = i * p;
    for (let k = 0; k < p; k++) {
      const o = cells[rb + k]!;
      hist[o]! += 1;
      hist[o + 1]! += h;
      hist[o + 2]! += g;
    }
  }
}

// Histogram positions of every row and feature for the gradient layout, kept per binned data set
// (boosting grows hundreds of trees on one).
const gradientCells = new WeakMap<BinnedData, Int32Array>();

/** addRowsClass for one feature (column-major at `col`): the forest's per-node draw. */
function addColumnClass(
  hist: Float64Array,
  bins: Uint8Array,
  col: number,
  rows: Uint32Array,
  start: number,
  end: number,
  classOf: Int32Array,
  weight: Float64Array,
  S: number,
): void {
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const w = weight[i]!;
    const o = bins[col + i]! * S;
    hist[o]! += 1;
    hist[o + 1]! += w;
    hist[o + 2 + classOf[i]!]! += w;
  }
}

/** Whether one feature (column-major at `col`) takes a single bin on the node's rows. */
function constantIn(bins: Uint8Array, col: number, rows: Uint32Array, start: number, end: number): boolean {
  const first = bins[col + rows[start]!]!;
  for (let r = start + 1; r < end; r++) if (bins[col + rows[r]!]! !== first) return false;
  return true;
}

/** The criterion's split proxy (higher is better) of the stats at `s[o…]`. */
function proxyOf(code: number, s: Float64Array, o: number, K: number, l2: number): number {
  const w = s[o + 1]!;
  if (code === GINI) {
    if (w <= 0) return 0;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += s[o + 2 + k]! * s[o + 2 + k]!;
    return sum / w;
  }
  if (code === ENTROPY) {
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const c = s[o + 2 + k]!;
      if (c > 0) sum += c * Math.log(c / w);
    }
    return sum;
  }
  if (code === MSE) return w > 0 ? (s[o + 2]! * s[o + 2]!) / w : 0;
  return (s[o + 2]! * s[o + 2]!) / (w + l2);
}

/** The best split of a node so far, in scalars (scanning allocates nothing). */
class BestSplit {
  found = false;
  score = 0;
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
}

/** Bin of the threshold after a split at bin b: midway through the empty bins that follow (as CART puts it midway between the node's neighbouring values). */
function thresholdBin(hist: Float64Array, base: number, S: number, bins: number, b: number): number {
  if (b === bins - 1) return b;
  let next = b + 1;
  while (next < bins && hist[base + next * S]! === 0) next++;
  return (b + next - 1) >> 1;
}

/** Words of the occupancy bitmap of a feature with `bins` value bins (plus its missing bin). */
function wordsOf(bins: number): number {
  return (bins + 32) >>> 5;
}

/**
 * Sets the occupancy bits of one feature's histogram (at `base`, bins + 1 slots) from its
 * counts; with `clearEmpty`, zeroes the slots without rows (subtraction leaves rounding residue).
 */
function occupancyOf(
  hist: Float64Array,
  base: number,
  S: number,
  bins: number,
  occupied: Int32Array,
  wordBase: number,
  clearEmpty: boolean,
): void {
  for (let w = 0; w < wordsOf(bins); w++) occupied[wordBase + w] = 0;
  for (let b = 0; b <= bins; b++) {
    const o = base + b * S;
    if (hist[o]! !== 0) occupied[wordBase + (b >>> 5)]! |= 1 << (b & 31);
    else if (clearEmpty) for (let c = 0; c < S; c++) hist[o + c] = 0;
  }
}

/**
 * parent − child into `parent` over every slot, setting both occupancy bitmaps on the way (the
 * child's from its counts, the parent's from the differences, whose empty slots are zeroed).
 */
function subtractAll(
  parent: NodeHist,
  child: NodeHist,
  histOffset: Int32Array,
  nb: number[],
  wordOffset: Int32Array,
  S: number,
): void {
  const pv = parent.values;
  const cv = child.values;
  const po = parent.occupied;
  const co = child.occupied;
  po.fill(0);
  co.fill(0);
  for (let f = 0; f < nb.length; f++) {
    const base = histOffset[f]!;
    const wordBase = wordOffset[f]!;
    const bins = nb[f]!;
    for (let b = 0; b <= bins; b++) {
      const o = base + b * S;
      const bit = 1 << (b & 31);
      const word = wordBase + (b >>> 5);
      if (cv[o]! !== 0) co[word]! |= bit;
      for (let c = 0; c < S; c++) pv[o + c] = pv[o + c]! - cv[o + c]!;
      if (pv[o]! !== 0) po[word]! |= bit;
      else for (let c = 0; c < S; c++) pv[o + c] = 0;
    }
  }
}

/*
 * The scans visit a feature's occupied bins in ascending order through its bitmap words: the
 * lowest set bit of `bits` is `bits & -bits`, its index 31 − clz32 of it.
 */

/**
 * Best gradient split of one feature from its histogram at `base` (scalar sums: the boosting hot
 * loop). A feature constant in the node finds no split (one side would be empty).
 */
function scanGradient(
  hist: Float64Array,
  base: number,
  occupied: Int32Array,
  wordBase: number,
  f: number,
  bins: number,
  minLeaf: number,
  minHessian: number,
  l2: number,
  totalC: number,
  totalH: number,
  totalG: number,
  best: BestSplit,
): void {
  const missingBase = base + bins * 3;
  const missingCount = hist[missingBase]!;
  const words = wordsOf(bins);
  // The best so far in locals; `best` is written on improvement only.
  let found = best.found;
  let bestScore = best.score;
  for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
    const missingLeft = pass === 1;
    let cL = missingLeft ? missingCount : 0;
    let hL = missingLeft ? hist[missingBase + 1]! : 0;
    let gL = missingLeft ? hist[missingBase + 2]! : 0;
    // With missing values present, "every value left, missing right" is a candidate too.
    const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
    scan: for (let w = 0; w < words; w++) {
      let bits = occupied[wordBase + w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const b = (w << 5) | (31 - Math.clz32(low));
        if (b >= last) break scan;
        const o = base + b * 3;
        cL += hist[o]!;
        hL += hist[o + 1]!;
        gL += hist[o + 2]!;
        if (cL < minLeaf || hL < minHessian) continue;
        const cR = totalC - cL;
        if (cR < minLeaf) break scan;
        const hR = totalH - hL;
        if (hR < minHessian) continue;
        const gR = totalG - gL;
        const score = (gL * gL) / (hL + l2) + (gR * gR) / (hR + l2);
        if (!found || score > bestScore + 1e-12 * Math.abs(score)) {
          found = true;
          bestScore = score;
          best.found = true;
          best.score = score;
          best.feature = f;
          best.missingLeft = missingCount > 0 ? missingLeft : cL >= cR;
          best.at = b;
          best.fresh = true;
          const left = best.left;
          left[0] = cL;
          left[1] = hL;
          left[2] = gL;
        }
      }
    }
  }
}

/**
 * Best split of one feature for gini, entropy or mse (stats vectors of S numbers). The right side's
 * stats are never stored: each is total − left, in the same order as the proxy would take them.
 */
function scanStats(
  hist: Float64Array,
  base: number,
  occupied: Int32Array,
  wordBase: number,
  f: number,
  bins: number,
  S: number,
  code: number,
  minLeaf: number,
  total: Float64Array,
  best: BestSplit,
  left: Float64Array,
): void {
  const missingBase = base + bins * S;
  const missingCount = hist[missingBase]!;
  const totalC = total[0]!;
  const totalW = total[1]!;
  const words = wordsOf(bins);
  let found = best.found;
  let bestScore = best.score;
  for (let pass = 0; pass < (missingCount > 0 ? 2 : 1); pass++) {
    const missingLeft = pass === 1;
    left.fill(0);
    if (missingLeft) for (let c = 0; c < S; c++) left[c] = hist[missingBase + c]!;
    const last = missingLeft || missingCount === 0 ? bins - 1 : bins;
    scan: for (let w = 0; w < words; w++) {
      let bits = occupied[wordBase + w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        bits ^= low;
        const b = (w << 5) | (31 - Math.clz32(low));
        if (b >= last) break scan;
        const o = base + b * S;
        for (let c = 0; c < S; c++) left[c]! += hist[o + c]!;
        const cL = left[0]!;
        const wL = left[1]!;
        if (!(cL >= minLeaf && wL > 0)) continue;
        const cR = totalC - cL;
        const wR = totalW - wL;
        if (!(cR >= minLeaf && wR > 0)) continue;
        let score: number;
        if (code === GINI) {
          let sumL = 0;
          let sumR = 0;
          for (let k = 2; k < S; k++) {
            const l = left[k]!;
            const r = total[k]! - l;
            sumL += l * l;
            sumR += r * r;
          }
          score = sumL / wL + sumR / wR;
        } else if (code === ENTROPY) {
          let sumL = 0;
          let sumR = 0;
          for (let k = 2; k < S; k++) {
            const l = left[k]!;
            const r = total[k]! - l;
            if (l > 0) sumL += l * Math.log(l / wL);
            if (r > 0) sumR += r * Math.log(r / wR);
          }
          score = sumL + sumR;
        } else {
          const sL = left[2]!;
          const sR = total[2]! - sL;
          score = (sL * sL) / wL + (sR * sR) / wR;
        }
        if (!found || score > bestScore + 1e-12 * Math.abs(score)) {
          found = true;
          bestScore = score;
          best.found = true;
          best.score = score;
          best.feature = f;
          best.missingLeft = missingCount > 0 ? missingLeft : cL >= cR;
          best.at = b;
          best.fresh = true;
          best.left.set(left);
        }
      }
    }
  }
}

/** Grows one tree on `rows` (indices into the binned data; repeated rows are not expected). */
export function growTree(
  data: BinnedData,
  target: TreeTarget,
  params: TreeParams,
  rows: Uint32Array,
  rng: Random | null,
): GrownTree {
  const { n, p, bins, rowBins, thresholds } = data;
  const criterion = params.criterion;
  const code = criterion === "gini" ? GINI : criterion === "entropy" ? ENTROPY : criterion === "mse" ? MSE : GRADIENT;
  const K = params.classes ?? 0;
  const S = code === GINI || code === ENTROPY ? K + 2 : code === MSE ? 4 : 3;
  const minLeaf = Math.max(1, params.minSamplesLeaf ?? 1);
  const minSplit = Math.max(2, params.minSamplesSplit ?? 2, 2 * minLeaf);
  const maxDepth = params.maxDepth ?? Number.POSITIVE_INFINITY;
  const maxLeaves = params.maxLeafNodes ?? Number.POSITIVE_INFINITY;
  const maxFeatures = Math.min(p, params.maxFeatures ?? p);
  const l2 = params.l2 ?? 0;
  const minHessian = params.minHessian ?? 1e-3;
  const shrinkage = params.shrinkage ?? 1;
  const useSubtraction = maxFeatures === p;
  const y = target.y ?? new Float64Array(n);
  // Class indices as integers: a double used as an index is slower to look up.
  const classOf = code === GINI || code === ENTROPY ? Int32Array.from(y) : new Int32Array(0);
  const weight = target.weight ?? new Float64Array(n).fill(1);
  const gradient = target.gradient ?? new Float64Array(n);
  const hessian = target.hessian ?? new Float64Array(n);
  const featureOrder = Int32Array.from({ length: p }, (_, i) => i);
  // Per-feature bin counts: a feature with few distinct values has few bins, and only those are scanned.
  const nb = thresholds.map((t) => t.length + 1);
  // Compact histograms: feature f owns (nb[f] + 1) · S entries, its missing bin last.
  const histOffset = new Int32Array(p + 1);
  for (let f = 0; f < p; f++) histOffset[f + 1] = histOffset[f]! + (nb[f]! + 1) * S;
  const histSize = histOffset[p]!;
  const slots = histSize / S;

  let maxFeatureHist = 0;
  for (let f = 0; f < p; f++) maxFeatureHist = Math.max(maxFeatureHist, (nb[f]! + 1) * S);

  const builder = new Builder(S);
  /** Whether the stats at `s[o…]` leave nothing to split (pure class or constant target). */
  const isPure = (s: Float64Array, o: number): boolean => {
    if (code === GINI || code === ENTROPY) {
      let max = 0;
      for (let k = 0; k < K; k++) max = Math.max(max, s[o + 2 + k]!);
      return max >= s[o + 1]! * (1 - EPS);
    }
    if (code === MSE) {
      const w = s[o + 1]!;
      return w <= 0 || s[o + 3]! - (s[o + 2]! * s[o + 2]!) / w <= EPS * Math.max(1, s[o + 3]!);
    }
    return false;
  };

  const cells = (): Int32Array => {
    let c = gradientCells.get(data);
    if (!c) {
      c = new Int32Array(n * p);
      for (let i = 0; i < n; i++) for (let f = 0; f < p; f++) c[i * p + f] = histOffset[f]! + rowBins[i * p + f]! * 3;
      gradientCells.set(data, c);
    }
    return c;
  };
  /** Adds the node's rows into `hist`: every feature (row-major bins), or only feature `f` at 0. */
  const accumulate = (hist: Float64Array, f: number, start: number, end: number) => {
    const all = f < 0;
    const offsets = all ? histOffset : NO_OFFSET;
    const source = all ? rowBins : bins;
    const binBase = all ? 0 : f * n;
    const rowStride = all ? p : 1;
    const features = all ? p : 1;
    if (code === GRADIENT && all) addCellsGradient(hist, cells(), p, rows, start, end, gradient, hessian);
    else if (code === GRADIENT)
      addRowsGradient(hist, offsets, source, binBase, rowStride, features, rows, start, end, gradient, hessian);
    else if (code === MSE) addRowsMse(hist, offsets, source, binBase, rowStride, features, rows, start, end, y, weight);
    else if (all)
      addRowsClass(hist, offsets, source, binBase, rowStride, features, rows, start, end, classOf, weight, S);
    else addColumnClass(hist, bins, f * n, rows, start, end, classOf, weight, S);
  };
  /** Stats of the rows `rows[start, end)` into `s[o…]` (zeroed). */
  const nodeStats = (start: number, end: number, s: Float64Array, o: number): void => {
    s.fill(0, o, o + S);
    for (let r = start; r < end; r++) {
      const i = rows[r]!;
      const w = weight[i]!;
      s[o]! += 1;
      if (code === GRADIENT) {
        s[o + 1]! += hessian[i]!;
        s[o + 2]! += gradient[i]!;
      } else if (code === MSE) {
        s[o + 1]! += w;
        s[o + 2]! += w * y[i]!;
        s[o + 3]! += w * y[i]! * y[i]!;
      } else {
        s[o + 1]! += w;
        s[o + 2 + classOf[i]!]! += w;
      }
    }
  };
  const slotOffset = Int32Array.from({ length: p }, (_, f) => histOffset[f]! / S);
  const wordOffset = new Int32Array(p + 1);
  for (let f = 0; f < p; f++) wordOffset[f + 1] = wordOffset[f]! + wordsOf(nb[f]!);
  const words = wordOffset[p]!;
  const newHist = (): NodeHist => takeHist(histSize, words);
  /** Clears a histogram (a memset beats clearing by its bits) and returns it to the pool. */
  const release = (h: NodeHist): void => {
    h.values.fill(0);
    h.occupied.fill(0);
    poolHist(h);
  };
  const occupancyAll = (h: NodeHist): void => {
    for (let f = 0; f < p; f++) occupancyOf(h.values, histOffset[f]!, S, nb[f]!, h.occupied, wordOffset[f]!, true);
  };
  /**
   * Sets the occupancy of a child's fresh histogram and, when `parent` is given, turns the parent's
   * histogram into the sibling's (parent − child). With few rows it walks the child's rows: each
   * slot the child holds is subtracted once (its bit marks it done), the others hold zeros in the
   * child and x − 0 = x, so the result equals a full subtraction. Otherwise it runs over every slot.
   */
  const settleChild = (child: NodeHist, parent: NodeHist | null, start: number, end: number): void => {
    const cv = child.values;
    if ((end - start) * p >= slots) {
      if (parent) subtractAll(parent, child, histOffset, nb, wordOffset, S);
      else occupancyAll(child);
      return;
    }
    const co = child.occupied;
    for (let r = start; r < end; r++) {
      const rb = rows[r]! * p;
      for (let f = 0; f < p; f++) {
        const b = rowBins[rb + f]!;
        const word = wordOffset[f]! + (b >>> 5);
        const bit = 1 << (b & 31);
        if ((co[word]! & bit) !== 0) continue;
        co[word]! |= bit;
        if (!parent) continue;
        const pv = parent.values;
        const o = (slotOffset[f]! + b) * S;
        if (S === 3) {
          pv[o] = pv[o]! - cv[o]!;
          pv[o + 1] = pv[o + 1]! - cv[o + 1]!;
          pv[o + 2] = pv[o + 2]! - cv[o + 2]!;
        } else for (let c = 0; c < S; c++) pv[o + c] = pv[o + c]! - cv[o + c]!;
        if (pv[o] === 0) {
          // The sibling has no rows here: clear the bit and the rounding residue.
          parent.occupied[word]! &= ~bit;
          for (let c = 0; c < S; c++) pv[o + c] = 0;
        }
      }
    }
  };

  const best = new BestSplit(S);
  const leftStats = new Float64Array(S);
  const total = new Float64Array(S);
  const featureHist = new Float64Array(maxFeatureHist);
  const featureOccupied = new Int32Array(wordsOf(maxFeatureHist / S));
  const scan = (hist: Float64Array, base: number, occupied: Int32Array, wordBase: number, f: number) => {
    const bins = nb[f]!;
    if (code === GRADIENT)
      scanGradient(
        hist,
        base,
        occupied,
        wordBase,
        f,
        bins,
        minLeaf,
        minHessian,
        l2,
        total[0]!,
        total[1]!,
        total[2]!,
        best,
      );
    else scanStats(hist, base, occupied, wordBase, f, bins, S, code, minLeaf, total, best, leftStats);
    if (best.fresh) {
      best.bin = thresholdBin(hist, base, S, bins, best.at);
      best.fresh = false;
    }
  };

  const findSplit = (item: Pending): void => {
    const count = item.end - item.start;
    const o = item.node * S;
    if (count < minSplit || item.depth >= maxDepth || isPure(builder.stats, o)) return;
    for (let c = 0; c < S; c++) total[c] = builder.stats[o + c]!;
    best.found = false;
    if (useSubtraction) {
      if (!item.hist) {
        item.hist = newHist();
        accumulate(item.hist.values, -1, item.start, item.end);
        occupancyAll(item.hist);
      }
      const { values, occupied } = item.hist;
      for (let f = 0; f < p; f++) scan(values, histOffset[f]!, occupied, wordOffset[f]!, f);
    } else {
      let visited = 0;
      for (let k = 0; k < p && visited < maxFeatures; k++) {
        // Partial Fisher–Yates: draw the next feature among those not yet drawn at this node.
        const j = k + (rng ? rng.int(p - k) : 0);
        const f = featureOrder[j]!;
        featureOrder[j] = featureOrder[k]!;
        featureOrder[k] = f;
        // A feature constant in the node offers no split and does not count as drawn.
        if (constantIn(bins, f * n, rows, item.start, item.end)) continue;
        featureHist.fill(0, 0, (nb[f]! + 1) * S);
        accumulate(featureHist, f, item.start, item.end);
        occupancyOf(featureHist, 0, S, nb[f]!, featureOccupied, 0, false);
        scan(featureHist, 0, featureOccupied, 0, f);
        visited++;
      }
    }
    const parent = proxyOf(code, total, 0, K, l2);
    if (best.found && best.score - parent > EPS * Math.max(1, Math.abs(parent))) {
      item.hasSplit = true;
      item.feature = best.feature;
      item.bin = best.bin;
      item.missingLeft = best.missingLeft;
      item.gain = best.score - parent;
      builder.splitLeft.set(best.left, o);
    }
  };
  const pending = (node: number, start: number, end: number, depth: number): Pending => ({
    node,
    start,
    end,
    depth,
    hist: null,
    hasSplit: false,
    feature: -1,
    bin: 0,
    missingLeft: false,
    gain: 0,
  });

  const rootNode = builder.add();
  nodeStats(0, rows.length, builder.stats, 0);
  builder.weight[rootNode] = builder.stats[1]!;
  const root = pending(rootNode, 0, rows.length, 0);
  findSplit(root);
  const frontier: Pending[] = [root];
  const leafNodes: number[] = [];
  const leafStart: number[] = [];
  const leafEnd: number[] = [];
  const closeLeaf = (item: Pending) => {
    leafNodes.push(item.node);
    leafStart.push(item.start);
    leafEnd.push(item.end);
    if (item.hist) release(item.hist);
    item.hist = null;
  };
  let leaves = 1;
  const bestFirst = Number.isFinite(maxLeaves);
  while (frontier.length > 0) {
    let pick = frontier.length - 1;
    if (bestFirst) {
      let bestGain = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < frontier.length; k++) {
        const candidate = frontier[k]!;
        const g = candidate.hasSplit ? candidate.gain : Number.NEGATIVE_INFINITY;
        if (g > bestGain) {
          bestGain = g;
          pick = k;
        }
      }
    }
    const item = frontier[pick]!;
    frontier.splice(pick, 1);
    if (!item.hasSplit || leaves >= maxLeaves) {
      closeLeaf(item);
      continue;
    }
    // Partition rows in place: left = bin <= item.bin, or missing and missing goes left.
    const col = item.feature * n;
    const missingBin = nb[item.feature]!;
    let lo = item.start;
    let hi = item.end - 1;
    while (lo <= hi) {
      const b = bins[col + rows[lo]!]!;
      const goesLeft = b === missingBin ? item.missingLeft : b <= item.bin;
      if (goesLeft) lo++;
      else {
        const t = rows[lo]!;
        rows[lo] = rows[hi]!;
        rows[hi] = t;
        hi--;
      }
    }
    const mid = lo;
    const node = item.node;
    const leftNode = builder.add();
    const rightNode = builder.add();
    const { stats, splitLeft } = builder;
    const parentOffset = node * S;
    const leftOffset = leftNode * S;
    const rightOffset = rightNode * S;
    for (let c = 0; c < S; c++) {
      stats[leftOffset + c] = splitLeft[parentOffset + c]!;
      stats[rightOffset + c] = stats[parentOffset + c]! - splitLeft[parentOffset + c]!;
    }
    builder.weight[leftNode] = stats[leftOffset + 1]!;
    builder.weight[rightNode] = stats[rightOffset + 1]!;
    builder.feature[node] = item.feature;
    const t = thresholds[item.feature]!;
    builder.threshold[node] = item.bin < t.length ? t[item.bin]! : Number.MAX_VALUE;
    builder.missingLeft[node] = item.missingLeft ? 1 : 0;
    builder.improvement[node] = item.gain;
    builder.left[node] = leftNode;
    builder.right[node] = rightNode;
    const leftItem = pending(leftNode, item.start, mid, item.depth + 1);
    const rightItem = pending(rightNode, mid, item.end, item.depth + 1);
    leaves++;
    if (leaves >= maxLeaves) {
      // The budget is spent: both children stay leaves, no histogram or split search for them.
      if (item.hist) release(item.hist);
      item.hist = null;
      closeLeaf(leftItem);
      closeLeaf(rightItem);
      continue;
    }
    if (useSubtraction && item.hist) {
      // Histogram of the smaller child directly, the larger one by subtraction from the parent.
      const leftSmaller = mid - item.start <= item.end - mid;
      const small = leftSmaller ? leftItem : rightItem;
      const large = leftSmaller ? rightItem : leftItem;
      const needSmall = small.end - small.start >= minSplit;
      const needLarge = large.end - large.start >= minSplit;
      if (needSmall || needLarge) {
        const sh = newHist();
        accumulate(sh.values, -1, small.start, small.end);
        settleChild(sh, needLarge ? item.hist : null, small.start, small.end);
        if (needLarge) {
          large.hist = item.hist;
          item.hist = null; // moved to the larger child
        }
        if (needSmall) small.hist = sh;
        else release(sh);
      }
    }
    if (item.hist) release(item.hist);
    item.hist = null;
    findSplit(leftItem);
    findSplit(rightItem);
    if (!leftItem.hasSplit) closeLeaf(leftItem);
    else frontier.push(leftItem);
    if (!rightItem.hasSplit) closeLeaf(rightItem);
    else frontier.push(rightItem);
  }

  // Node values from the node stats: class distribution, mean, or −G/(H + λ)·shrinkage.
  const width = code === GINI || code === ENTROPY ? K : 1;
  const nodes = builder.feature.length;
  const value = new Float64Array(nodes * width);
  const stats = builder.stats;
  for (let node = 0; node < nodes; node++) {
    const o = node * S;
    const w = stats[o + 1]!;
    if (code === GINI || code === ENTROPY)
      for (let k = 0; k < K; k++) value[node * K + k] = w > 0 ? stats[o + 2 + k]! / w : 0;
    else if (code === MSE) value[node] = w > 0 ? stats[o + 2]! / w : 0;
    else value[node] = (-stats[o + 2]! / (w + l2)) * shrinkage;
  }
  return { tree: builder.finish(width, value), rows, leafNodes, leafStart, leafEnd };
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
