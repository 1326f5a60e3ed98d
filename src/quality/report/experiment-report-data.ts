import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import { parseRatingsCsv } from "../listening/ratings-csv.ts";
import type { ListeningMethod } from "../listening/scales.ts";
import { analyzeRatings, type ListeningStats, type Rating } from "../listening/screening.ts";
import { type ExperimentFolder, readExperimentFolder } from "./experiment-folder.ts";

/** A video training as `GET /api/trainings/:id/export?format=json` (or `training.json`) holds it. */
export interface TrainingExport {
  training: { id: number; name: string; session_duration?: number; bw_limitations?: number[] };
  sessions: Array<{
    id: number;
    name: string;
    bw_limitation: number;
    status?: number;
    application_data?: {
      duration?: number;
      stalls?: Array<{ start: number; duration: number }>;
      samples?: Array<{ t?: number; height?: number; bitrate?: number }>;
    } | null;
    network_data?: { series?: { window?: number; bytes?: number[] } } | null;
    labels?: { time_weighted_height?: number; mean_height?: number; stall_time_s?: number } | null;
  }>;
}

export interface ReportInput {
  /** An experiment folder (experiment.json, optional ratings.csv and training.json). */
  dir: string;
  /** Listening-test ratings; default DIR/ratings.csv when present. */
  ratings?: Rating[];
  method?: ListeningMethod;
  /** A video training; default DIR/training.json when present. */
  training?: TrainingExport;
}

/** What an experiment report shows, read and analysed; drawing it is render's (`experimentReport`). */
export interface ExperimentReportData {
  /** The VoIP experiment, when the folder holds experiment.json. */
  folder: ExperimentFolder | null;
  training: TrainingExport | null;
  /** The listening test's ratings, screened (null without ratings). */
  listening: ListeningStats | null;
}

/** Reads an experiment folder, its ratings and a video training for the report (coded errors when neither is there). */
export function readExperimentReportData(input: ReportInput): ExperimentReportData {
  const hasExperiment = existsSync(join(input.dir, "experiment.json"));
  const trainingFile = join(input.dir, "training.json");
  let training = input.training;
  if (!training && existsSync(trainingFile)) {
    try {
      training = JSON.parse(readFileSync(trainingFile, "utf8")) as TrainingExport;
    } catch (error) {
      throw new QoelabError("EXPERIMENT_INVALID", `${trainingFile}: not valid JSON: ${(error as Error).message}`);
    }
    if (!Array.isArray(training?.sessions))
      throw new QoelabError("EXPERIMENT_INVALID", `${trainingFile}: no sessions array (a training export in JSON)`);
  }
  if (!hasExperiment && !training) {
    throw new QoelabError(
      "EXPERIMENT_NOT_FOUND",
      `${input.dir}: neither experiment.json nor training.json (nothing to report)`,
      { dir: input.dir },
    );
  }
  const folder: ExperimentFolder | null = hasExperiment ? readExperimentFolder(input.dir) : null;
  const method = input.method ?? "acr";
  let ratings = input.ratings;
  const ratingsFile = join(input.dir, "ratings.csv");
  if (!ratings && existsSync(ratingsFile))
    ratings = parseRatingsCsv(readFileSync(ratingsFile, "utf8"), method, ratingsFile);
  const listening =
    ratings && ratings.length > 0
      ? analyzeRatings(ratings, { method, conditionOrder: folder?.experiment.conditions.map((c) => c.id) ?? [] })
      : null;
  return { folder, training: training ?? null, listening };
}
