import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { pathToFileURL } from "node:url";
import { computeWindowLabels, type PlayerData } from "../collect/index.ts";
import { captureFeatureRows, datasetFromFeatureRows, networkRow } from "./capture-predict.ts";
import { foldRows } from "./cross-validation.ts";
import { type Dataset, datasetFromCsv, type ExportValue } from "./dataset.ts";
import { buildFeatureMatrix, prepareData } from "./design-matrix.ts";
import { assignFolds, crossValidate, takeRows } from "./evaluate.ts";
import { type ClassificationMetrics, classificationMetrics } from "./metrics.ts";
import { argmaxRows, fitModel, predictOutput } from "./model.ts";

/*
 * The benchmark dataset's evaluation (docs/ml.md, datasets/video-qoe/README.md): for each label and
 * each grouping of the folds (by trace, by content), qoelab's random forest on every net_* feature
 * beside two baselines on the very same folds: the training folds' majority class, and a forest on
 * the mean downstream throughput alone. Per window: session models of each fold predict the 10 s
 * windows of that fold's held-out sessions (`qoe predict --window 10s --start RECORD_START`), whose
 * labels come from the player's per-second timeline; the last, partial window is scored apart.
 */

export const THROUGHPUT_COLUMN = "net_dl_tput_mean_bps";

export const BENCHMARK_LABELS = [
  { name: "stalled", column: "label_stalled" },
  { name: "resolution class", column: "label_resolution_class" },
  { name: "QoE class", column: "label_qoe_class" },
] as const;

export interface ScoredModel {
  accuracy: number;
  macroF1: number;
  confusion: number[][];
}

export interface LabelEvaluation {
  label: string;
  column: string;
  grouping: string;
  folds: number;
  rows: number;
  classes: string[];
  /** Share of each class. */
  balance: Record<string, number>;
  model: ScoredModel;
  majority: ScoredModel;
  throughputOnly: ScoredModel;
  topFeatures: { feature: string; importance: number }[];
}

const scored = (m: ClassificationMetrics): ScoredModel => ({
  accuracy: m.accuracy,
  macroF1: m.macroF1,
  confusion: m.confusion,
});

/** The dataset with `trace_group`: the trace, or "limit <Mbit/s>" for a constant-limit session. */
export function withTraceGroup(dataset: Dataset): Dataset {
  const trace = dataset.columns.indexOf("trace");
  const limit = dataset.columns.indexOf("bw_limitation_mbps");
  return {
    columns: [...dataset.columns, "trace_group"],
    rows: dataset.rows.map((r) => {
      const t = r[trace];
      const group = typeof t === "string" && t !== "" ? t : `limit ${String(r[limit])}`;
      return [...r, group];
    }),
  };
}

/** One label, one grouping: the model and both baselines on the same grouped folds. */
export async function evaluateLabel(
  dataset: Dataset,
  label: { name: string; column: string },
  grouping: { name: string; column: string; folds: number },
  seed = 1,
): Promise<LabelEvaluation> {
  const common = { label: label.column, group: grouping.column, task: "classification" as const };
  const full = prepareData(dataset, common);
  const model = await crossValidate(full, { ...common, cv: grouping.folds, seed, permutationRepeats: 0 });
  const tput = await crossValidate(prepareData(dataset, { ...common, features: [THROUGHPUT_COLUMN] }), {
    ...common,
    features: [THROUGHPUT_COLUMN],
    cv: grouping.folds,
    seed,
    permutationRepeats: 0,
  });
  // Majority class of each fold's training rows, on the same folds.
  const { folds } = assignFolds(full, grouping.folds, seed);
  const predicted = new Int32Array(full.n);
  for (let f = 0; f < grouping.folds; f++) {
    const { train, test } = foldRows(folds, f);
    const counts = new Array<number>(full.classes.length).fill(0);
    for (const r of train) counts[full.y[r]!]! += 1;
    const majority = counts.indexOf(Math.max(...counts));
    for (const r of test) predicted[r] = majority;
  }
  const truth = Int32Array.from(full.y);
  const balance: Record<string, number> = {};
  full.classes.forEach((c, i) => {
    balance[c] = truth.filter((v) => v === i).length / Math.max(1, full.n);
  });
  return {
    label: label.name,
    column: label.column,
    grouping: grouping.name,
    folds: grouping.folds,
    rows: full.n,
    classes: full.classes,
    balance,
    model: scored(model.evaluation.classification!),
    majority: scored(classificationMetrics(truth, predicted, full.classes)),
    throughputOnly: scored(tput.evaluation.classification!),
    topFeatures: model.evaluation.impurityImportance.slice(0, 8),
  };
}

