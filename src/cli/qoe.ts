import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { loadModel, predictCapture } from "../ml/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { parseWindow } from "./option-parsers.ts";
import { formatTable, printJson } from "./output.ts";

export { parseWindow };

export function register(program: Command): void {
  const qoe = program.command("qoe").description("QoE from network traffic");
  qoe
    .command("predict")
    .description("predict a capture's QoE label with a saved model: per window and for the whole session")
    .argument("<capture>", "pcap or pcapng file")
    .requiredOption("--model <file>", "model JSON from `qoelab ml train -o`")
    .option("--window <duration>", "window length for per-window predictions", "10s")
    .option("--start <s>", "windows begin this many seconds after the first packet (a session's recorded window)", "0")
    .option("--bandwidth <mbps>", "bandwidth limit, for models trained with it as a feature")
    .option("--protocols <p>", "transports the features cover: tcp (as the collection captures), udp or both", "tcp")
    .option(...JSON_OPTION)
    .action(
      async (
        capture: string,
        opts: { model: string; window: string; start: string; bandwidth?: string; protocols: string; json?: boolean },
      ) => {
        if (!["tcp", "udp", "both"].includes(opts.protocols))
          throw new QoelabError("CLI_BAD_PROTOCOLS", `--protocols ${opts.protocols}: expected tcp, udp or both`);
        const bandwidth = opts.bandwidth === undefined ? undefined : Number(opts.bandwidth);
        if (bandwidth !== undefined && !(bandwidth > 0))
          throw new QoelabError("CLI_BAD_BANDWIDTH", `--bandwidth ${opts.bandwidth}: expected Mbit/s > 0`);
        const start = Number(opts.start);
        if (!(start >= 0)) throw new QoelabError("CLI_BAD_START", `--start ${opts.start}: expected seconds ≥ 0`);
        const model = await loadModel(opts.model);
        const result = await predictCapture(model, capture, {
          windowSeconds: parseWindow(opts.window),
          startS: start,
          protocols: opts.protocols as "tcp" | "udp" | "both",
          ...(bandwidth !== undefined ? { bandwidthMbps: bandwidth } : {}),
        });
        if (opts.json) {
          printJson(result);
          return;
        }
        const classes = model.file.classes;
        const probs = (p?: Record<string, number>) => classes.map((c) => p?.[c] ?? null);
        process.stdout.write(
          `${formatTable(
            ["window", "start_s", "end_s", "packets", "partial", result.label, ...classes.map((c) => `p(${c})`)],
            [
              ...result.windows.map((w) => [
                w.index,
                w.startS,
                w.endS,
                w.packets,
                w.partial ? "partial" : "",
                w.prediction,
                ...probs(w.probabilities),
              ]),
              ["session", null, null, null, null, result.session.prediction, ...probs(result.session.probabilities)],
            ],
          )}\n`,
        );
      },
    );
}
