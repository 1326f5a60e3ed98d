import type { BinnedData } from "./binning.ts";
import type { Random } from "./random.ts";
import type { GrownTree, Tree, TreeParams, TreeTarget } from "./tree.ts";
import {
  criterionCode,
  EPS,
  GRADIENT,
  isPure,
  nodeValues,
  proxyOf,
  type RowSums,
  rowSumsOf,
  statsWidth,
  valueWidth,
} from "./tree-criterion.ts";
import {
  addRows,
  allCells,
  columnCells,
  constantIn,
  HistLayout,
  type NodeHist,
  occupancyOf,
  releaseHist,
  wordsOf,
} from "./tree-histogram.ts";
import { BestSplit, type FeatureHist, scanGradient, scanStats, thresholdBin } from "./tree-split.ts";

/*
 * Tree growth (see `Tree` in tree.ts). Growth is best-first under `maxLeafNodes` (as histogram
 * gradient boosting does) and plain depth-first without it (as CART in a random forest does; both
 * give the same tree then).
 *
 * Speed (boosting grows hundreds of small trees): rows stay partitioned in place, so a node's
 * histogram comes from its own rows only; when every feature is searched, only the smaller
 * child's histogram is built and the larger one is parent − child; histograms are compact (a
 * feature with few distinct values has few bins), pooled, and carry an occupancy bitmap so scans
 * skip empty bins. Each bin sums its rows in row order whichever path builds it, so the trees
 * are bit for bit those of a plain build.
 */

/** A node waiting in the frontier, with the best split found for it (if any). */
interface Pending {
  node: number;
  start: number;
  end: number;
  depth: number;
  hist: NodeHist | null;
  split: NodeSplit | null;
}

/** A node's split: feature bin <= `bin` goes left, missing values as `missingLeft` says. */
interface NodeSplit {
  feature: number;
  bin: number;
  missingLeft: boolean;
  /** Proxy improvement of the split over the node. */
  gain: number;
}

