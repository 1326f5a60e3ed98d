import type { Queryable } from "../db/index.ts";
import { type LoadedDataset, loadDataset } from "./dataset.ts";
import { type Evaluation, type TrainOptions, type TrainProgress, trainOnDataset } from "./evaluate.ts";
import { type ModelFile, modelFileFromTraining } from "./model-file.ts";

export interface TrainedModel {
  file: ModelFile;
  evaluation: Evaluation;
  dataset: LoadedDataset;
}

/**
 * The one function behind `qoelab ml train` and the web "Classify" view: loads DATA (a CSV or
 * Parquet path, or `training:ID` from the database), cross-validates, fits on every row and
 * returns the model file (not yet written) with its evaluation.
 */
export async function trainFromSource(
  source: string,
  options: TrainOptions,
  context: { db?: Queryable } = {},
): Promise<TrainedModel> {
  const dataset = await loadDataset(source, context);
  const result = await trainOnDataset(dataset, options);
  return {
    file: modelFileFromTraining(result, { source, params: options.params ?? {} }),
    evaluation: result.evaluation,
    dataset,
  };
}

/** JSON summary the CLI prints with `--json` (accuracy as a fraction for classification). */
export function evaluationSummary(evaluation: Evaluation, outputPath?: string | null): Record<string, unknown> {
  const c = evaluation.classification;
  const r = evaluation.regression;
  return {
    label: evaluation.label,
    task: evaluation.task,
    model: evaluation.model,
    rows: evaluation.rows,
    droppedRows: evaluation.droppedRows,
    folds: evaluation.folds,
    foldKind: evaluation.foldKind,
    groupColumn: evaluation.groupColumn,
    seed: evaluation.seed,
    features: evaluation.features,
    classes: evaluation.classes,
    ...(c
      ? {
          accuracy: c.accuracy,
          balancedAccuracy: c.balancedAccuracy,
          macroF1: c.macroF1,
          rocAuc: c.rocAuc,
          perClass: c.perClass,
          confusion: c.confusion,
        }
      : {}),
    ...(r ? { mae: r.mae, rmse: r.rmse, r2: r.r2 } : {}),
    perFold: evaluation.perFold,
    perBandwidth: evaluation.perBandwidth,
    impurityImportance: evaluation.impurityImportance,
    permutationImportance: evaluation.permutationImportance,
    timing: evaluation.timing,
    ...(outputPath ? { modelFile: outputPath } : {}),
  };
}

export type { TrainProgress };
