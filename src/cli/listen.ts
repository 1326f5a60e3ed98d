import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { openDb } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import {
  analyzeRatings,
  type ClipSet,
  clipsFromCsv,
  clipsFromExperiment,
  clipsFromFolder,
  createListeningTest,
  formatRatingsCsv,
  type ListeningStats,
  listeningOverview,
  listeningRatings,
  parseMethod,
  parseRatingsCsv,
} from "../quality/listening/index.ts";
import { createListeningApp } from "../web/index.ts";
import { BIND_HOST_OPTION, DATA_DIR_OPTION, JSON_OPTION, listenPortOption } from "./common-options.ts";
import { listenHttp } from "./listen-http.ts";
import { parseDigits, parsePort } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";
import { onceOnStopSignals } from "./stop-signals.ts";
import { withDb } from "./with-db.ts";

/** The JSON of `listen stats`: per condition n, mos, std, ci95 (screened), and the unscreened set. */
export function statsJson(stats: ListeningStats) {
  const pick = (c: { condition: string; n: number; mos: number; std: number | null; ci95: number | null }) => ({
    condition: c.condition,
    n: c.n,
    mos: c.mos,
    std: c.std,
    ci95: c.ci95,
  });
  return {
    method: stats.method,
    meanName: stats.meanName,
    conditions: stats.screened.conditions.map(pick),
    unscreened: stats.all.conditions.map(pick),
    clips: stats.screened.clips,
    raters: stats.raters,
    rules: stats.rules,
  };
}

function printStats(stats: ListeningStats): void {
  const all = new Map(stats.all.conditions.map((c) => [c.condition, c]));
  process.stdout.write(
    `${formatTable(
      ["condition", "n", stats.meanName, "std", "ci95", "n(all)", `${stats.meanName}(all)`, "ci95(all)"],
      stats.screened.conditions.map((c) => [
        c.condition,
        c.n,
        c.mos,
        c.std,
        c.ci95,
        all.get(c.condition)?.n,
        all.get(c.condition)?.mos,
        all.get(c.condition)?.ci95,
      ]),
    )}\n\n`,
  );
  process.stdout.write(
    `${formatTable(
      ["rater", "rated", "r", "screening"],
      stats.raters.map((r) => [
        r.rater,
        r.rated,
        r.correlation,
        r.excluded ? `excluded: ${r.reasons.join("; ")}` : r.outlier ? "flagged" : "kept",
      ]),
    )}\n`,
  );
}

interface CreateOptions {
  fromExperiment?: string;
  clipSeconds: string;
  fromFolder?: string;
  fromCsv?: string;
  method: string;
  name?: string;
  seed?: string;
  traps?: string;
  gold?: string;
  training?: string;
  dataDir?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const listen = program
    .command("listen")
    .description("listening tests in the browser (ITU-T P.800 ACR/DCR, P.808 screening)");

  listen
    .command("create")
    .description("create a listening test from an experiment folder, a folder of clips or a CSV of clips")
    .option("--from-experiment <dir>", "a `qoelab experiment voip` folder (original plus each loss level)")
    .option(
      "--clip-seconds <s>",
      "with --from-experiment: cut each condition into clips of about this long (0: whole)",
      "8",
    )
    .option("--from-folder <dir>", "subfolder per condition of WAV clips (reference.wav at the top for DCR)")
    .option("--from-csv <file>", "CSV with columns file, condition [, clip] [, reference]")
    .option("--method <m>", "acr, dcr or ccr", "acr")
    .option("--name <name>", "test name")
    .option("--seed <n>", "seed of the raters' orders (default random)")
    .option("--traps <n>", "trapping clips per rater", "1")
    .option("--gold <n>", "gold clips per rater", "1")
    .option("--training <n>", "training clips", "2")
    .option(...DATA_DIR_OPTION)
    .option(...JSON_OPTION)
    .action(async (options: CreateOptions) => {
      const sources = [options.fromExperiment, options.fromFolder, options.fromCsv].filter((s) => s !== undefined);
      if (sources.length !== 1)
        throw new QoelabError(
          "CLI_BAD_ARGUMENT",
          "listen create: give exactly one of --from-experiment, --from-folder, --from-csv",
        );
      const method = parseMethod(options.method, "--method");
      const clips: ClipSet = options.fromExperiment
        ? clipsFromExperiment(options.fromExperiment, { clipSeconds: Number(options.clipSeconds) })
        : options.fromFolder
          ? clipsFromFolder(options.fromFolder)
          : clipsFromCsv(options.fromCsv!);
      await withDb(options.dataDir, async (db) => {
        const seed = parseDigits(options.seed, "--seed");
        const test = await createListeningTest(db, {
          name: options.name ?? `${method.toUpperCase()} ${sources[0]}`,
          method,
          clips,
          ...(seed !== undefined ? { seed } : {}),
          traps: parseDigits(options.traps, "--traps", 1)!,
          gold: parseDigits(options.gold, "--gold", 1)!,
          training: parseDigits(options.training, "--training", 2)!,
        });
        if (options.json) printJson({ test, clips: clips.clips.length });
        else
          process.stdout.write(
            `listening test ${test.id} "${test.name}" (${method.toUpperCase()}, ${clips.clips.length} clips, seed ${test.seed})\n` +
              `raters: /listen/${test.id}   admin: /listen/${test.id}/admin   (qoelab listen serve, or qoelab serve)\n`,
          );
      });
    });

