import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { parseTime } from "../generator/index.ts";
import { writeFolderReport } from "../render/index.ts";
import {
  type ExperimentImpairBackend,
  parseLossList,
  runVoipExperiment,
  type VoipExperimentResult,
} from "../voip/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { parseSeed, parseSsrc } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";
import { withSigintAbort } from "./sigint.ts";

interface VoipOpts {
  wav?: string;
  loss: string;
  lossModel?: string;
  delay?: string;
  seed?: string;
  seconds?: string;
  out: string;
  replay?: string;
  replaySsrc?: string;
  codec: string;
  impairBackend: string;
  plc: string;
  lab: string;
  pesq: boolean;
  json?: boolean;
}

/** An E-model value with its assumption beside it: "54.3 (PLC off)". */
function withAssumption(value: number | undefined, digits: number, plc: boolean | undefined): string | null {
  if (value === undefined) return null;
  return `${value.toFixed(digits)}${plc === undefined ? "" : plc ? " (PLC on)" : " (PLC off)"}`;
}

function printResult(r: VoipExperimentResult): void {
  const rows = r.experiment.conditions.map((c) => [
    c.id,
    c.lossPercent,
    c.achievedLoss ? `${c.achievedLoss.percent.toFixed(2)} (${c.achievedLoss.lost}/${c.achievedLoss.expected})` : null,
    withAssumption(c.emodel?.R, 1, c.emodel?.plc),
    withAssumption(c.emodel?.mos, 2, c.emodel?.plc),
    c.pesq?.mosLqo ?? null,
    c.lossBackend,
  ]);
  process.stdout.write(
    `${formatTable(["condition", "loss %", "realized %", "E-model R", "E-model MOS", "PESQ P.862.1 MOS-LQO", "loss served by"], rows)}\n`,
  );
  process.stdout.write(`reference: original.wav = ${r.experiment.referenceDescription ?? r.experiment.reference}\n`);
  process.stdout.write(`achieved loss: measured on each condition's receiving capture (the server's)\n`);
  process.stdout.write(`experiment: ${r.file}\n`);
  if (r.report) process.stdout.write(`report: ${r.report.html}\n`);
}

export function register(program: Command): void {
  const experiment = program.command("experiment").description("lab experiments that write an experiment folder");
  experiment
    .command("voip")
    .description(
      "softphone calls (or a replayed call) across a client — router — server lab at several loss levels: captures, extracted audio, E-model, PESQ and a report",
    )
    .option("--wav <file>", "speech the caller plays (8 kHz mono; other rates/stereo converted when unambiguous)")
    .option("--loss <list>", "loss levels in percent, comma-separated", "0,0.5,1,3")
    .option("--loss-model <model>", "bernoulli (default) | gilbert:p,r[,1-k,1-h] | state:p13[,…]")
    .option("--delay <time>", "extra one-way delay on the impaired link (bare number = ms)", "0ms")
    .option("--seed <n>", "loss seed (honoured by seeded backends; iptables is not seeded: see experiment.json)")
    .option("--seconds <s>", "talk time per call (default: the speech's length + 1 s)")
    .requiredOption("--out <dir>", "experiment folder to write (docs/experiment-folder.md)")
    .option("--replay <capture>", "replay this recorded call's RTP stream at each level instead of calling")
    .option("--replay-ssrc <x>", "the stream of --replay to use (default: the caller's)")
    .option("--codec <codec>", "pcmu or pcma", "pcmu")
    .option(
      "--impair-backend <name>",
      "who drops: emulator (seeded link emulator on the router–server link) | netem | iptables (on the link) | replayer (the replay's sender)",
      "emulator",
    )
    .option(
      "--plc <mode>",
      "what the extraction does with lost packets (the E-model assumes the same): none | g711",
      "none",
    )
    .option("--lab <name>", "lab name", "voip")
    .option("--no-pesq", "skip PESQ")
    .option(...JSON_OPTION)
    .action(async (opts: VoipOpts) => {
      const codec = opts.codec.trim().toLowerCase();
      if (codec !== "pcmu" && codec !== "pcma") {
        throw new QoelabError("EXPERIMENT_UNKNOWN_CODEC", `--codec "${opts.codec}": the softphones use pcmu or pcma`);
      }
      const result = await withSigintAbort((signal) => {
        const seed = parseSeed(opts.seed);
        return runVoipExperiment({
          lossPercents: parseLossList(opts.loss),
          delayMs: parseTime(opts.delay ?? "0", "--delay", { bare: "ms" }) * 1000,
          out: opts.out,
          codec,
          impairBackend: opts.impairBackend as ExperimentImpairBackend,
          plc: opts.plc as "none" | "g711",
          lab: opts.lab,
          pesq: opts.pesq,
          writeReport: writeFolderReport,
          signal,
          onProgress: (line) => process.stderr.write(`experiment: ${line}\n`),
          ...(opts.wav ? { wav: opts.wav } : {}),
          ...(opts.lossModel ? { lossModel: opts.lossModel } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(opts.seconds !== undefined ? { seconds: parseTime(opts.seconds, "--seconds", { bare: "s" }) } : {}),
          ...(opts.replay ? { replay: opts.replay } : {}),
          ...(opts.replaySsrc ? { replaySsrc: parseSsrc(opts.replaySsrc, "--replay-ssrc") } : {}),
        });
      });
      if (opts.json) printJson(result);
      else printResult(result);
    });
}
