import { binMatrix } from "./binning.ts";
import type { Task } from "./design-matrix.ts";
import type { TrainingRows } from "./model.ts";
import { Random } from "./random.ts";
import { addImprovements, leafIndex, type Tree } from "./tree.ts";
import { growTree } from "./tree-grow.ts";

/**
 * Histogram gradient-boosted trees with the settings of scikit-learn's
 * HistGradientBoostingClassifier/Regressor defaults: 255 bins (+1 for missing values), log loss
 * (binary: one tree per iteration on the logit; K classes: K trees per iteration, softmax),
 * squared error for regression, learning rate 0.1, 100 iterations, best-first trees of at most
 * 31 leaves, ≥ 20 samples per leaf, no L2, no depth limit. Early stopping "auto" as in
 * scikit-learn: on only with more than 10 000 rows, holding out a stratified 10 % and stopping
 * when the held-out loss has not improved by 1e-7 in 10 iterations.
 */
export interface BoostingParams {
  learningRate: number;
  maxIter: number;
  maxLeafNodes: number;
  minSamplesLeaf: number;
  l2: number;
  maxDepth?: number;
  earlyStopping: "auto" | boolean;
  validationFraction: number;
  nIterNoChange: number;
  tol: number;
}

export const DEFAULT_BOOSTING: BoostingParams = {
  learningRate: 0.1,
  maxIter: 100,
  maxLeafNodes: 31,
  minSamplesLeaf: 20,
  l2: 0,
  earlyStopping: "auto",
  validationFraction: 0.1,
  nIterNoChange: 10,
  tol: 1e-7,
};

export interface Boosted {
  /** Raw score of every row before any tree: one per class for K > 2, else one. */
  baseline: number[];
  /** Trees in iteration order; with K > 2 classes, tree `it * K + k` scores class k. */
  trees: Tree[];
  /** Scores per row (1 or K). */
  width: number;
  iterations: number;
  importance: Float64Array;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Class probabilities (or values) from raw scores, in place into `out` (n × max(2, K) or n). */
export function rawToOutput(raw: Float64Array, n: number, task: Task, classes: number): Float64Array {
  if (task === "regression") return raw;
  if (classes === 2) {
    const out = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      const p1 = sigmoid(raw[i]!);
      out[i * 2] = 1 - p1;
      out[i * 2 + 1] = p1;
    }
    return out;
  }
  const out = new Float64Array(n * classes);
  for (let i = 0; i < n; i++) softmaxRow(raw, i * classes, classes, out);
  return out;
}

function softmaxRow(raw: Float64Array, offset: number, k: number, out: Float64Array): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < k; c++) max = Math.max(max, raw[offset + c]!);
  let sum = 0;
  for (let c = 0; c < k; c++) {
    const e = Math.exp(raw[offset + c]! - max);
    out[offset + c] = e;
    sum += e;
  }
  for (let c = 0; c < k; c++) out[offset + c]! /= sum;
}

function lossOf(raw: Float64Array, y: Float64Array, rows: Uint32Array, task: Task, classes: number): number {
  let loss = 0;
  if (task === "regression") {
    for (const i of rows) loss += 0.5 * (raw[i]! - y[i]!) ** 2;
  } else if (classes === 2) {
    for (const i of rows) {
      const z = raw[i]!;
      // log(1 + e^z) − y·z, computed stably.
      loss += (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y[i]! * z;
    }
  } else {
    for (const i of rows) {
      const o = i * classes;
      let max = Number.NEGATIVE_INFINITY;
      for (let c = 0; c < classes; c++) max = Math.max(max, raw[o + c]!);
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += Math.exp(raw[o + c]! - max);
      loss += max + Math.log(sum) - raw[o + y[i]!]!;
    }
  }
  return loss / Math.max(1, rows.length);
}

/** Stratified (classification) random split of 0..n−1 into training and validation rows. */
function validationSplit(
  y: Float64Array,
  n: number,
  task: Task,
  fraction: number,
  rng: Random,
): { train: Uint32Array; valid: Uint32Array } {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    const key = task === "regression" ? 0 : y[i]!;
    const list = byClass.get(key);
    if (list) list.push(i);
    else byClass.set(key, [i]);
  }
  const train: number[] = [];
  const valid: number[] = [];
  for (const key of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = rng.shuffle(byClass.get(key)!);
    const take = Math.round(list.length * fraction);
    valid.push(...list.slice(0, take));
    train.push(...list.slice(take));
  }
  return { train: Uint32Array.from(train.sort((a, b) => a - b)), valid: Uint32Array.from(valid.sort((a, b) => a - b)) };
}

