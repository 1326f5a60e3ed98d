import { QoelabError } from "../errors.ts";
import { foldRows, groupKFold, kFold, stratifiedKFold } from "./cross-validation.ts";
import type { Dataset } from "./dataset.ts";
import { type DesignMatrix, type PrepareOptions, prepareData } from "./design-matrix.ts";
import {
  type ClassificationMetrics,
  classificationMetrics,
  type RegressionMetrics,
  regressionMetrics,
} from "./metrics.ts";
import { argmaxRows, type FittedModel, fitModel, type ModelKind, type ModelParams, predictOutput } from "./model.ts";
import { Random } from "./random.ts";

export interface TrainProgress {
  stage: "fold" | "final" | "done";
  /** Steps done out of `total` (k folds + the final fit). */
  done: number;
  total: number;
  message: string;
}

export interface TrainOptions extends PrepareOptions {
  model?: ModelKind;
  /** Folds (default 5). */
  cv?: number;
  seed?: number;
  params?: ModelParams;
  /** Shuffles per feature and fold for permutation importance (default 5; 0 turns it off). */
  permutationRepeats?: number;
  onProgress?: (progress: TrainProgress) => void;
}

export interface FeatureImportance {
  feature: string;
  importance: number;
}

export interface PermutationImportance {
  feature: string;
  /** Mean drop of accuracy (classification) or rise of MSE (regression) when the feature is shuffled. */
  mean: number;
  std: number;
}

export interface BandwidthResult {
  bandwidthMbps: number | null;
  rows: number;
  /** Classification: out-of-fold accuracy at this limit. */
  accuracy?: number;
  balancedAccuracy?: number;
  /** Regression: out-of-fold MAE at this limit. */
  mae?: number;
}

/** Cross-validated evaluation: every figure comes from predictions on held-out folds. */
export interface Evaluation {
  label: string;
  task: "classification" | "regression";
  model: ModelKind;
  features: string[];
  classes: string[];
  rows: number;
  droppedRows: number;
  folds: number;
  foldKind: "stratified" | "grouped" | "kfold";
  groupColumn: string | null;
  seed: number;
  /** Per fold: accuracy (classification) or MAE (regression), with test rows. */
  perFold: { fold: number; testRows: number; score: number }[];
  classification: ClassificationMetrics | null;
  regression: RegressionMetrics | null;
  perBandwidth: BandwidthResult[];
  impurityImportance: FeatureImportance[];
  permutationImportance: PermutationImportance[] | null;
  /** Out-of-fold prediction per row: class name or value. */
  predictions: (string | number)[];
  timing: { cvSeconds: number; finalFitSeconds: number };
}

export interface TrainResult {
  matrix: DesignMatrix;
  evaluation: Evaluation;
  /** Fitted on every row (what a saved model holds). */
  fitted: FittedModel;
}

/** Rows `rows` of a row-major matrix, as a new matrix. */
export function takeRows(x: Float64Array, p: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length * p);
  rows.forEach((r, i) => {
    out.set(x.subarray(r * p, r * p + p), i * p);
  });
  return out;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function scoreOf(
  model: FittedModel,
  x: Float64Array,
  n: number,
  p: number,
  y: Float64Array,
): { score: number; output: Float64Array } {
  const output = predictOutput(model, x, n, p);
  if (model.task === "classification") {
    const predicted = argmaxRows(output, n, model.classes);
    let correct = 0;
    for (let i = 0; i < n; i++) if (predicted[i] === y[i]) correct++;
    return { score: n > 0 ? correct / n : 0, output };
  }
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (output[i]! - y[i]!) ** 2;
  return { score: n > 0 ? -sq / n : 0, output };
}

/** Fold of every row for the matrix and options (stratified, grouped or plain). */
export function assignFolds(matrix: DesignMatrix, k: number, seed: number) {
  if (matrix.groups) {
    return { folds: groupKFold(matrix.groups, k, seed, matrix.groupColumn ?? "group"), kind: "grouped" as const };
  }
  if (matrix.task === "classification")
    return { folds: stratifiedKFold(matrix.y, k, seed, matrix.classes), kind: "stratified" as const };
  return { folds: kFold(matrix.n, k, seed), kind: "kfold" as const };
}

