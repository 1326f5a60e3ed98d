import type { ModelFile, ModelMetrics } from "../ml/index.ts";
import { escapeHtml } from "./html.ts";

/*
 * HTML for a model's cross-validated evaluation: summary, confusion-matrix heat map, importance
 * bars and per-bandwidth accuracy, all inline SVG (no script, no external asset), so the same
 * fragment serves the CLI's report file and the web "Classify" view.
 */

function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits);
}

function pct(value: number | null | undefined): string {
  return value === null || value === undefined ? "–" : `${(value * 100).toFixed(1)} %`;
}

/** Confusion matrix as an SVG heat map: cell shade = share of the true class's rows. */
export function confusionSvg(confusion: number[][], classes: readonly string[]): string {
  const k = classes.length;
  const cell = Math.max(36, Math.min(80, Math.floor(480 / Math.max(1, k))));
  const margin = 110;
  const size = margin + k * cell + 10;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 20}" viewBox="0 0 ${size} ${size + 20}" role="img" aria-label="confusion matrix">`,
  );
  parts.push(
    `<text x="${margin + (k * cell) / 2}" y="14" text-anchor="middle" font-size="12">predicted</text>`,
    `<text x="12" y="${margin + (k * cell) / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 12 ${margin + (k * cell) / 2})">true</text>`,
  );
  classes.forEach((name, j) => {
    parts.push(
      `<text x="${margin + j * cell + cell / 2}" y="${margin - 8}" text-anchor="middle" font-size="11">${escapeHtml(name)}</text>`,
      `<text x="${margin - 8}" y="${margin + j * cell + cell / 2 + 4}" text-anchor="end" font-size="11">${escapeHtml(name)}</text>`,
    );
  });
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, j) => {
      const share = total > 0 ? count / total : 0;
      const light = Math.round(97 - share * 62);
      const hue = i === j ? 210 : 8;
      parts.push(
        `<rect x="${margin + j * cell}" y="${margin + i * cell}" width="${cell - 2}" height="${cell - 2}" fill="hsl(${hue},70%,${light}%)"><title>true ${escapeHtml(classes[i]!)}, predicted ${escapeHtml(classes[j]!)}: ${count}</title></rect>`,
        `<text x="${margin + j * cell + cell / 2 - 1}" y="${margin + i * cell + cell / 2 + 4}" text-anchor="middle" font-size="12" fill="${light < 60 ? "#fff" : "#111"}">${count}</text>`,
      );
    });
  });
  parts.push("</svg>");
  return parts.join("");
}

