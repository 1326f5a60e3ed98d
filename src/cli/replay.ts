import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import {
  parseLossModel,
  parseProbability,
  type ReplayResult,
  readReplaySource,
  replayCapture,
} from "../generator/index.ts";
import { parseSeed, parseSsrc, resolveDestination, runInLabHost } from "./gen-rtp.ts";
import { formatTable, printJson } from "./output.ts";

interface ReplayOpts {
  to: string;
  ssrc?: string;
  setSsrc?: string;
  loss?: string;
  lossModel?: string;
  seed?: string;
  speed: string;
  spin: string;
  host?: string;
  json?: boolean;
}

const ms = (v: number) => Math.round(v * 1e6) / 1e6;

function printResult(r: ReplayResult, to: string): void {
  const t = r.timing;
  const rows: [string, string | number][] = [
    ["replayed", `${r.kind.toUpperCase()} ${r.source}`],
    ["destination", to],
    ["speed", r.speed],
    ["seed", r.seed],
    ["packets", r.packets],
    ["sent", r.sent],
    ["dropped by loss model", r.droppedByModel],
    ["send errors", r.sendErrors],
    ["original duration (ms)", ms(r.originalDurationMs)],
    ["timing error mean (ms)", ms(t.meanErrorMs)],
    ["timing error p99 (ms)", ms(t.p99ErrorMs)],
    ["drift (ms)", ms(t.driftMs)],
  ];
  process.stdout.write(`${formatTable(["replay", "value"], rows)}\n`);
}

export function register(program: Command): void {
  program
    .command("replay")
    .description("re-send a capture's RTP stream (or, without RTP, its largest UDP flow) with the original timing")
    .argument("<capture>", "pcap or pcapng file")
    .requiredOption("--to <host:port>", "destination: address:port, [v6]:port, or a lab host (server:5004)")
    .option("--ssrc <x>", "the RTP stream to replay when the capture holds several (decimal or 0x hex)")
    .option("--set-ssrc <x>", "rewrite the replayed stream's SSRC")
    .option("--loss <p>", "seeded generator-side loss (1% or 0.01): packets not sent")
    .option("--loss-model <model>", "bernoulli | gilbert:p,r[,1-k,1-h] | state:p13[,…]")
    .option("--seed <n>", "loss seed: the same seed drops the same packets")
    .option("--speed <x>", "time scale (2 = twice as fast)", "1")
    .option("--spin <ms>", "busy-wait this long before each deadline", "1.5")
    .option("--host <lab:host>", "run inside a lab host")
    .option("--json", "print JSON")
    .action(async (capture: string, opts: ReplayOpts) => {
      if (opts.host) {
        process.exitCode = await runInLabHost(opts.host, ["replay"]);
        return;
      }
      const speed = Number(opts.speed);
      if (!(speed > 0 && Number.isFinite(speed))) {
        throw new QoelabError("REPLAY_BAD_SPEED", `--speed "${opts.speed}": must be a number greater than 0`);
      }
      const loss = opts.loss !== undefined ? parseProbability(opts.loss, "--loss", "GEN_BAD_LOSS") : undefined;
      const lossModel =
        opts.loss !== undefined || opts.lossModel !== undefined ? parseLossModel(opts.lossModel, loss) : undefined;
      const seed = parseSeed(opts.seed);
      const { host, port } = await resolveDestination(opts.to);
      const source = await readReplaySource(capture, opts.ssrc !== undefined ? { ssrc: parseSsrc(opts.ssrc) } : {});
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once("SIGINT", onSigint);
      try {
        const result = await replayCapture({
          source,
          host,
          port,
          speed,
          spinMs: Number(opts.spin),
          signal: controller.signal,
          ...(opts.setSsrc !== undefined ? { setSsrc: parseSsrc(opts.setSsrc, "--set-ssrc") } : {}),
          ...(lossModel ? { loss: lossModel } : {}),
          ...(seed !== undefined ? { seed } : {}),
        });
        if (opts.json) printJson(result);
        else printResult(result, `${host}:${port}`);
      } finally {
        process.off("SIGINT", onSigint);
      }
    });
}