export function fitBoosting(training: TrainingRows, params: Partial<BoostingParams> = {}, seed = 0): Boosted {
  const { x, n, p, y, task, classes } = training;
  const settings = { ...DEFAULT_BOOSTING, ...params };
  const rng = new Random(seed);
  const early = settings.earlyStopping === "auto" ? n > 10000 : settings.earlyStopping;
  let trainRows: Uint32Array;
  let validRows: Uint32Array = new Uint32Array(0);
  if (early) ({ train: trainRows, valid: validRows } = validationSplit(y, n, task, settings.validationFraction, rng));
  else trainRows = Uint32Array.from({ length: n }, (_, i) => i);

  // Bin only the training rows (a compact copy), so validation rows never shape the thresholds.
  const m = trainRows.length;
  const xt = new Float64Array(m * p);
  const yt = new Float64Array(m);
  trainRows.forEach((r, i) => {
    xt.set(x.subarray(r * p, r * p + p), i * p);
    yt[i] = y[r]!;
  });
  const data = binMatrix(xt, m, p);
  const width = task === "classification" && classes > 2 ? classes : 1;

  const baseline: number[] = [];
  if (task === "regression") {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += yt[i]!;
    baseline.push(sum / m);
  } else {
    const counts = new Float64Array(classes);
    for (let i = 0; i < m; i++) counts[yt[i]!]! += 1;
    const eps = 1e-15;
    if (classes === 2) {
      const p1 = Math.min(1 - eps, Math.max(eps, counts[1]! / m));
      baseline.push(Math.log(p1 / (1 - p1)));
    } else {
      const logs = [...counts].map((c) => Math.log(Math.max(eps, c / m)));
      const mean = logs.reduce((a, b) => a + b, 0) / classes;
      for (const l of logs) baseline.push(l - mean);
    }
  }

  const raw = new Float64Array(m * width);
  for (let i = 0; i < m; i++) for (let k = 0; k < width; k++) raw[i * width + k] = baseline[k]!;
  const validRaw = new Float64Array(validRows.length * width);
  const validY = new Float64Array(validRows.length);
  validRows.forEach((r, i) => {
    validY[i] = y[r]!;
    for (let k = 0; k < width; k++) validRaw[i * width + k] = baseline[k]!;
  });
  const validX = new Float64Array(validRows.length * p);
  validRows.forEach((r, i) => {
    validX.set(x.subarray(r * p, r * p + p), i * p);
  });
  const validIndex = Uint32Array.from({ length: validRows.length }, (_, i) => i);

  const gradient = new Float64Array(m);
  const hessian = new Float64Array(m);
  const prob = new Float64Array(m * width);
  const rows = Uint32Array.from({ length: m }, (_, i) => i);
  const trees: Tree[] = [];
  const importance = new Float64Array(p);
  const scores: number[] = early ? [-lossOf(validRaw, validY, validIndex, task, classes)] : [];
  let iterations = 0;
  for (let it = 0; it < settings.maxIter; it++) {
    if (width > 1) for (let i = 0; i < m; i++) softmaxRow(raw, i * width, width, prob);
    for (let k = 0; k < width; k++) {
      for (let i = 0; i < m; i++) {
        if (task === "regression") {
          gradient[i] = raw[i]! - yt[i]!;
          hessian[i] = 1;
        } else if (width === 1) {
          const q = sigmoid(raw[i]!);
          gradient[i] = q - yt[i]!;
          hessian[i] = q * (1 - q);
        } else {
          const q = prob[i * width + k]!;
          gradient[i] = q - (yt[i] === k ? 1 : 0);
          hessian[i] = q * (1 - q);
        }
      }
      const grown = growTree(
        data,
        { gradient, hessian },
        {
          criterion: "gradient",
          maxLeafNodes: settings.maxLeafNodes,
          minSamplesLeaf: settings.minSamplesLeaf,
          maxDepth: settings.maxDepth,
          l2: settings.l2,
          shrinkage: settings.learningRate,
        },
        rows,
        null,
      );
      const { tree } = grown;
      grown.leafNodes.forEach((leaf, j) => {
        const v = tree.value[leaf]!;
        for (let r = grown.leafStart[j]!; r < grown.leafEnd[j]!; r++) raw[rows[r]! * width + k]! += v;
      });
      for (let i = 0; i < validRows.length; i++)
        validRaw[i * width + k]! += tree.value[leafIndex(tree, validX, i * p)]!;
      trees.push(tree);
      addImprovements(tree, importance);
    }
    iterations++;
    if (early) {
      scores.push(-lossOf(validRaw, validY, validIndex, task, classes));
      const need = settings.nIterNoChange;
      if (scores.length > need) {
        const reference = scores[scores.length - need - 1]! + settings.tol;
        if (!scores.slice(-need).some((s) => s > reference)) break;
      }
    }
  }
  let total = 0;
  for (let f = 0; f < p; f++) total += importance[f]!;
  if (total > 0) for (let f = 0; f < p; f++) importance[f]! /= total;
  return { baseline, trees, width, iterations, importance };
}

/** Raw scores (n × width) of rows of a row-major matrix. */
export function boostedRaw(
  model: Pick<Boosted, "baseline" | "trees" | "width">,
  x: Float64Array,
  n: number,
  p: number,
) {
  const { width, trees, baseline } = model;
  const raw = new Float64Array(n * width);
  for (let i = 0; i < n; i++) for (let k = 0; k < width; k++) raw[i * width + k] = baseline[k]!;
  trees.forEach((tree, t) => {
    const k = t % width;
    for (let i = 0; i < n; i++) raw[i * width + k]! += tree.value[leafIndex(tree, x, i * p)]!;
  });
  return raw;
}
