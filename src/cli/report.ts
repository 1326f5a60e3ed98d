import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { exportTraining } from "../collect/index.ts";
import { listeningRatings, parseMethod, parseRatingsCsv, type Rating } from "../quality/listening/index.ts";
import { readExperimentReportData, type TrainingExport } from "../quality/report/index.ts";
import { experimentReport, writeExperimentReport } from "../render/index.ts";
import { DATA_DIR_OPTION, JSON_OPTION } from "./common-options.ts";
import { parseDigits } from "./option-parsers.ts";
import { printJson } from "./output.ts";
import { withDb } from "./with-db.ts";

interface ReportOptions {
  out?: string;
  ratings?: string;
  test?: string;
  training?: string;
  method: string;
  dataDir: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command("report")
    .description("turn an experiment folder into one self-contained HTML report with SVG/PNG figures")
    .argument("<dir>", "experiment folder (experiment.json; optional ratings.csv, training.json)")
    .option("-o, --out <dir>", "where report.html and figures/ go (default DIR/report)")
    .option("--ratings <file>", "listening-test ratings CSV (default DIR/ratings.csv)")
    .option("--test <id>", "take the listening-test ratings from a stored test")
    .option("--training <id>", "add a stored video training (throughput, stalls, resolution)")
    .option("--method <m>", "listening-test method of the ratings", "acr")
    .option(...DATA_DIR_OPTION)
    .option(...JSON_OPTION)
    .action(async (dir: string, options: ReportOptions) => {
      const method = parseMethod(options.method, "--method");
      let ratings: Rating[] | undefined;
      let training: TrainingExport | undefined;
      if (options.ratings) ratings = parseRatingsCsv(readFileSync(options.ratings, "utf8"), method, options.ratings);
      if (options.test || options.training) {
        await withDb(options.dataDir, async (db) => {
          if (options.test) ratings = await listeningRatings(db, parseDigits(options.test, "--test"));
          if (options.training) {
            const file = await exportTraining(db, parseDigits(options.training, "--training"), "json");
            training = JSON.parse(String(file.body)) as TrainingExport;
          }
        });
      }
      const data = readExperimentReportData({
        dir,
        method,
        ...(ratings ? { ratings } : {}),
        ...(training ? { training } : {}),
      });
      const report = experimentReport(data);
      const written = await writeExperimentReport(report, options.out ?? join(dir, "report"));
      if (options.json)
        printJson({ html: written.html, figures: written.figures, listening: data.listening?.screened ?? null });
      else process.stdout.write(`report: ${written.html} (${report.figures.length} figures as SVG and PNG)\n`);
    });
}
