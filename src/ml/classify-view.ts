import { buildDataset, LABEL_PREFIX } from "../collect/index.ts";
import type { Queryable } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import type { Evaluation, TrainProgress } from "./evaluate.ts";
import type { ModelKind } from "./model.ts";
import type { ModelFile } from "./model-file.ts";
import { escapeHtml, renderEvaluationFragment } from "./report-html.ts";
import { trainFromSource } from "./train.ts";

/**
 * The web "Classify" view on a training, as plain functions the web layer wires to routes:
 * a form (label, model, folds, grouping), a run with progress, and a result fragment with the
 * confusion matrix, importance and per-bandwidth accuracy plus a link to download the model.
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
}

/** The labels a training's dataset offers (its `label_*` columns). */
export async function classifyLabelChoices(db: Queryable, trainingId: number): Promise<string[]> {
  const { dataset } = await buildDataset(db, trainingId);
  return dataset.columns.filter((c) => c.startsWith(LABEL_PREFIX));
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

/** Cross-validates and fits a model on a training's captured sessions. */
export async function classifyTraining(
  db: Queryable,
  trainingId: number,
  request: ClassifyRequest,
  onProgress?: (progress: TrainProgress) => void,
): Promise<ClassifyResult> {
  const trained = await trainFromSource(
    `training:${trainingId}`,
    {
      label: request.label,
      model: request.model ?? "rf",
      cv: request.cv ?? 5,
      seed: request.seed ?? 0,
      ...(request.group ? { group: request.group } : {}),
      includeBandwidth: request.includeBandwidth === true,
      ...(onProgress ? { onProgress } : {}),
    },
    { db },
  );
  return { trainingId, model: trained.file, evaluation: trained.evaluation };
}

/** The form of the Classify view (posts label, model, cv, group, seed, include_bandwidth). */
export function renderClassifyForm(trainingId: number, labels: readonly string[], action?: string): string {
  const target = action ?? `/trainings/${trainingId}/classify`;
  const options = labels
    .map((l) => `<option value="${escapeHtml(l)}"${l === "label_stalled" ? " selected" : ""}>${escapeHtml(l)}</option>`)
    .join("");
  return `<form class="ml-classify" method="post" action="${escapeHtml(target)}">
<label>Label <select name="label">${options}</select></label>
<label>Model <select name="model"><option value="rf">random forest</option><option value="gbdt">gradient-boosted trees</option></select></label>
<label>Folds <input name="cv" type="number" min="2" max="50" value="5"></label>
<label>Group folds by <select name="group"><option value="">nothing (stratified)</option><option value="bandwidth">bandwidth limit</option><option value="channel">channel</option><option value="training">training</option></select></label>
<label>Seed <input name="seed" type="number" value="0"></label>
<label><input name="include_bandwidth" type="checkbox"> use the bandwidth limit as a feature</label>
<button type="submit">Run cross-validation</button>
</form>`;
}

/** Progress line for the running job (the web layer polls or streams it). */
export function renderClassifyProgress(progress: TrainProgress): string {
  return `<progress max="${progress.total}" value="${progress.done}"></progress> <span>${escapeHtml(progress.message)}</span>`;
}

/** The result: evaluation fragment plus the model download link. */
export function renderClassifyResult(result: ClassifyResult, downloadHref?: string): string {
  const href = downloadHref ?? `/trainings/${result.trainingId}/classify/model.json`;
  return `<div class="ml-result">
${renderEvaluationFragment(result.model.metrics)}
<p><a href="${escapeHtml(href)}" download="qoelab-model-${result.trainingId}-${escapeHtml(result.model.label)}.json">Download the model (JSON)</a></p>
</div>`;
}
