import { writeFile } from "node:fs/promises";
import type { Command } from "commander";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import {
  evaluationSummary,
  loadDataset,
  loadModel,
  type ModelKind,
  predictRows,
  saveModel,
  type TrainOptions,
  trainFromSource,
} from "../ml/index.ts";
import { renderModelReport } from "../render/index.ts";
import { DATA_DIR_OPTION, JSON_OPTION } from "./common-options.ts";
import { splitList } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";
import { withDb } from "./with-db.ts";

function wholeNumber(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new QoelabError("CLI_BAD_NUMBER", `${option} ${text}: expected a whole number ≥ ${min}`, { value: text });
  return value;
}

/** Runs `body` with a database when DATA is `training:ID`, without one otherwise. */
async function withOptionalDb<T>(source: string, dataDir: string, body: (db: Db | undefined) => Promise<T>) {
  if (!/^training:\d+$/.test(source.trim())) return body(undefined);
  return withDb(dataDir, body);
}

function pct(v: number | undefined | null): string {
  return v === undefined || v === null ? "" : `${(v * 100).toFixed(1)}%`;
}

export function register(program: Command): void {
  const ml = program.command("ml").description("QoE models from network features: train, evaluate, predict, report");

  ml.command("train")
    .description("cross-validate a random forest or boosted trees on DATA, then fit on every row")
    .argument("<data>", "CSV or Parquet file, or training:ID")
    .requiredOption("--label <column>", "label column (e.g. label_stalled, stalled, label_qoe_class, label_qoe_score)")
    .option("--model <kind>", "rf or gbdt", "rf")
    .option("--cv <k>", "cross-validation folds", "5")
    .option("--group <column>", "grouped folds by a column (training, channel, bandwidth or any column)")
    .option("--seed <n>", "seed for folds, bootstraps and permutations", "0")
    .option("--task <task>", "auto, classification or regression", "auto")
    .option("--features <list>", "comma-separated feature columns or patterns (default: every net_* column)")
    .option("--with-bandwidth", "also use bw_limitation_mbps as a feature", false)
    .option("--one-hot", "encode text feature columns as 0/1 indicators instead of refusing them", false)
    .option("--permutations <n>", "shuffles per feature and fold for permutation importance (0 = off)", "5")
    .option("-o, --output <file>", "write the model (JSON) here")
    .option(...DATA_DIR_OPTION)
    .option(...JSON_OPTION)
    .action(
      async (
        data: string,
        opts: {
          label: string;
          model: string;
          cv: string;
          group?: string;
          seed: string;
          task: string;
          features?: string;
          withBandwidth: boolean;
          oneHot: boolean;
          permutations: string;
          output?: string;
          dataDir: string;
          json?: boolean;
        },
      ) => {
        if (opts.model !== "rf" && opts.model !== "gbdt")
          throw new QoelabError("ML_UNKNOWN_MODEL", `--model ${opts.model}: expected rf or gbdt`, {
            model: opts.model,
          });
        if (!["auto", "classification", "regression"].includes(opts.task))
          throw new QoelabError("CLI_BAD_TASK", `--task ${opts.task}: expected auto, classification or regression`);
        const options: TrainOptions = {
          label: opts.label,
          model: opts.model as ModelKind,
          cv: wholeNumber(opts.cv, "--cv", 2),
          seed: wholeNumber(opts.seed, "--seed", 0),
          task: opts.task as TrainOptions["task"],
          includeBandwidth: opts.withBandwidth,
          oneHot: opts.oneHot,
          permutationRepeats: wholeNumber(opts.permutations, "--permutations", 0),
          ...(opts.group ? { group: opts.group } : {}),
          ...(opts.features ? { features: splitList(opts.features) } : {}),
          ...(opts.json
            ? {}
            : {
                onProgress: (p) => {
                  if (process.stderr.isTTY) process.stderr.write(`\r${p.message} (${p.done}/${p.total})   `);
                },
              }),
        };
        const trained = await withOptionalDb(data, opts.dataDir, (db) =>
          trainFromSource(data, options, db ? { db } : {}),
        );
        if (process.stderr.isTTY && !opts.json) process.stderr.write("\n");
        if (opts.output) await saveModel(opts.output, trained.file);
        const e = trained.evaluation;
        if (opts.json) {
          printJson(evaluationSummary(e, opts.output ?? null));
          return;
        }
        const lines: string[] = [];
        lines.push(
          `${e.label} (${e.task}) with ${e.model}: ${e.rows} rows, ${e.features.length} features, ${e.foldKind} ${e.folds}-fold${e.groupColumn ? ` by ${e.groupColumn}` : ""}, seed ${e.seed}`,
        );
        if (e.droppedRows) lines.push(`${e.droppedRows} rows without a label were left out`);
        const c = e.classification;
        if (c) {
          lines.push(
            `accuracy ${pct(c.accuracy)}  balanced ${pct(c.balancedAccuracy)}  macro F1 ${c.macroF1.toFixed(3)}${c.rocAuc !== null ? `  ROC AUC ${c.rocAuc.toFixed(3)}` : ""}`,
            "",
            formatTable(
              ["class", "precision", "recall", "f1", "rows"],
              c.perClass.map((k) => [k.class, k.precision, k.recall, k.f1, k.support]),
            ),
            "",
            "confusion (rows: true, columns: predicted)",
            formatTable(
              ["", ...e.classes],
              c.confusion.map((row, i) => [e.classes[i]!, ...row]),
            ),
          );
        }
        const r = e.regression;
        if (r)
          lines.push(`MAE ${r.mae.toFixed(4)}  RMSE ${r.rmse.toFixed(4)}  R² ${r.r2 === null ? "–" : r.r2.toFixed(3)}`);
        if (e.perBandwidth.length > 0) {
          lines.push(
            "",
            formatTable(
              ["bandwidth_mbps", "rows", c ? "accuracy" : "mae"],
              e.perBandwidth.map((b) => [b.bandwidthMbps, b.rows, c ? (b.accuracy ?? null) : (b.mae ?? null)]),
            ),
          );
        }
        lines.push(
          "",
          "top features (impurity importance):",
          formatTable(
            ["feature", "importance"],
            e.impurityImportance.slice(0, 10).map((f) => [f.feature, f.importance]),
          ),
        );
        lines.push("", `features used: ${e.features.join(", ")}`);
        if (opts.output) lines.push(`model written to ${opts.output}`);
        process.stdout.write(`${lines.join("\n")}\n`);
      },
    );

  ml.command("predict")
    .description("predict the label of every row of DATA with a saved model")
    .argument("<model>", "model JSON from `qoelab ml train -o`")
    .argument("<data>", "CSV or Parquet file, or training:ID")
    .option(...DATA_DIR_OPTION)
    .option(...JSON_OPTION)
    .action(async (modelPath: string, data: string, opts: { dataDir: string; json?: boolean }) => {
      const model = await loadModel(modelPath);
      const dataset = await withOptionalDb(data, opts.dataDir, (db) => loadDataset(data, db ? { db } : {}));
      const predictions = predictRows(model, dataset);
      const idColumn = ["session_id", "session_name"].find((c) => dataset.columns.includes(c));
      const ids = idColumn
        ? dataset.rows.map((r) => r[dataset.columns.indexOf(idColumn)] ?? null)
        : dataset.rows.map((_, i) => i + 1);
      if (opts.json) {
        printJson({
          label: model.file.label,
          model: model.file.kind,
          rows: predictions.map((p, i) => ({ ...p, id: ids[i] })),
        });
        return;
      }
      const classes = model.file.classes;
      process.stdout.write(
        `${formatTable(
          [
            idColumn ?? "row",
            model.file.label,
            ...(model.file.task === "classification" ? classes.map((c) => `p(${c})`) : []),
          ],
          predictions.map((p, i) => [
            ids[i] === null || ids[i] === undefined ? "" : String(ids[i]),
            p.prediction,
            ...classes.map((c) => p.probabilities?.[c] ?? null),
          ]),
        )}\n`,
      );
    });

  ml.command("report")
    .description("self-contained HTML report of a model: confusion matrix, importance, per-bandwidth accuracy")
    .argument("<model>", "model JSON")
    .option("-o, --output <file>", "HTML file (default: stdout)")
    .action(async (modelPath: string, opts: { output?: string }) => {
      const model = await loadModel(modelPath);
      const html = renderModelReport(model.file);
      if (opts.output) await writeFile(opts.output, html);
      else process.stdout.write(html);
    });
}