/** Horizontal bars (values ≥ 0 drawn from 0; negative values as 0 with their number shown). */
export function barsSvg(items: readonly { name: string; value: number; text?: string }[], title: string): string {
  const rowHeight = 18;
  const labelWidth = 260;
  const barWidth = 300;
  const height = items.length * rowHeight + 24;
  const max = Math.max(1e-12, ...items.map((i) => i.value));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 80}" height="${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="0" y="12" font-size="12" font-weight="bold">${escapeHtml(title)}</text>`,
  ];
  items.forEach((item, k) => {
    const y = 20 + k * rowHeight;
    const w = Math.max(0, (item.value / max) * barWidth);
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 12}" text-anchor="end" font-size="11">${escapeHtml(item.name)}</text>`,
      `<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowHeight - 5}" fill="#4a7fb5"/>`,
      `<text x="${labelWidth + w + 4}" y="${y + 12}" font-size="11">${escapeHtml(item.text ?? fmt(item.value))}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** The evaluation as an HTML fragment (summary, confusion matrix, importance, per-bandwidth). */
export function renderEvaluationFragment(metrics: ModelMetrics): string {
  const out: string[] = [];
  const c = metrics.classification;
  const r = metrics.regression;
  const folding =
    metrics.foldKind === "grouped"
      ? `grouped ${metrics.folds}-fold by ${escapeHtml(metrics.groupColumn ?? "")}`
      : `${metrics.foldKind === "stratified" ? "stratified " : ""}${metrics.folds}-fold`;
  out.push(
    `<section class="ml-summary"><h3>${escapeHtml(metrics.label)} — ${metrics.model === "rf" ? "random forest" : "gradient-boosted trees"}</h3>`,
    `<p>${metrics.rows} rows${metrics.droppedRows ? ` (${metrics.droppedRows} without label left out)` : ""}, ${metrics.features.length} features, ${folding} cross-validation, seed ${metrics.seed}. Every figure below is from held-out folds.</p>`,
  );
  if (c) {
    out.push(
      "<table><tbody>",
      `<tr><th>accuracy</th><td>${pct(c.accuracy)}</td></tr>`,
      `<tr><th>balanced accuracy</th><td>${pct(c.balancedAccuracy)}</td></tr>`,
      `<tr><th>macro F1</th><td>${fmt(c.macroF1)}</td></tr>`,
      c.rocAuc !== null ? `<tr><th>ROC AUC</th><td>${fmt(c.rocAuc)}</td></tr>` : "",
      "</tbody></table>",
      "<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>rows</th></tr></thead><tbody>",
      ...c.perClass.map(
        (k) =>
          `<tr><td>${escapeHtml(k.class)}</td><td>${fmt(k.precision)}</td><td>${fmt(k.recall)}</td><td>${fmt(k.f1)}</td><td>${k.support}</td></tr>`,
      ),
      "</tbody></table>",
      `<h4>Confusion matrix</h4>${confusionSvg(c.confusion, metrics.classes)}`,
    );
  }
  if (r) {
    out.push(
      "<table><tbody>",
      `<tr><th>MAE</th><td>${fmt(r.mae)}</td></tr>`,
      `<tr><th>RMSE</th><td>${fmt(r.rmse)}</td></tr>`,
      `<tr><th>R²</th><td>${fmt(r.r2)}</td></tr>`,
      "</tbody></table>",
    );
  }
  out.push("</section>");
  if (metrics.perBandwidth.length > 0) {
    const items = metrics.perBandwidth.map((b) => ({
      name: `${b.bandwidthMbps === null ? "unknown" : `${b.bandwidthMbps} Mbit/s`} (${b.rows})`,
      value: c ? (b.accuracy ?? 0) : (b.mae ?? 0),
      text: c ? pct(b.accuracy) : fmt(b.mae),
    }));
    out.push(
      `<section class="ml-bandwidth"><h4>Per bandwidth limit</h4>${barsSvg(items, c ? "accuracy by bandwidth limit" : "MAE by bandwidth limit")}</section>`,
    );
  }
  const top = metrics.impurityImportance.slice(0, 20);
  out.push(
    `<section class="ml-importance"><h4>Feature importance</h4>${barsSvg(
      top.map((f) => ({ name: f.feature, value: f.importance })),
      metrics.model === "rf" ? "impurity decrease (top 20)" : "split gain (top 20)",
    )}`,
  );
  if (metrics.permutationImportance) {
    out.push(
      barsSvg(
        metrics.permutationImportance.slice(0, 20).map((f) => ({
          name: f.feature,
          value: f.mean,
          text: `${fmt(f.mean)} ± ${fmt(f.std)}`,
        })),
        c
          ? "permutation: accuracy drop on held-out folds (top 20)"
          : "permutation: MSE rise on held-out folds (top 20)",
      ),
    );
  }
  out.push(
    `<details><summary>${metrics.features.length} features used</summary><p>${metrics.features.map(escapeHtml).join(", ")}</p></details></section>`,
  );
  return out.join("\n");
}

/** A self-contained HTML page for a saved model. */
export function renderModelReport(file: ModelFile): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>qoelab model — ${escapeHtml(file.label)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#111}table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}h4{margin-top:1.4em}code{background:#f3f3f3;padding:0 .2em}</style>
</head><body>
<h2>qoelab model report</h2>
<p>Kind <code>${file.kind}</code>, task ${file.task}, label <code>${escapeHtml(file.label)}</code>, ${file.trees.length} trees, trained on ${file.rows} rows${file.source ? ` from <code>${escapeHtml(file.source)}</code>` : ""} at ${escapeHtml(file.createdAt)}; training data sha256 <code>${file.trainingDataHash.slice(0, 16)}…</code>.</p>
${renderEvaluationFragment(file.metrics)}
</body></html>
`;
}