/** Cross-validates a model on a prepared matrix, then fits it on every row. */
export async function crossValidate(matrix: DesignMatrix, options: TrainOptions): Promise<TrainResult> {
  const kind = options.model ?? "rf";
  if (kind !== "rf" && kind !== "gbdt")
    throw new QoelabError("ML_UNKNOWN_MODEL", `model "${String(kind)}" is not rf or gbdt`, { model: kind });
  const k = options.cv ?? 5;
  const seed = options.seed ?? 0;
  const repeats = options.permutationRepeats ?? 5;
  const { n, p, x, y, task } = matrix;
  const classes = matrix.classes.length;
  const { folds, kind: foldKind } = assignFolds(matrix, k, seed);
  const width = task === "classification" ? classes : 1;
  const oof = new Float64Array(n * width);
  const perFold: Evaluation["perFold"] = [];
  const permutationDrops: number[][] = Array.from({ length: p }, () => []);
  const total = k + 1;
  const rng = new Random(seed ^ 0x5eed);
  const started = performance.now();
  for (let f = 0; f < k; f++) {
    options.onProgress?.({ stage: "fold", done: f, total, message: `fold ${f + 1} of ${k}` });
    await yieldToEventLoop();
    const { train, test } = foldRows(folds, f);
    if (task === "classification") {
      const seen = new Set(train.map((r) => y[r]!));
      if (seen.size < 2)
        throw new QoelabError(
          "ML_TOO_FEW_ROWS",
          `fold ${f + 1}: its training rows hold a single class; use fewer folds or other groups`,
          { fold: f + 1 },
        );
    }
    const xTrain = takeRows(x, p, train);
    const yTrain = Float64Array.from(train, (r) => y[r]!);
    const model = fitModel(kind, xTrain, train.length, p, yTrain, task, classes, options.params, seed + f);
    const xTest = takeRows(x, p, test);
    const yTest = Float64Array.from(test, (r) => y[r]!);
    const { score, output } = scoreOf(model, xTest, test.length, p, yTest);
    test.forEach((r, i) => {
      for (let c = 0; c < width; c++) oof[r * width + c] = output[i * width + c]!;
    });
    let foldScore = score;
    if (task === "regression") {
      let abs = 0;
      for (let i = 0; i < test.length; i++) abs += Math.abs(output[i]! - yTest[i]!);
      foldScore = test.length > 0 ? abs / test.length : 0;
    }
    perFold.push({ fold: f, testRows: test.length, score: foldScore });
    if (repeats > 0 && test.length > 1) {
      const column = new Float64Array(test.length);
      for (let j = 0; j < p; j++) {
        for (let i = 0; i < test.length; i++) column[i] = xTest[i * p + j]!;
        for (let r = 0; r < repeats; r++) {
          const shuffled = rng.shuffle(Float64Array.from(column));
          for (let i = 0; i < test.length; i++) xTest[i * p + j] = shuffled[i]!;
          permutationDrops[j]!.push(score - scoreOf(model, xTest, test.length, p, yTest).score);
        }
        for (let i = 0; i < test.length; i++) xTest[i * p + j] = column[i]!;
      }
    }
  }
  const cvSeconds = (performance.now() - started) / 1000;
  options.onProgress?.({ stage: "final", done: k, total, message: "fit on every row" });
  await yieldToEventLoop();
  const finalStarted = performance.now();
  const fitted = fitModel(kind, x, n, p, y, task, classes, options.params, seed);
  const finalFitSeconds = (performance.now() - finalStarted) / 1000;

  let classification: ClassificationMetrics | null = null;
  let regression: RegressionMetrics | null = null;
  let predictions: (string | number)[];
  if (task === "classification") {
    const predicted = argmaxRows(oof, n, classes);
    const positive = classes === 2 ? Float64Array.from({ length: n }, (_, i) => oof[i * 2 + 1]!) : undefined;
    classification = classificationMetrics(y, predicted, matrix.classes, positive);
    predictions = Array.from(predicted, (c) => matrix.classes[c]!);
  } else {
    regression = regressionMetrics(y, oof);
    predictions = Array.from(oof);
  }

  const perBandwidth: BandwidthResult[] = [];
  if (matrix.bandwidth) {
    const byLimit = new Map<number | null, number[]>();
    matrix.bandwidth.forEach((b, i) => {
      const list = byLimit.get(b);
      if (list) list.push(i);
      else byLimit.set(b, [i]);
    });
    const limits = [...byLimit.keys()].sort(
      (a, b) => (a ?? Number.POSITIVE_INFINITY) - (b ?? Number.POSITIVE_INFINITY),
    );
    for (const limit of limits) {
      const rows = byLimit.get(limit)!;
      if (task === "classification") {
        const truth = rows.map((r) => y[r]!);
        const pred = rows.map((r) => matrix.classes.indexOf(predictions[r] as string));
        const m = classificationMetrics(truth, pred, matrix.classes);
        perBandwidth.push({
          bandwidthMbps: limit,
          rows: rows.length,
          accuracy: m.accuracy,
          balancedAccuracy: m.balancedAccuracy,
        });
      } else {
        const m = regressionMetrics(
          rows.map((r) => y[r]!),
          rows.map((r) => oof[r]!),
        );
        perBandwidth.push({ bandwidthMbps: limit, rows: rows.length, mae: m.mae });
      }
    }
  }

  const impurityImportance = matrix.features
    .map((feature, j) => ({ feature, importance: fitted.importance[j]! }))
    .sort((a, b) => b.importance - a.importance || a.feature.localeCompare(b.feature));
  const permutationImportance =
    repeats > 0
      ? matrix.features
          .map((feature, j) => {
            const drops = permutationDrops[j]!;
            const mean = drops.length ? drops.reduce((s, d) => s + d, 0) / drops.length : 0;
            const variance = drops.length ? drops.reduce((s, d) => s + (d - mean) ** 2, 0) / drops.length : 0;
            return { feature, mean, std: Math.sqrt(variance) };
          })
          .sort((a, b) => b.mean - a.mean || a.feature.localeCompare(b.feature))
      : null;

  options.onProgress?.({ stage: "done", done: total, total, message: "done" });
  return {
    matrix,
    fitted,
    evaluation: {
      label: matrix.label,
      task,
      model: kind,
      features: matrix.features,
      classes: matrix.classes,
      rows: n,
      droppedRows: matrix.droppedRows,
      folds: k,
      foldKind,
      groupColumn: matrix.groupColumn,
      seed,
      perFold,
      classification,
      regression,
      perBandwidth,
      impurityImportance,
      permutationImportance,
      predictions,
      timing: { cvSeconds, finalFitSeconds },
    },
  };
}

/** Prepares a dataset for `options` and cross-validates (see `crossValidate`). */
export async function trainOnDataset(dataset: Dataset, options: TrainOptions): Promise<TrainResult> {
  return crossValidate(prepareData(dataset, options), options);
}
