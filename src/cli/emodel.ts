import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { callQuality, plcAssumption, rClampNote } from "../quality/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { formatTable, printJson } from "./output.ts";

function parsePercent(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text.trim());
  const value = m ? Number(m[1]) : Number.NaN;
  if (!(value >= 0 && value <= 100)) {
    throw new QoelabError("CLI_BAD_PERCENT", `${option} ${text}: expected a percentage 0–100 (e.g. 1%)`, {
      value: text,
    });
  }
  return value;
}

function parseMs(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(text.trim());
  if (!m) throw new QoelabError("CLI_BAD_DELAY", `${option} ${text}: expected a delay such as 150ms`, { value: text });
  return Number(m[1]) * (m[2] === "s" ? 1000 : 1);
}

export function register(program: Command): void {
  program
    .command("emodel")
    .description("ITU-T G.107 E-model: R and MOS-CQE for a codec, loss, burstiness and one-way delay")
    .option("--codec <codec>", "g711 (alias pcmu, pcma)", "g711")
    .option("--plc", "G.711 Appendix I loss concealment (Bpl 25.1 instead of 4.3)", false)
    .option("--loss <percent>", "packet loss, e.g. 1%", "0%")
    .option("--burst-ratio <B>", "BurstR (1 = random loss)", "1")
    .option("--delay <ms>", "mouth-to-ear one-way delay Ta (T = Ta, Tr = 2·Ta)", "0ms")
    .option(...JSON_OPTION)
    .action(
      (opts: { codec: string; plc: boolean; loss: string; burstRatio: string; delay: string; json?: boolean }) => {
        const burstRatio = Number(opts.burstRatio);
        if (!(burstRatio >= 1)) {
          throw new QoelabError("CLI_BAD_BURST_RATIO", `--burst-ratio ${opts.burstRatio}: expected a number ≥ 1`);
        }
        const result = callQuality({
          codec: opts.codec,
          plc: opts.plc,
          lossPercent: parsePercent(opts.loss, "--loss"),
          burstRatio,
          oneWayDelayMs: parseMs(opts.delay, "--delay"),
        });
        if (opts.json) {
          printJson(result);
          return;
        }
        const p = result.parameters;
        const clamp = rClampNote(result);
        process.stdout.write(
          `${formatTable(
            ["R", "MOS-CQE", "Ro", "Is", "Id", "Idte", "Idle", "Idd", "Ie,eff", "Ppl%", "BurstR", "Bpl", "Ta_ms"],
            [
              [
                result.R,
                result.mos,
                result.Ro,
                result.Is,
                result.Id,
                result.Idte,
                result.Idle,
                result.Idd,
                result.IeEff,
                p.Ppl,
                p.BurstR,
                p.Bpl,
                p.Ta,
              ],
            ],
          )}\n${result.codec.description}\nassumption: ${plcAssumption(opts.plc).text}\n${clamp ? `${clamp}\n` : ""}`,
        );
      },
    );
}
