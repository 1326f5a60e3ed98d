/**
 * One decision tree over histogram-binned features, grown by one of four split criteria:
 * gini or entropy (classification, class counts per bin), mse (regression), or gradient
 * (second-order boosting: sums of gradients and hessians). Splits are "value <= threshold" with
 * the side for missing values learned at every split (tried both ways when the node has some;
 * otherwise missing values follow the child with more samples).
 *
 * This file: what a tree is, and prediction. Growth: tree-grow.ts (driver), tree-split.ts (split
 * finding), tree-histogram.ts (node histograms), tree-criterion.ts (the criteria's arithmetic).
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
