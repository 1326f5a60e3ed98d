import { binMatrix } from "./binning.ts";
import type { TrainingRows } from "./model.ts";
import { Random } from "./random.ts";
import { addImprovements, type Criterion, leafIndex, type Tree } from "./tree.ts";
import { growTree } from "./tree-grow.ts";

/**
 * Random forest (Breiman 2001) as scikit-learn's RandomForestClassifier/Regressor defines it:
 * each tree on a bootstrap sample (n draws with replacement, counts as weights), grown to pure
 * leaves, drawing `maxFeatures` features per node (√p for classification, all for regression);
 * predictions average the trees' leaf class distributions (or values). Features are binned
 * (≤ 255 bins per feature: exact CART thresholds whenever a feature has ≤ 255 distinct values).
 */
export interface ForestParams {
  nEstimators: number;
  criterion: Criterion;
  maxFeatures: "sqrt" | "log2" | "all" | number;
  maxDepth?: number;
  minSamplesLeaf: number;
  minSamplesSplit: number;
  bootstrap: boolean;
}

export const DEFAULT_FOREST: ForestParams = {
  nEstimators: 100,
  criterion: "gini",
  maxFeatures: "sqrt",
  minSamplesLeaf: 1,
  minSamplesSplit: 2,
  bootstrap: true,
};

export interface Forest {
  trees: Tree[];
  /** Mean of the trees' normalised impurity decreases per feature (sums to 1). */
  importance: Float64Array;
}

export function resolveMaxFeatures(maxFeatures: ForestParams["maxFeatures"], p: number): number {
  if (maxFeatures === "sqrt") return Math.max(1, Math.floor(Math.sqrt(p)));
  if (maxFeatures === "log2") return Math.max(1, Math.floor(Math.log2(p)));
  if (maxFeatures === "all") return p;
  return maxFeatures >= 1 ? Math.min(p, Math.floor(maxFeatures)) : Math.max(1, Math.floor(maxFeatures * p));
}

export function fitForest(training: TrainingRows, params: Partial<ForestParams> = {}, seed = 0): Forest {
  const { x, n, p, y, task, classes } = training;
  const settings: ForestParams = {
    ...DEFAULT_FOREST,
    ...(task === "regression" ? { criterion: "mse" as const, maxFeatures: "all" as const } : {}),
    ...params,
  };
  const data = binMatrix(x, n, p);
  const rng = new Random(seed);
  const trees: Tree[] = [];
  const importance = new Float64Array(p);
  const perTree = new Float64Array(p);
  const weight = new Float64Array(n);
  for (let t = 0; t < settings.nEstimators; t++) {
    const treeRng = rng.fork();
    weight.fill(0);
    if (settings.bootstrap) for (let k = 0; k < n; k++) weight[treeRng.int(n)]! += 1;
    else weight.fill(1);
    let inBag = 0;
    for (let i = 0; i < n; i++) if (weight[i]! > 0) inBag++;
    const rows = new Uint32Array(inBag);
    for (let i = 0, k = 0; i < n; i++) if (weight[i]! > 0) rows[k++] = i;
    const grown = growTree(
      data,
      { y, weight },
      {
        criterion: settings.criterion,
        classes,
        maxDepth: settings.maxDepth,
        minSamplesLeaf: settings.minSamplesLeaf,
        minSamplesSplit: settings.minSamplesSplit,
        maxFeatures: resolveMaxFeatures(settings.maxFeatures, p),
      },
      rows,
      treeRng,
    );
    trees.push(grown.tree);
    perTree.fill(0);
    addImprovements(grown.tree, perTree);
    let sum = 0;
    for (let f = 0; f < p; f++) sum += perTree[f]!;
    if (sum > 0) for (let f = 0; f < p; f++) importance[f]! += perTree[f]! / sum;
  }
  let total = 0;
  for (let f = 0; f < p; f++) total += importance[f]!;
  if (total > 0) for (let f = 0; f < p; f++) importance[f]! /= total;
  return { trees, importance };
}

/** Mean of the trees' leaf values: n × width (class probabilities, or one value per row). */
export function predictForest(trees: readonly Tree[], x: Float64Array, n: number, p: number): Float64Array {
  const width = trees[0]?.width ?? 1;
  const out = new Float64Array(n * width);
  for (const tree of trees) {
    const value = tree.value;
    for (let i = 0; i < n; i++) {
      const leaf = leafIndex(tree, x, i * p);
      for (let k = 0; k < width; k++) out[i * width + k]! += value[leaf * width + k]!;
    }
  }
  const m = trees.length || 1;
  for (let k = 0; k < out.length; k++) out[k]! /= m;
  return out;
}
