import type { Task } from "./design-matrix.ts";
import { type BoostingParams, boostedRaw, fitBoosting, rawToOutput } from "./gradient-boosting.ts";
import { type ForestParams, fitForest, predictForest } from "./random-forest.ts";
import type { Tree } from "./tree.ts";

export type ModelKind = "rf" | "gbdt";
export const MODEL_KINDS: readonly ModelKind[] = ["rf", "gbdt"];

export type ModelParams = Partial<ForestParams> & Partial<BoostingParams>;

/** A fitted random forest or boosted ensemble, independent of column names. */
export interface FittedModel {
  kind: ModelKind;
  task: Task;
  /** Number of classes (classification) or 0. */
  classes: number;
  trees: Tree[];
  /** Boosting only: raw score before any tree. */
  baseline: number[];
  /** Boosting only: scores per row. */
  width: number;
  /** Normalised impurity (forest) or split-gain (boosting) importance per feature. */
  importance: Float64Array;
  iterations: number;
}

/** What a model learns from: n rows of p features (row-major), and the label of each. */
export interface TrainingRows {
  x: Float64Array;
  n: number;
  p: number;
  y: Float64Array;
  task: Task;
  /** Number of classes (classification) or 0. */
  classes: number;
}

export function fitModel(
  kind: ModelKind,
  x: Float64Array,
  n: number,
  p: number,
  y: Float64Array,
  task: Task,
  classes: number,
  params: ModelParams = {},
  seed = 0,
): FittedModel {
  const training: TrainingRows = { x, n, p, y, task, classes };
  if (kind === "rf") {
    const { trees, importance } = fitForest(training, params, seed);
    const width = task === "classification" ? classes : 1;
    return { kind, task, classes, trees, baseline: [], width, importance, iterations: trees.length };
  }
  const { trees, baseline, width, importance, iterations } = fitBoosting(training, params, seed);
  return { kind, task, classes, trees, baseline, width, importance, iterations };
}

/** Class probabilities (n × classes) or predicted values (n) for rows of a row-major matrix. */
export function predictOutput(model: FittedModel, x: Float64Array, n: number, p: number): Float64Array {
  if (model.kind === "rf") return predictForest(model.trees, x, n, p);
  return rawToOutput(boostedRaw(model, x, n, p), n, model.task, model.classes);
}

/** Index of the largest probability per row (first one on ties). */
export function argmaxRows(probabilities: Float64Array, n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (probabilities[i * k + c]! > probabilities[i * k + best]!) best = c;
    out[i] = best;
  }
  return out;
}