/** A session's timeline as scripts/collect-video-qoe.ts writes it (sessions.jsonl). */
export interface SessionTimeline {
  session_id: number;
  trace: string | null;
  content: string | null;
  bw_limitation_mbps: number;
  capture_file: string | null;
  duration?: number;
  samples?: PlayerData["samples"];
  stalls?: PlayerData["stalls"];
  window?: { record_start_s: number | null };
}

export interface WindowScore {
  label: string;
  windows: number;
  accuracy: number;
  macroF1: number;
  /** The last, partial windows of each session, scored apart. */
  partial: { windows: number; accuracy: number | null };
  /** Sessions whose windows were scored, and those left out for want of their capture. */
  sessions: number;
  sessionsWithoutCapture: number;
}

/**
 * Per-window evaluation, folds grouped by trace: for each fold a session-level forest fitted on the
 * other folds' sessions predicts every 10 s window of the fold's own sessions (features of the window
 * from their captures, windows starting at the recorded window), against the window's labels.
 */
export async function evaluateWindows(
  dataset: Dataset,
  timelines: readonly SessionTimeline[],
  options: { windowSeconds?: number; folds?: number; seed?: number; captureDir?: (file: string) => string } = {},
): Promise<WindowScore[]> {
  const windowSeconds = options.windowSeconds ?? 10;
  const k = options.folds ?? 5;
  const seed = options.seed ?? 1;
  const grouped = withTraceGroup(dataset);
  const sessionColumn = grouped.columns.indexOf("session_id");
  const byId = new Map(timelines.map((t) => [t.session_id, t]));
  // Window features and labels of every session with a capture.
  let withoutCapture = 0;
  const windowsOf = new Map<
    number,
    { features: Map<string, ExportValue>; stalled: string; resolution: string; partial: boolean }[]
  >();
  for (const row of grouped.rows) {
    const id = Number(row[sessionColumn]);
    const timeline = byId.get(id);
    const file = timeline?.capture_file ? (options.captureDir?.(timeline.capture_file) ?? timeline.capture_file) : null;
    if (!timeline || !file || !existsSync(file)) {
      withoutCapture++;
      continue;
    }
    const labels = computeWindowLabels(
      {
        ...(timeline.duration !== undefined ? { duration: timeline.duration } : {}),
        ...(timeline.samples ? { samples: timeline.samples } : {}),
        ...(timeline.stalls ? { stalls: timeline.stalls } : {}),
      },
      windowSeconds,
    );
    let features: Awaited<ReturnType<typeof captureFeatureRows>>;
    try {
      features = await captureFeatureRows(file, {
        windowSeconds,
        startS: timeline.window?.record_start_s ?? 0,
      });
    } catch {
      continue;
    }
    const list = [];
    for (const label of labels) {
      const window = features.windows.find((w) => w.index === label.index);
      if (!window) continue;
      list.push({
        features: networkRow(window.features),
        stalled: String(label.stalled),
        resolution: label.resolution_class,
        partial: label.partial,
      });
    }
    windowsOf.set(id, list);
  }
  const scores: WindowScore[] = [];
  const sessions = windowsOf.size;
  for (const label of [
    { name: "stalled", column: "label_stalled", pick: (w: { stalled: string }) => w.stalled },
    {
      name: "resolution class",
      column: "label_resolution_class",
      pick: (w: { resolution: string }) => w.resolution,
    },
  ]) {
    let matrix: ReturnType<typeof prepareData>;
    try {
      matrix = prepareData(grouped, { label: label.column, group: "trace_group", task: "classification" });
    } catch {
      continue; // a label with one value in the sessions: nothing to learn (said by the session table)
    }
    const { folds } = assignFolds(matrix, k, seed);
    const truth: number[] = [];
    const predicted: number[] = [];
    const partialHits: boolean[] = [];
    for (let f = 0; f < k; f++) {
      const { train, test } = foldRows(folds, f);
      const model = fitModel(
        "rf",
        takeRows(matrix.x, matrix.p, train),
        train.length,
        matrix.p,
        Float64Array.from(train, (r) => matrix.y[r]!),
        "classification",
        matrix.classes.length,
        undefined,
        seed + f,
      );
      const rows: { truth: number; partial: boolean; features: Map<string, ExportValue> }[] = [];
      for (const r of test) {
        const id = Number(grouped.rows[matrix.rowIndex[r]!]![sessionColumn]);
        for (const w of windowsOf.get(id) ?? []) {
          const t = matrix.classes.indexOf(label.pick(w));
          if (t < 0) continue;
          rows.push({ truth: t, partial: w.partial, features: w.features });
        }
      }
      if (rows.length === 0) continue;
      const x = buildFeatureMatrix(datasetFromFeatureRows(rows.map((r) => r.features)), {
        features: matrix.features,
        oneHot: matrix.oneHot,
      });
      const out = argmaxRows(predictOutput(model, x, rows.length, matrix.p), rows.length, matrix.classes.length);
      rows.forEach((r, i) => {
        if (r.partial) partialHits.push(out[i] === r.truth);
        else {
          truth.push(r.truth);
          predicted.push(out[i]!);
        }
      });
    }
    const metrics = classificationMetrics(truth, predicted, matrix.classes);
    scores.push({
      label: label.name,
      windows: truth.length,
      accuracy: metrics.accuracy,
      macroF1: metrics.macroF1,
      partial: {
        windows: partialHits.length,
        accuracy: partialHits.length ? partialHits.filter(Boolean).length / partialHits.length : null,
      },
      sessions,
      sessionsWithoutCapture: withoutCapture,
    });
  }
  return scores;
}