function pending(node: number, start: number, end: number, depth: number): Pending {
  return { node, start, end, depth, hist: null, split: null };
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
      this.stats = doubled(this.stats);
      this.splitLeft = doubled(this.splitLeft);
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

function doubled(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

/** Grows one tree on `rows` (indices into the binned data; repeated rows are not expected). */
export function growTree(
  data: BinnedData,
  target: TreeTarget,
  params: TreeParams,
  rows: Uint32Array,
  rng: Random | null,
): GrownTree {
  return new Grower(data, target, params, rows, rng).grow();
}

/** One tree's growth: its settings, buffers and the node histograms of its frontier. */
class Grower {
  readonly code: number;
  readonly K: number;
  readonly S: number;
  readonly n: number;
  readonly p: number;
  readonly minLeaf: number;
  readonly minSplit: number;
  readonly maxDepth: number;
  readonly maxLeaves: number;
  readonly maxFeatures: number;
  readonly l2: number;
  readonly minHessian: number;
  /** Whether every feature is searched at every node (then children's histograms come by subtraction). */
  readonly useSubtraction: boolean;
  readonly sums: RowSums;
  readonly layout: HistLayout;
  readonly builder: Builder;
  readonly featureOrder: Int32Array;
  readonly best: BestSplit;
  readonly leftStats: Float64Array;
  readonly total: Float64Array;
  /** One feature's histogram at a time, when features are drawn per node. */
  readonly featureHist: Float64Array;
  readonly featureOccupied: Int32Array;
  readonly leafNodes: number[] = [];
  readonly leafStart: number[] = [];
  readonly leafEnd: number[] = [];

  constructor(
    readonly data: BinnedData,
    target: TreeTarget,
    readonly params: TreeParams,
    readonly rows: Uint32Array,
    readonly rng: Random | null,
  ) {
    const { n, p } = data;
    this.n = n;
    this.p = p;
    this.code = criterionCode(params.criterion);
    this.K = params.classes ?? 0;
    this.S = statsWidth(this.code, this.K);
    this.minLeaf = Math.max(1, params.minSamplesLeaf ?? 1);
    this.minSplit = Math.max(2, params.minSamplesSplit ?? 2, 2 * this.minLeaf);
    this.maxDepth = params.maxDepth ?? Number.POSITIVE_INFINITY;
    this.maxLeaves = params.maxLeafNodes ?? Number.POSITIVE_INFINITY;
    this.maxFeatures = Math.min(p, params.maxFeatures ?? p);
    this.l2 = params.l2 ?? 0;
    this.minHessian = params.minHessian ?? 1e-3;
    this.useSubtraction = this.maxFeatures === p;
    this.sums = rowSumsOf(this.code, target, n);
    this.layout = new HistLayout(
      data.thresholds.map((t) => t.length + 1),
      this.S,
    );
    this.builder = new Builder(this.S);
    this.featureOrder = Int32Array.from({ length: p }, (_, i) => i);
    this.best = new BestSplit(this.S);
    this.leftStats = new Float64Array(this.S);
    this.total = new Float64Array(this.S);
    this.featureHist = new Float64Array(this.layout.maxFeatureSize);
    this.featureOccupied = new Int32Array(wordsOf(this.layout.maxFeatureSize / this.S));
  }

  grow(): GrownTree {
    const { builder, rows } = this;
    const rootNode = builder.add();
    // The root's stats: every row into the one slot at 0.
    addRows(builder.stats, new Int32Array(this.n), 0, 1, 1, rows, 0, rows.length, this.sums);
    builder.weight[rootNode] = builder.stats[1]!;
    const root = pending(rootNode, 0, rows.length, 0);
    this.findSplit(root);
    const frontier: Pending[] = [root];
    let leaves = 1;
    while (frontier.length > 0) {
      const item = this.pick(frontier);
      if (!item.split || leaves >= this.maxLeaves) {
        this.closeLeaf(item);
        continue;
      }
      const [leftItem, rightItem] = this.split(item, item.split);
      leaves++;
      if (leaves >= this.maxLeaves) {
        // The budget is spent: both children stay leaves, no histogram or split search for them.
        this.dropHist(item);
        this.closeLeaf(leftItem);
        this.closeLeaf(rightItem);
        continue;
      }
      if (this.useSubtraction && item.hist) this.childHistograms(item, leftItem, rightItem);
      this.dropHist(item);
      this.findSplit(leftItem);
      this.findSplit(rightItem);
      for (const child of [leftItem, rightItem]) {
        if (!child.split) this.closeLeaf(child);
        else frontier.push(child);
      }
    }
    const nodes = builder.feature.length;
    const value = nodeValues(this.code, builder.stats, nodes, this.K, this.l2, this.params.shrinkage ?? 1);
    const tree = builder.finish(valueWidth(this.code, this.K), value);
    return { tree, rows, leafNodes: this.leafNodes, leafStart: this.leafStart, leafEnd: this.leafEnd };
  }

  /** Takes the next node off the frontier: the best gain under a leaf budget, else the last pushed. */
  private pick(frontier: Pending[]): Pending {
    let pick = frontier.length - 1;
    if (Number.isFinite(this.maxLeaves)) {
      let bestGain = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < frontier.length; k++) {
        const candidate = frontier[k]!;
        const g = candidate.split ? candidate.split.gain : Number.NEGATIVE_INFINITY;
        if (g > bestGain) {
          bestGain = g;
          pick = k;
        }
      }
    }
    const item = frontier[pick]!;
    frontier.splice(pick, 1);
    return item;
  }

  private dropHist(item: Pending): void {
    if (item.hist) releaseHist(item.hist);
    item.hist = null;
  }

  private closeLeaf(item: Pending): void {
    this.leafNodes.push(item.node);
    this.leafStart.push(item.start);
    this.leafEnd.push(item.end);
    this.dropHist(item);
  }

  /** Adds the node's rows into `hist`: every feature, or only feature `f` at 0. */
  private accumulate(hist: Float64Array, f: number, start: number, end: number): void {
    const { data, p, n, rows, sums } = this;
    if (f >= 0) addRows(hist, columnCells(data, this.S), f * n, 1, 1, rows, start, end, sums);
    else addRows(hist, allCells(data, this.layout), 0, p, p, rows, start, end, sums);
  }

  private scan(hist: Float64Array, base: number, occupied: Int32Array, wordBase: number, f: number): void {
    const best = this.best;
    const bins = this.layout.nb[f]!;
    const scanned: FeatureHist = { hist, base, occupied, wordBase, feature: f, bins };
    if (this.code === GRADIENT) scanGradient(scanned, this.minLeaf, this.minHessian, this.l2, this.total, best);
    else scanStats(scanned, this.S, this.code, this.minLeaf, this.total, best, this.leftStats);
    if (best.fresh) {
      best.bin = thresholdBin(hist, base, this.S, bins, best.at);
      best.fresh = false;
    }
  }

  /** Searches the node's best split, recording it in the item (and its left stats in the builder). */
  private findSplit(item: Pending): void {
    const { S, p, n, builder, best, total, layout } = this;
    const o = item.node * S;
    if (
      item.end - item.start < this.minSplit ||
      item.depth >= this.maxDepth ||
      isPure(this.code, builder.stats, o, this.K)
    )
      return;
    for (let c = 0; c < S; c++) total[c] = builder.stats[o + c]!;
    best.reset();
    if (this.useSubtraction) {
      if (!item.hist) {
        item.hist = layout.take();
        this.accumulate(item.hist.values, -1, item.start, item.end);
        layout.occupancyAll(item.hist);
      }
      const { values, occupied } = item.hist;
      for (let f = 0; f < p; f++) this.scan(values, layout.histOffset[f]!, occupied, layout.wordOffset[f]!, f);
    } else {
      const { featureOrder, featureHist, featureOccupied } = this;
      let visited = 0;
      for (let k = 0; k < p && visited < this.maxFeatures; k++) {
        // Partial Fisher–Yates: draw the next feature among those not yet drawn at this node.
        const j = k + (this.rng ? this.rng.int(p - k) : 0);
        const f = featureOrder[j]!;
        featureOrder[j] = featureOrder[k]!;
        featureOrder[k] = f;
        // A feature constant in the node offers no split and does not count as drawn.
        if (constantIn(this.data.bins, f * n, this.rows, item.start, item.end)) continue;
        featureHist.fill(0, 0, (layout.nb[f]! + 1) * S);
        this.accumulate(featureHist, f, item.start, item.end);
        occupancyOf(featureHist, 0, S, layout.nb[f]!, featureOccupied, 0, false);
        this.scan(featureHist, 0, featureOccupied, 0, f);
        visited++;
      }
    }
    const parent = proxyOf(this.code, total, 0, this.K, this.l2);
    if (best.found && best.score - parent > EPS * Math.max(1, Math.abs(parent))) {
      item.split = { feature: best.feature, bin: best.bin, missingLeft: best.missingLeft, gain: best.score - parent };
      builder.splitLeft.set(best.left, o);
    }
  }

  /** Splits a node: partitions its rows in place and adds its two children to the tree. */
  private split(item: Pending, split: NodeSplit): [Pending, Pending] {
    const { rows, builder, S } = this;
    // Left = bin <= split.bin, or missing and missing goes left.
    const col = split.feature * this.n;
    const bins = this.data.bins;
    const missingBin = this.layout.nb[split.feature]!;
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
    builder.feature[node] = split.feature;
    const t = this.data.thresholds[split.feature]!;
    builder.threshold[node] = split.bin < t.length ? t[split.bin]! : Number.MAX_VALUE;
    builder.missingLeft[node] = split.missingLeft ? 1 : 0;
    builder.improvement[node] = split.gain;
    builder.left[node] = leftNode;
    builder.right[node] = rightNode;
    return [pending(leftNode, item.start, lo, item.depth + 1), pending(rightNode, lo, item.end, item.depth + 1)];
  }

  /** Histogram of the smaller child directly, the larger one by subtraction from the parent's. */
  private childHistograms(item: Pending, leftItem: Pending, rightItem: Pending): void {
    const leftSmaller = leftItem.end - leftItem.start <= rightItem.end - rightItem.start;
    const small = leftSmaller ? leftItem : rightItem;
    const large = leftSmaller ? rightItem : leftItem;
    const needSmall = small.end - small.start >= this.minSplit;
    const needLarge = large.end - large.start >= this.minSplit;
    if (!needSmall && !needLarge) return;
    const sh = this.layout.take();
    this.accumulate(sh.values, -1, small.start, small.end);
    this.settleChild(sh, needLarge ? item.hist : null, small.start, small.end);
    if (needLarge) {
      large.hist = item.hist;
      item.hist = null; // moved to the larger child
    }
    if (needSmall) small.hist = sh;
    else releaseHist(sh);
  }

  /**
   * Sets the occupancy of a child's fresh histogram and, when `parent` is given, turns the parent's
   * histogram into the sibling's (parent − child). With few rows it walks the child's rows: each
   * slot the child holds is subtracted once (its bit marks it done), the others hold zeros in the
   * child and x − 0 = x, so the result equals a full subtraction. Otherwise it runs over every slot.
   */
  private settleChild(child: NodeHist, parent: NodeHist | null, start: number, end: number): void {
    const { layout, p, S, rows } = this;
    const rowBins = this.data.rowBins;
    const cv = child.values;
    if ((end - start) * p >= layout.slots) {
      if (parent) layout.subtractAll(parent, child);
      else layout.occupancyAll(child);
      return;
    }
    const co = child.occupied;
    for (let r = start; r < end; r++) {
      const rb = rows[r]! * p;
      for (let f = 0; f < p; f++) {
        const b = rowBins[rb + f]!;
        const word = layout.wordOffset[f]! + (b >>> 5);
        const bit = 1 << (b & 31);
        if ((co[word]! & bit) !== 0) continue;
        co[word]! |= bit;
        if (!parent) continue;
        const pv = parent.values;
        const o = (layout.slotOffset[f]! + b) * S;
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
  }
}
