import { buildDataset, LABEL_PREFIX } from "../collect/index.ts";
import type { Queryable } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import type { Evaluation, TrainProgress } from "./evaluate.ts";
import type { ModelKind } from "./model.ts";
import type { ModelFile } from "./model-file.ts";
import { trainFromSource } from "./train.ts";

/**
 * Classifying a training's sessions, as plain functions the web's "Classify" view wires to routes:
 * the labels a training offers and whether each can be trained, a form's request validated, and a
 * cross-validated run with progress whose result (evaluation, model, baseline, notes) render/
 * draws.
 */
export interface ClassifyRequest {
  label: string;
  model?: ModelKind;
  cv?: number;
  /** Grouping column or alias (training, channel, bandwidth); empty = stratified. */
  group?: string | null;
  seed?: number;
  includeBandwidth?: boolean;
}

export interface ClassifyResult {
  trainingId: number;
  model: ModelFile;
  evaluation: Evaluation;
  /** Share of the most frequent class (what always guessing it scores), classification only. */
  baseline: number | null;
  /** What the run changed or warns about (fewer folds, few rows), in words for the page. */
  notes: string[];
}

/** A label column and whether the data at hand can train it. */
export interface LabelChoice {
  name: string;
  /** Rows with a value. */
  rows: number;
  /** Rows per class (classification labels: booleans and text; numbers with few distinct values). */
  classes: Record<string, number>;
  trainable: boolean;
  /** Why not, when not trainable. */
  reason?: string;
}

/** Rows below which a cross-validated figure is too noisy to read much into. */
export const FEW_ROWS = 30;

/** The labels a training's dataset offers (its `label_*` columns). */
export async function classifyLabelChoices(db: Queryable, trainingId: number): Promise<string[]> {
  return (await classifyLabelInfo(db, trainingId)).map((l) => l.name);
}

/** Each label column with its class counts and whether it can be trained on these rows. */
export async function classifyLabelInfo(db: Queryable, trainingId: number): Promise<LabelChoice[]> {
  const { dataset } = await buildDataset(db, trainingId);
  return dataset.columns.flatMap((name, column) => {
    if (!name.startsWith(LABEL_PREFIX)) return [];
    const classes: Record<string, number> = {};
    let rows = 0;
    for (const row of dataset.rows) {
      const value = row[column];
      if (value === null || value === undefined || value === "") continue;
      rows++;
      const key = String(value);
      classes[key] = (classes[key] ?? 0) + 1;
    }
    const counts = Object.values(classes);
    const numeric = counts.length > 10;
    let reason: string | undefined;
    if (rows < 4) reason = `only ${rows} row${rows === 1 ? "" : "s"} with a value`;
    else if (counts.length < 2) reason = `every row has the same value (${Object.keys(classes)[0]})`;
    else if (!numeric && Math.min(...counts) < 2) reason = "a class has a single row";
    return [{ name, rows, classes, trainable: reason === undefined, ...(reason ? { reason } : {}) }];
  });
}

/** The label a form offers first: label_stalled when it can be trained, else the first that can. */
export function defaultLabel(labels: readonly LabelChoice[]): string | undefined {
  const trainable = labels.filter((l) => l.trainable);
  return (trainable.find((l) => l.name === "label_stalled") ?? trainable[0])?.name;
}

/** Folds for these rows: the request's, or fewer (down to leave-one-out) when the rarest class is smaller. */
export function foldsFor(label: LabelChoice | undefined, requested: number): { folds: number; note?: string } {
  if (!label) return { folds: requested };
  const counts = Object.values(label.classes);
  const classification = counts.length <= 10;
  const limit = classification ? Math.min(...counts) : label.rows;
  if (limit >= requested) return { folds: requested };
  const folds = Math.max(2, limit);
  const why = classification
    ? `the rarest class of ${label.name} has ${limit} row${limit === 1 ? "" : "s"}`
    : `${label.name} has ${label.rows} rows`;
  const kind = !classification && folds === label.rows ? " (leave-one-out)" : "";
  return { folds, note: `${folds} folds instead of ${requested}${kind}: ${why}` };
}