/** sessions.jsonl as written by the collection. */
export function readTimelines(file: string): SessionTimeline[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as SessionTimeline);
}

const pct = (v: number) => `${(v * 100).toFixed(1)} %`;

/** The evaluation tables as Markdown. */
export function evaluationMarkdown(results: readonly LabelEvaluation[], windows: readonly WindowScore[]): string {
  const lines: string[] = [];
  for (const grouping of [...new Set(results.map((r) => r.grouping))]) {
    const part = results.filter((r) => r.grouping === grouping);
    lines.push(
      `### Folds grouped by ${grouping} (${part[0]?.folds} folds, ${part[0]?.rows} sessions)`,
      "",
      "| label | classes (share) | forest, all net_* accuracy | macro-F1 | majority class accuracy | macro-F1 | mean throughput only accuracy | macro-F1 |",
      "|---|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const r of part)
      lines.push(
        `| ${r.label} | ${r.classes.map((c) => `${c} ${pct(r.balance[c] ?? 0)}`).join(", ")} | ${pct(r.model.accuracy)} | ${r.model.macroF1.toFixed(3)} | ${pct(r.majority.accuracy)} | ${r.majority.macroF1.toFixed(3)} | ${pct(r.throughputOnly.accuracy)} | ${r.throughputOnly.macroF1.toFixed(3)} |`,
      );
    lines.push("");
    for (const r of part) {
      lines.push(
        `Confusion of the forest, ${r.label} (rows: true, columns: predicted):`,
        "",
        `| true \\ predicted | ${r.classes.join(" | ")} |`,
        `|---|${r.classes.map(() => "---:").join("|")}|`,
        ...r.classes.map((c, i) => `| ${c} | ${(r.model.confusion[i] ?? []).join(" | ")} |`),
        "",
        `Top features (impurity importance): ${r.topFeatures.map((f) => `${f.feature} ${f.importance.toFixed(3)}`).join(", ")}`,
        "",
      );
    }
  }
  if (windows.length > 0) {
    lines.push(
      "### Per 10 s window (qoe predict --window 10s from the recorded window; folds grouped by trace)",
      "",
      "| label | full windows | accuracy | macro-F1 | last partial windows | their accuracy |",
      "|---|---:|---:|---:|---:|---:|",
      ...windows.map(
        (w) =>
          `| ${w.label} | ${w.windows} | ${pct(w.accuracy)} | ${w.macroF1.toFixed(3)} | ${w.partial.windows} | ${w.partial.accuracy === null ? "—" : pct(w.partial.accuracy)} |`,
      ),
      "",
      `Windows of ${windows[0]?.sessions ?? 0} sessions; ${windows[0]?.sessionsWithoutCapture ?? 0} sessions have no capture beside sessions.jsonl and are not scored per window (their rows still train the session models).`,
      "",
    );
  }
  return lines.join("\n");
}

/** Evaluates a collected benchmark folder (sessions.csv, sessions.jsonl) into evaluation.md/.json. */
export async function evaluateBenchmarkFolder(dir: string, options: { windows?: boolean } = {}) {
  const dataset = withTraceGroup(datasetFromCsv(readFileSync(join(dir, "sessions.csv"), "utf8"), "sessions.csv"));
  const groups = (column: string) => new Set(dataset.rows.map((r) => String(r[dataset.columns.indexOf(column)]))).size;
  const groupings = [
    { name: "trace", column: "trace_group", folds: Math.min(5, groups("trace_group")) },
    { name: "content", column: "content", folds: Math.min(6, groups("content")) },
  ];
  const results: LabelEvaluation[] = [];
  const skipped: string[] = [];
  for (const grouping of groupings)
    for (const label of BENCHMARK_LABELS) {
      try {
        results.push(await evaluateLabel(dataset, label, grouping));
      } catch (error) {
        // One class only, or fewer groups than folds: said, not hidden.
        skipped.push(`${label.name} by ${grouping.name}: ${(error as Error).message}`);
      }
    }
  const timelines = join(dir, "sessions.jsonl");
  const scored =
    options.windows !== false && existsSync(timelines)
      ? await evaluateWindows(dataset, readTimelines(timelines), {
          folds: groupings[0]!.folds,
          // Relative capture paths (a committed dataset's) are the dataset folder's.
          captureDir: (file) => (isAbsolute(file) ? file : join(dir, file)),
        }).catch((error) => {
          skipped.push(`per-window: ${(error as Error).message}`);
          return [] as WindowScore[];
        })
      : [];
  // A committed dataset holds no captures but its held-out ones: no window to score is said, not a 0 %.
  const windows = scored.filter((w) => w.windows > 0);
  if (scored.length > windows.length) skipped.push("per-window: no session's capture was found beside sessions.jsonl");
  const markdown = `${evaluationMarkdown(results, windows)}${skipped.length ? `\nNot evaluated: ${skipped.join("; ")}\n` : ""}`;
  writeFileSync(join(dir, "evaluation.md"), `${markdown}\n`);
  writeFileSync(join(dir, "evaluation.json"), `${JSON.stringify({ results, windows, skipped }, null, 1)}\n`);
  return { results, windows, markdown };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write("usage: npx tsx src/ml/benchmark-eval.ts DATASET_DIR [--no-windows]\n");
    process.exit(2);
  }
  const { markdown } = await evaluateBenchmarkFolder(dir, { windows: !process.argv.includes("--no-windows") });
  process.stdout.write(`${markdown}\n`);
}
