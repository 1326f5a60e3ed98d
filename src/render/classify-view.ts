import type { ClassifyResult, LabelChoice, TrainProgress } from "../ml/index.ts";
import { defaultLabel } from "../ml/index.ts";
import { escapeHtml, html, page, raw } from "./html.ts";
import { renderEvaluationFragment } from "./model-report.ts";

/*
 * The web "Classify" view on a training: a form (label, model, folds, grouping), a run's progress,
 * and the result with the confusion matrix, importance and per-bandwidth accuracy plus a link to
 * download the model.
 */

/** The form of the Classify view (posts label, model, cv, group, seed, include_bandwidth). */
export function renderClassifyForm(
  trainingId: number,
  labels: readonly (string | LabelChoice)[],
  action?: string,
): string {
  const target = action ?? `/trainings/${trainingId}/classify`;
  const choices: LabelChoice[] = labels.map((l) =>
    typeof l === "string" ? { name: l, rows: 0, classes: {}, trainable: true } : l,
  );
  const chosen = defaultLabel(choices);
  const options = choices
    .map(
      (l) =>
        `<option value="${escapeHtml(l.name)}"${l.name === chosen ? " selected" : ""}>${escapeHtml(l.name)}${l.trainable ? "" : ` (not trainable here: ${escapeHtml(l.reason ?? "")})`}</option>`,
    )
    .join("");
  const trainable = choices.filter((l) => l.trainable).map((l) => l.name);
  const note =
    trainable.length === 0
      ? `<p class="error" id="labels-note">No label can be trained on these sessions yet: ${choices.map((l) => `${escapeHtml(l.name)} (${escapeHtml(l.reason ?? "")})`).join(", ")}.</p>`
      : `<p class="hint" id="labels-note">Trainable on these sessions: ${trainable.map(escapeHtml).join(", ")}.</p>`;
  return `${note}<form class="ml-classify" method="post" action="${escapeHtml(target)}">
<label>Label <select name="label">${options}</select></label>
<label>Model <select name="model"><option value="rf">random forest</option><option value="gbdt">gradient-boosted trees</option></select></label>
<label>Folds <input name="cv" type="number" min="2" max="50" value="5"> <span class="hint">(fewer when a class has fewer rows)</span></label>
<label>Group folds by <select name="group"><option value="">nothing (stratified)</option><option value="bandwidth">bandwidth limit</option><option value="channel">channel</option><option value="training">training</option></select></label>
<label>Seed <input name="seed" type="number" value="0"></label>
<label><input name="include_bandwidth" type="checkbox"> use the bandwidth limit as a feature</label>
<button type="submit">Run cross-validation</button>
</form>`;
}

/** Progress line for the running job (the web layer polls or streams it). */
export function renderClassifyProgress(progress: Pick<TrainProgress, "done" | "total" | "message">): string {
  return `<progress max="${progress.total}" value="${progress.done}"></progress> <span>${escapeHtml(progress.message)}</span>`;
}

/** The result: evaluation fragment plus the model download link. */
export function renderClassifyResult(result: ClassifyResult, downloadHref?: string): string {
  const href = downloadHref ?? `/trainings/${result.trainingId}/classify/model.json`;
  const accuracy = result.evaluation.classification?.accuracy;
  const baseline =
    result.baseline !== null && accuracy !== undefined
      ? `<p id="baseline">Accuracy <b>${(100 * accuracy).toFixed(1)} %</b> against <b>${(100 * result.baseline).toFixed(1)} %</b> for always guessing the most frequent class (majority-class baseline).</p>`
      : "";
  const notes = result.notes.map((n) => `<p class="warning" id="classify-note">${escapeHtml(n)}</p>`).join("");
  return `<div class="ml-result">
${notes}${baseline}
${renderEvaluationFragment(result.model.metrics)}
<p><a href="${escapeHtml(href)}" download="qoelab-model-${result.trainingId}-${escapeHtml(result.model.label)}.json">Download the model (JSON)</a></p>
</div>`;
}

/** A classification run as its page shows it (the web keeps the runs). */
export interface ClassifyJobView {
  id: number;
  trainingId: number;
  state: "running" | "done" | "failed";
  progress: Pick<TrainProgress, "done" | "total" | "message">;
  result?: ClassifyResult;
  error?: { code: string; message: string };
}

/** The Classify page of a training: the form, or why there is nothing to learn from yet. */
export function classifyPage(trainingId: number, labels: readonly LabelChoice[]): string {
  return page(
    "Classify",
    html`<h1>Classify QoE from network traffic</h1><p><a href="/trainings/${trainingId}">← training ${trainingId}</a></p>
${labels.length === 0 ? html`<p>No captured session yet: nothing to learn from.</p>` : raw(renderClassifyForm(trainingId, labels))}`,
  );
}

/** A run's page: its result, its error, or its progress (reloading every second while it runs). */
export function classifyJobPage(job: ClassifyJobView): string {
  const result = job.state === "done" ? job.result : undefined;
  const running = !result && job.state !== "failed";
  const body = result
    ? raw(renderClassifyResult(result, `/trainings/${job.trainingId}/classify/jobs/${job.id}/model.json`))
    : job.state === "failed"
      ? html`<p class="error" id="classify-error">${job.error?.code}: ${job.error?.message}</p>`
      : html`<div id="classify-progress">${raw(renderClassifyProgress(job.progress))}</div>`;
  return page(
    "Classify",
    html`<h1>Classification of training ${job.trainingId}</h1><p><a href="/trainings/${job.trainingId}/classify">← new run</a></p>${body}`,
    // While it runs, the page reloads itself every second (web/classify-job.browser.ts).
    { scripts: running ? ["/assets/classify-job.js"] : [] },
  );
}
