import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { QoelabError } from "../errors.ts";
import type { Dataset } from "./dataset.ts";
import { buildFeatureMatrix, type DesignMatrix, type OneHotColumn, type Task } from "./design-matrix.ts";
import type { Evaluation, TrainResult } from "./evaluate.ts";
import { argmaxRows, type FittedModel, type ModelKind, type ModelParams, predictOutput } from "./model.ts";
import type { Tree } from "./tree.ts";

export const MODEL_FORMAT = "qoelab-model";
export const MODEL_VERSION = 1;

export interface SerializedTree {
  feature: number[];
  threshold: number[];
  missingLeft: number[];
  left: number[];
  right: number[];
  /** `width` values per node. */
  value: number[];
  width: number;
}

/** What a model file records about its cross-validated evaluation (no per-row predictions). */
export type ModelMetrics = Omit<Evaluation, "predictions">;

/**
 * A saved model: versioned JSON holding the label, the exact feature list (and one-hot
 * encodings), the classes, a hash of the training rows, the cross-validated metrics and the trees.
 */
export interface ModelFile {
  format: typeof MODEL_FORMAT;
  version: typeof MODEL_VERSION;
  kind: ModelKind;
  task: Task;
  label: string;
  features: string[];
  oneHot: OneHotColumn[];
  classes: string[];
  /** sha256 of the canonical training rows (see `trainingDataHash`). */
  trainingDataHash: string;
  rows: number;
  source: string | null;
  seed: number;
  params: ModelParams;
  createdAt: string;
  metrics: ModelMetrics;
  baseline: number[];
  width: number;
  trees: SerializedTree[];
}

/**
 * sha256 over the canonical training rows: a JSON header `[feature…, label]`, then one JSON line
 * per row `[value…, label]` in training order, values as JSON numbers (missing → null), the label
 * as its class name (or number), lines joined by "\n".
 */
export function trainingDataHash(matrix: DesignMatrix): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([...matrix.features, matrix.label]));
  const { n, p, x, y } = matrix;
  const row = new Array<number | string | null>(p + 1);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const v = x[i * p + j]!;
      row[j] = Number.isNaN(v) ? null : v;
    }
    row[p] = matrix.task === "classification" ? matrix.classes[y[i]!]! : y[i]!;
    hash.update(`\n${JSON.stringify(row)}`);
  }
  return hash.digest("hex");
}

function serializeTree(tree: Tree): SerializedTree {
  return {
    feature: Array.from(tree.feature),
    threshold: Array.from(tree.threshold),
    missingLeft: Array.from(tree.missingLeft),
    left: Array.from(tree.left),
    right: Array.from(tree.right),
    value: Array.from(tree.value),
    width: tree.width,
  };
}

export function modelFileFromTraining(
  result: TrainResult,
  options: { source?: string | null; params?: ModelParams } = {},
): ModelFile {
  const { matrix, evaluation, fitted } = result;
  const { predictions: _omitted, ...metrics } = evaluation;
  return {
    format: MODEL_FORMAT,
    version: MODEL_VERSION,
    kind: fitted.kind,
    task: fitted.task,
    label: matrix.label,
    features: matrix.features,
    oneHot: matrix.oneHot,
    classes: matrix.classes,
    trainingDataHash: trainingDataHash(matrix),
    rows: matrix.n,
    source: options.source ?? null,
    seed: evaluation.seed,
    params: options.params ?? {},
    createdAt: new Date().toISOString(),
    metrics,
    baseline: fitted.baseline,
    width: fitted.width,
    trees: fitted.trees.map(serializeTree),
  };
}

function bad(name: string, why: string): QoelabError {
  return new QoelabError("ML_BAD_MODEL", `${name}: not a usable qoelab model (${why})`, { file: name });
}

function isNumberArray(value: unknown, length?: number): value is number[] {
  return (
    Array.isArray(value) &&
    (length === undefined || value.length === length) &&
    value.every((v) => typeof v === "number" && Number.isFinite(v))
  );
}

