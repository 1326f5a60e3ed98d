/**
 * qoelab's random forest and boosted trees side by side with scikit-learn on the same rows and
 * the same stratified 5-fold split: accuracy over pooled held-out predictions and fit time
 * (summed over folds, one thread each) as a ratio to scikit-learn's.
 *
 *   npx tsx bench/ml.ts [extra.csv --label COLUMN]…
 *
 * Datasets: breast_cancer, wine and digits (shipped inside Debian's python3-sklearn, exported
 * to CSV at run time), plus every `test-data/collect/*.csv` qoelab dataset (label_stalled, net_*
 * features) and any CSV given on the command line. PYTHON picks the interpreter with sklearn.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  argmaxRows,
  datasetFromCsv,
  fitModel,
  foldRows,
  type ModelKind,
  predictOutput,
  prepareData,
  stratifiedKFold,
  takeRows,
} from "../src/ml/index.ts";

const python = process.env.PYTHON ?? (existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3");
const script = new URL("./ml_sklearn.py", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), `qoelab-bench-ml-${process.pid}-`));
const K = 5;
const SEED = 0;

interface Job {
  name: string;
  csv: string;
  label: string;
  features?: string[];
}

const jobs: Job[] = [];
for (const name of ["breast_cancer", "wine", "digits"]) {
  const csv = join(work, `${name}.csv`);
  execFileSync(python, [script, "export", name, csv]);
  jobs.push({ name, csv, label: "target", features: ["f*"] });
}
const collectDir = new URL("../test-data/collect/", import.meta.url).pathname;
if (existsSync(collectDir))
  for (const f of readdirSync(collectDir).filter((f) => f.endsWith(".csv")))
    jobs.push({ name: `qoelab:${f}`, csv: join(collectDir, f), label: "label_stalled" });
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const label = args[i + 1] === "--label" ? args[i + 2] : undefined;
  jobs.push({ name: args[i]!, csv: args[i]!, label: label ?? "label_stalled" });
  if (label) i += 2;
}

const rows: string[][] = [];
try {
  for (const job of jobs) {
    const matrix = prepareData(datasetFromCsv(readFileSync(job.csv, "utf8"), job.csv), {
      label: job.label,
      task: "classification",
      ...(job.features ? { features: job.features } : {}),
    });
    const folds = stratifiedKFold(matrix.y, K, SEED, matrix.classes);
    // The same rows (features as the matrix holds them, missing → empty → NaN) and folds for Python.
    const dataCsv = join(work, "rows.csv");
    const lines = [[...matrix.features.map((_, j) => `x${j}`), "y"].join(",")];
    for (let i = 0; i < matrix.n; i++) {
      const cells: string[] = [];
      for (let j = 0; j < matrix.p; j++) {
        const v = matrix.x[i * matrix.p + j]!;
        cells.push(Number.isNaN(v) ? "nan" : String(v));
      }
      cells.push(String(matrix.y[i]));
      lines.push(cells.join(","));
    }
    writeFileSync(dataCsv, `${lines.join("\n")}\n`);
    const foldsCsv = join(work, "folds.csv");
    writeFileSync(foldsCsv, `${Array.from(folds).join("\n")}\n`);
    const sk = JSON.parse(execFileSync(python, [script, "cv", dataCsv, foldsCsv], { encoding: "utf8" })) as Record<
      string,
      { accuracy: number; fitSeconds: number }
    >;
    for (const kind of ["rf", "gbdt"] as ModelKind[]) {
      let correct = 0;
      let fitSeconds = 0;
      for (let f = 0; f < K; f++) {
        const { train, test } = foldRows(folds, f);
        const x = takeRows(matrix.x, matrix.p, train);
        const y = Float64Array.from(train, (r) => matrix.y[r]!);
        const t0 = performance.now();
        const model = fitModel(
          kind,
          x,
          train.length,
          matrix.p,
          y,
          "classification",
          matrix.classes.length,
          {},
          SEED + f,
        );
        fitSeconds += (performance.now() - t0) / 1000;
        const out = predictOutput(model, takeRows(matrix.x, matrix.p, test), test.length, matrix.p);
        const predicted = argmaxRows(out, test.length, matrix.classes.length);
        test.forEach((r, i) => {
          if (predicted[i] === matrix.y[r]) correct++;
        });
      }
      const ours = correct / matrix.n;
      const theirs = sk[kind]!;
      const diff = (ours - theirs.accuracy) * 100;
      rows.push([
        job.name,
        `${matrix.n}×${matrix.p}`,
        kind === "rf" ? "RandomForest(100)" : "HistGradientBoosting()",
        (ours * 100).toFixed(2),
        (theirs.accuracy * 100).toFixed(2),
        `${diff >= 0 ? "+" : ""}${diff.toFixed(2)}`,
        Math.abs(diff) <= 2 ? "yes" : "NO",
        fitSeconds.toFixed(3),
        theirs.fitSeconds.toFixed(3),
        (fitSeconds / theirs.fitSeconds).toFixed(2),
      ]);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const headers = [
  "dataset",
  "rows×feat",
  "model (sklearn peer)",
  "qoelab_acc%",
  "sklearn_acc%",
  "diff_pts",
  "within_2",
  "qoelab_fit_s",
  "sklearn_fit_s",
  "fit_ratio",
];
const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ");
console.log(`stratified ${K}-fold, seed ${SEED}, same rows and folds; fit time summed over folds, one thread`);
console.log(line(headers));
for (const r of rows) console.log(line(r));
