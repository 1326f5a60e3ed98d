import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { capturesArchive, exportTraining, getTraining } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { createCollectionRuntime, SHAPERD_SOCKET_OPTION } from "./collection-runtime.ts";
import { DATA_DIR_OPTION, UPLINK_ALLOW_OPTION } from "./common-options.ts";
import { splitList } from "./option-parsers.ts";
import { withDb } from "./with-db.ts";

function trainingId(text: string): number {
  const id = Number(text.replace(/^training:/, ""));
  if (!Number.isInteger(id) || id <= 0)
    throw new QoelabError("CLI_BAD_ID", `training must be a positive integer id (or training:ID), got "${text}"`);
  return id;
}

export function register(program: Command): void {
  program
    .command("collect")
    .description("run a training's sessions now, without the web app (lab hosts, shaping, chromium, capture)")
    .argument("<training>", "training id")
    .option("--slots <n>", "lab slots in parallel (default: the training's)")
    .option(...DATA_DIR_OPTION)
    .option("--capture-dir <dir>", "where session captures go as root (default DATA_DIR/captures)")
    .option("--origin-channels <list>", "contents of the built-in origin", "talk,sport,game,noise,cuts,animation")
    .option("--lab-prefix <p>", "lab slot names are <p><slot>", "qc")
    .option(...SHAPERD_SOCKET_OPTION)
    .option(...UPLINK_ALLOW_OPTION)
    .action(
      async (
        id: string,
        options: {
          slots?: string;
          dataDir: string;
          captureDir?: string;
          originChannels: string;
          labPrefix: string;
          shaperd: string;
          uplinkAllow?: string;
        },
      ) => {
        await withDb(options.dataDir, async (db) => {
          const training = await getTraining(db, trainingId(id));
          const runtime = await createCollectionRuntime(db, {
            maxSlots: options.slots ? Number(options.slots) : training.slots,
            captureDir: options.captureDir ?? join(options.dataDir, "captures"),
            originChannels: splitList(options.originChannels),
            labPrefix: options.labPrefix,
            shaperdSocket: options.shaperd,
            ...(options.uplinkAllow ? { uplinkAllow: splitList(options.uplinkAllow) } : {}),
            log: (m) => process.stderr.write(`${m}\n`),
          });
          await runtime.orchestrator.runUntilIdle(training.id);
          await runtime.close();
          const done = await getTraining(db, training.id);
          process.stdout.write(`training ${done.id}: ${done.state}\n`);
        });
      },
    );
  program
    .command("export")
    .description("export a training as one row per session (CSV, JSON or Parquet)")
    .argument("<training>", "training id")
    .option("--format <f>", "csv, json or parquet", "csv")
    .option("--flows", "the flows table instead: one row per flow (tstat log_tcp_complete columns) with its session id")
    .option("-o, --output <file>", "output file (default: stdout for csv/json)")
    .option("--pcaps <file>", "also write every session's capture into this tar archive")
    .option(...DATA_DIR_OPTION)
    .action(
      async (
        id: string,
        options: { format: string; output?: string; pcaps?: string; dataDir: string; flows?: boolean },
      ) => {
        await withDb(options.dataDir, async (db) => {
          if (options.pcaps) writeFileSync(options.pcaps, await capturesArchive(db, trainingId(id)));
          // capture_file is given relative to the data directory (where captures go by default).
          const file = await exportTraining(db, trainingId(id), options.format, {
            dataDir: options.dataDir,
            flows: options.flows === true,
          });
          if (options.output) writeFileSync(options.output, file.body);
          else if (typeof file.body === "string") process.stdout.write(file.body);
          else throw new QoelabError("CLI_BAD_OUTPUT", "export: Parquet needs -o FILE");
        });
      },
    );
}