/** Checks a parsed model file (format, version, features, tree shapes) and rebuilds the model. */
export function parseModelFile(value: unknown, name = "<model>"): { file: ModelFile; fitted: FittedModel } {
  if (!value || typeof value !== "object") throw bad(name, "not a JSON object");
  const m = value as Partial<ModelFile>;
  if (m.format !== MODEL_FORMAT) throw bad(name, `format is ${JSON.stringify(m.format)}, not "${MODEL_FORMAT}"`);
  if (m.version !== MODEL_VERSION)
    throw new QoelabError(
      "ML_MODEL_VERSION",
      `${name}: model file version ${String(m.version)}; this qoelab reads version ${MODEL_VERSION}`,
      { file: name, version: m.version },
    );
  if (m.kind !== "rf" && m.kind !== "gbdt") throw bad(name, `unknown kind ${JSON.stringify(m.kind)}`);
  if (m.task !== "classification" && m.task !== "regression") throw bad(name, "unknown task");
  if (!Array.isArray(m.features) || m.features.length === 0 || !m.features.every((f) => typeof f === "string"))
    throw bad(name, "no feature list");
  if (new Set(m.features).size !== m.features.length) throw bad(name, "a feature is listed twice");
  if (!Array.isArray(m.classes) || (m.task === "classification" && m.classes.length < 2))
    throw bad(name, "no class list");
  if (!Array.isArray(m.trees) || m.trees.length === 0) throw bad(name, "no trees");
  if (typeof m.label !== "string") throw bad(name, "no label");
  const p = m.features.length;
  const width = m.kind === "rf" && m.task === "classification" ? m.classes.length : 1;
  const trees: Tree[] = m.trees.map((t, index) => {
    const count = t?.feature?.length ?? 0;
    if (
      count === 0 ||
      !isNumberArray(t.feature, count) ||
      !isNumberArray(t.left, count) ||
      !isNumberArray(t.right, count) ||
      !isNumberArray(t.missingLeft, count) ||
      !Array.isArray(t.threshold) ||
      t.threshold.length !== count ||
      !isNumberArray(t.value, count * width)
    )
      throw bad(name, `tree ${index} is malformed`);
    for (let k = 0; k < count; k++) {
      const f = t.feature[k]!;
      if (f >= p) throw bad(name, `tree ${index} uses feature ${f} of ${p}`);
      if (f >= 0 && (!(t.left[k]! > k && t.left[k]! < count) || !(t.right[k]! > k && t.right[k]! < count)))
        throw bad(name, `tree ${index} node ${k} has bad children`);
    }
    return {
      feature: Int32Array.from(t.feature),
      threshold: Float64Array.from(t.threshold, (v) => (typeof v === "number" ? v : Number.MAX_VALUE)),
      missingLeft: Uint8Array.from(t.missingLeft),
      left: Int32Array.from(t.left),
      right: Int32Array.from(t.right),
      value: Float64Array.from(t.value),
      width,
      weight: new Float64Array(count),
      improvement: new Float64Array(count),
    };
  });
  const file = m as ModelFile;
  const fitted: FittedModel = {
    kind: file.kind,
    task: file.task,
    classes: file.task === "classification" ? file.classes.length : 0,
    trees,
    baseline: Array.isArray(file.baseline) ? file.baseline : [],
    width: typeof file.width === "number" ? file.width : 1,
    importance: new Float64Array(p),
    iterations: trees.length,
  };
  if (fitted.kind === "gbdt" && (fitted.baseline.length !== fitted.width || trees.length % fitted.width !== 0))
    throw bad(name, "boosting baseline does not match its trees");
  return { file: { ...file, oneHot: Array.isArray(file.oneHot) ? file.oneHot : [] }, fitted };
}

export async function saveModel(path: string, file: ModelFile): Promise<void> {
  await writeFile(path, `${JSON.stringify(file)}\n`);
}

export async function loadModel(path: string): Promise<{ file: ModelFile; fitted: FittedModel }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new QoelabError("ML_MODEL_NOT_FOUND", `${path}: cannot read model (${(error as Error).message})`, {
      file: path,
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bad(path, `invalid JSON: ${(error as Error).message}`);
  }
  return parseModelFile(value, path);
}

export interface RowPrediction {
  row: number;
  /** Class name (classification) or value (regression). */
  prediction: string | number;
  /** Class probabilities (classification). */
  probabilities?: Record<string, number>;
}

/** Predicts every row of a dataset; the dataset must hold every feature the model was trained on. */
export function predictRows(model: { file: ModelFile; fitted: FittedModel }, dataset: Dataset): RowPrediction[] {
  const { file, fitted } = model;
  const missing = file.features.filter((f) => {
    const eq = f.indexOf("=");
    const column = eq > 0 && file.oneHot.some((o) => o.column === f.slice(0, eq)) ? f.slice(0, eq) : f;
    return !dataset.columns.includes(column);
  });
  if (missing.length > 0)
    throw new QoelabError(
      "ML_FEATURE_MISMATCH",
      `the data lacks ${missing.length} of the model's ${file.features.length} features (${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", …" : ""}); the model was trained on another feature set`,
      { missing },
    );
  const x = buildFeatureMatrix(dataset, { features: file.features, oneHot: file.oneHot });
  const n = dataset.rows.length;
  const p = file.features.length;
  const output = predictOutput(fitted, x, n, p);
  if (file.task === "regression") return Array.from(output, (v, row) => ({ row, prediction: v }));
  const k = file.classes.length;
  const best = argmaxRows(output, n, k);
  return Array.from(best, (c, row) => {
    const probabilities: Record<string, number> = {};
    file.classes.forEach((name, j) => {
      probabilities[name] = output[row * k + j]!;
    });
    return { row, prediction: file.classes[c]!, probabilities };
  });
}