/** A message for a web page: what the CLI would name as a flag, named as the form's field. */
function withoutFlags(message: string): string {
  return message
    .replace(/\(use --cv (\d+)[^)]*\)/g, "(choose $1 folds)")
    .replace(/--cv\b/g, "Folds")
    .replace(/--with-bandwidth\b/g, "the bandwidth feature")
    .replace(/--group\b/g, "Group folds by")
    .replace(/--label\b/g, "Label");
}

/** Validates a raw form / JSON body into a request (coded error naming the field). */
export function parseClassifyRequest(raw: Record<string, unknown>): ClassifyRequest {
  const label = typeof raw.label === "string" ? raw.label.trim() : "";
  if (!label)
    throw new QoelabError("CLASSIFY_INVALID_INPUT", "classify: choose a label", { fields: { label: "required" } });
  const model = raw.model === undefined || raw.model === "" ? "rf" : String(raw.model);
  if (model !== "rf" && model !== "gbdt")
    throw new QoelabError("CLASSIFY_INVALID_INPUT", `classify: model "${model}" is not rf or gbdt`, {
      fields: { model: "rf or gbdt" },
    });
  const cv = raw.cv === undefined || raw.cv === "" ? 5 : Number(raw.cv);
  if (!Number.isInteger(cv) || cv < 2 || cv > 50)
    throw new QoelabError("CLASSIFY_INVALID_INPUT", `classify: folds "${String(raw.cv)}" must be a whole number 2–50`, {
      fields: { cv: "2–50" },
    });
  const seed = raw.seed === undefined || raw.seed === "" ? 0 : Number(raw.seed);
  if (!Number.isInteger(seed))
    throw new QoelabError("CLASSIFY_INVALID_INPUT", "classify: the seed must be a whole number", {
      fields: { seed: "integer" },
    });
  const group = typeof raw.group === "string" && raw.group.trim() !== "" ? raw.group.trim() : null;
  const bw = raw.includeBandwidth ?? raw.include_bandwidth;
  return {
    label,
    model,
    cv,
    group,
    seed,
    includeBandwidth: bw === true || bw === "on" || bw === "true" || bw === "1",
  };
}

/**
 * Cross-validates and fits a model on a training's captured sessions. With fewer rows in the
 * rarest class than folds it uses fewer folds (leave-one-out at the limit) and says so; the result
 * carries the majority-class baseline and a warning under FEW_ROWS rows.
 */
export async function classifyTraining(
  db: Queryable,
  trainingId: number,
  request: ClassifyRequest,
  onProgress?: (progress: TrainProgress) => void,
): Promise<ClassifyResult> {
  const labelName = request.label.startsWith(LABEL_PREFIX) ? request.label : `${LABEL_PREFIX}${request.label}`;
  const label = (await classifyLabelInfo(db, trainingId)).find((l) => l.name === labelName);
  const notes: string[] = [];
  const requested = request.cv ?? 5;
  const { folds, note } = request.group ? { folds: requested, note: undefined } : foldsFor(label, requested);
  if (note) notes.push(note);
  let trained: Awaited<ReturnType<typeof trainFromSource>>;
  try {
    trained = await trainFromSource(
      `training:${trainingId}`,
      {
        label: request.label,
        model: request.model ?? "rf",
        cv: folds,
        seed: request.seed ?? 0,
        ...(request.group ? { group: request.group } : {}),
        includeBandwidth: request.includeBandwidth === true,
        ...(onProgress ? { onProgress } : {}),
      },
      { db },
    );
  } catch (error) {
    if (error instanceof QoelabError)
      throw new QoelabError(
        error.code,
        withoutFlags(error.message),
        { ...error.details },
        // The data cannot train what was asked (too few rows, one class): not a server fault.
        {
          kind: error.kind === "internal" && error.code.startsWith("ML_") ? "unprocessable" : error.kind,
          cause: error,
        },
      );
    throw error;
  }
  const evaluation = trained.evaluation;
  const counts = evaluation.classification?.perClass.map((k) => k.support) ?? [];
  const total = counts.reduce((a, b) => a + b, 0);
  const baseline = evaluation.task === "classification" && total > 0 ? Math.max(...counts) / total : null;
  if (evaluation.rows < FEW_ROWS)
    notes.push(
      `only ${evaluation.rows} rows: with fewer than ${FEW_ROWS} the figures change a lot from one run to the next; collect more sessions before trusting them`,
    );
  return { trainingId, model: trained.file, evaluation, baseline, notes };
}
