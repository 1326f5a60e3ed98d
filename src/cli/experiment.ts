import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { parseTime } from "../generator/index.ts";
import { parseLossList, runVoipExperiment, type VoipExperimentResult } from "../voip/index.ts";
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
  lab: string;
  pesq: boolean;
  json?: boolean;
}

function printResult(r: VoipExperimentResult): void {
  const rows = r.experiment.conditions.map((c) => [
    c.id,
    c.lossPercent,
    c.realizedLossPercent,
    c.emodel?.R ?? null,
    c.emodel?.mos ?? null,
    c.pesq?.mosLqo ?? null,
    c.lossBackend,
  ]);
  process.stdout.write(
    `${formatTable(["condition", "loss %", "realized %", "E-model R", "E-model MOS", "PESQ MOS-LQO", "loss served by"], rows)}\n`,
  );
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
    .option("--lab <name>", "lab name", "voip")
    .option("--no-pesq", "skip PESQ")
    .option("--json", "print JSON")
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
          lab: opts.lab,
          pesq: opts.pesq,
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