  listen
    .command("serve")
    .description("serve the listening tests alone (rater pages, admin, CSV export)")
    .option(...BIND_HOST_OPTION)
    .option(...listenPortOption("8010"))
    .option(...DATA_DIR_OPTION)
    .action(async (options: { host: string; port: string; dataDir: string }) => {
      const port = parsePort(options.port, "--port", "listen serve");
      const db = await openDb({ dataDir: options.dataDir });
      const app = createListeningApp(db);
      const server = await listenHttp(app, options.host, port, "listen serve");
      process.stdout.write(`qoelab: listening tests on http://${options.host}:${port}/listen\n`);
      const stop = () => {
        server.close(() => void db.close().then(() => process.exit(0)));
      };
      onceOnStopSignals(stop);
    });

  listen
    .command("stats")
    .description(
      "MOS/DMOS, std and 95 % CI per condition from RATINGS.csv (rater,condition,clip,score) or a stored test",
    )
    .argument("[ratings]", "ratings CSV")
    .option("--test <id>", "a stored listening test instead of a CSV")
    .option("--method <m>", "acr, dcr or ccr (CSV only)", "acr")
    .option("--threshold <r>", "outlier rule: Pearson r with the others' clip means below this flags a rater", "0.25")
    .option("--keep-outliers", "flag correlation outliers but keep them in the screened results")
    .option(...DATA_DIR_OPTION)
    .option(...JSON_OPTION)
    .action(
      async (
        file: string | undefined,
        options: {
          test?: string;
          method: string;
          threshold: string;
          keepOutliers?: boolean;
          dataDir: string;
          json?: boolean;
        },
      ) => {
        const threshold = Number(options.threshold);
        if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1)
          throw new QoelabError(
            "CLI_BAD_ARGUMENT",
            `--threshold must be a correlation in [-1, 1], got "${options.threshold}"`,
          );
        let stats: ListeningStats;
        if (options.test !== undefined) {
          const test = options.test;
          stats = await withDb(options.dataDir, async (db) => {
            const overview = await listeningOverview(db, parseDigits(test, "--test")!);
            const hearingFailed = overview.raters.filter((r) => r.hearing === "failed").map((r) => r.rater);
            return analyzeRatings(await listeningRatings(db, overview.test.id), {
              method: overview.test.method,
              conditionOrder: overview.test.settings.conditionOrder,
              hearingFailed,
              correlationThreshold: threshold,
              excludeOutliers: !options.keepOutliers,
            });
          });
        } else {
          if (!file) throw new QoelabError("CLI_BAD_ARGUMENT", "listen stats: give RATINGS.csv or --test ID");
          let text: string;
          try {
            text = readFileSync(file, "utf8");
          } catch (error) {
            throw new QoelabError("LISTEN_SOURCE_NOT_FOUND", `${file}: cannot read: ${(error as Error).message}`);
          }
          const method = parseMethod(options.method, "--method");
          stats = analyzeRatings(parseRatingsCsv(text, method, file), {
            method,
            correlationThreshold: threshold,
            excludeOutliers: !options.keepOutliers,
          });
        }
        if (options.json) printJson(statsJson(stats));
        else printStats(stats);
      },
    );

  listen
    .command("export")
    .description("print a stored test's ratings as CSV (rater, condition, clip, score, time, kind, …)")
    .argument("<test>", "listening test id")
    .option(...DATA_DIR_OPTION)
    .action(async (id: string, options: { dataDir: string }) => {
      await withDb(options.dataDir, async (db) => {
        process.stdout.write(formatRatingsCsv(await listeningRatings(db, parseDigits(id, "test id")!)));
      });
    });
}
