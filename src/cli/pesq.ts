import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { type PesqFileResult, type PesqMode, parsePairsTsv, pesqFiles } from "../quality/index.ts";
import { formatDelimited, formatTable, printJson } from "./output.ts";

interface PesqCliOptions {
  mode: string;
  rate?: string;
  json?: boolean;
  batch?: string;
}

function parseMode(value: string): PesqMode {
  if (value === "nb" || value === "wb" || value === "wb-c2") return value;
  throw new QoelabError("PESQ_BAD_MODE", `--mode ${value}: expected nb, wb or wb-c2`, { mode: value });
}

function parseRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!Number.isInteger(rate) || rate <= 0) {
    throw new QoelabError("PESQ_BAD_RATE", `--rate ${value}: expected a sample rate in Hz`, { rate: value });
  }
  return rate;
}

function progressBar(done: number, total: number, label: string): void {
  if (!process.stderr.isTTY) return;
  const width = 30;
  const filled = Math.round((done / total) * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  process.stderr.write(`\r[${bar}] ${done}/${total} ${label.slice(-40).padEnd(40)}`);
  if (done === total) process.stderr.write("\n");
}

function printOne(r: PesqFileResult): void {
  const lines = [
    `version      ${r.version}`,
    `mode         ${r.mode} at ${r.sampleRate} Hz`,
    `raw          ${r.raw.toFixed(3)}`,
    `MOS-LQO      ${r.mosLqo.toFixed(3)}`,
    `disturbance  symmetric ${r.disturbance.toFixed(3)}, asymmetric ${r.asymmetricDisturbance.toFixed(3)}`,
  ];
  for (const c of r.conversions) lines.push(`converted    ${c}`);
  process.stdout.write(`${lines.join("\n")}\n\n`);
  const rows = r.utterances.map((u, i) => [i + 1, u.start, u.end, u.delayMs, u.confidence]);
  process.stdout.write(`${formatTable(["utterance", "start s", "end s", "delay ms", "confidence"], rows)}\n`);
}

export function register(program: Command): void {
  program
    .command("pesq")
    .description(
      "PESQ speech quality: ITU-T P.862 + P.862.1 (nb) or P.862.2 (wb) of a degraded file against its reference",
    )
    .argument("[reference]", "reference speech (WAV, or raw PCM16 LE with --rate)")
    .argument("[degraded]", "degraded speech")
    .option("--mode <mode>", "nb (P.862 + P.862.1), wb (P.862.2), wb-c2 (P.862.2 Corrigendum 2)", "nb")
    .option("--rate <hz>", "sample rate of raw (headerless PCM16 LE) input")
    .option("--batch <pairs.tsv>", "score every reference<TAB>degraded[<TAB>rate] line; prints TSV (or --json)")
    .option("--json", "print JSON")
    .action(async (reference: string | undefined, degraded: string | undefined, opts: PesqCliOptions) => {
      const mode = parseMode(opts.mode);
      const rate = parseRate(opts.rate);
      if (opts.batch) {
        const text = await readFile(opts.batch, "utf8").catch((error: Error) => {
          throw new QoelabError("PESQ_FILE_UNREADABLE", `${opts.batch}: cannot be read (${error.message})`, {
            file: opts.batch,
          });
        });
        const pairs = parsePairsTsv(text, dirname(opts.batch), opts.batch);
        const results: Array<PesqFileResult | { reference: string; degraded: string; error: string; code: string }> =
          [];
        let failed = 0;
        for (const [i, pair] of pairs.entries()) {
          progressBar(i, pairs.length, pair.degraded);
          try {
            results.push(await pesqFiles(pair.reference, pair.degraded, { mode, rate: pair.rate ?? rate }));
          } catch (error) {
            if (!(error instanceof QoelabError)) throw error;
            failed++;
            results.push({
              reference: pair.reference,
              degraded: pair.degraded,
              error: error.message,
              code: error.code,
            });
          }
        }
        progressBar(pairs.length, pairs.length, "done");
        if (opts.json) printJson(results);
        else {
          const rows = results.map((r) =>
            "error" in r
              ? [r.reference, r.degraded, "", "", "", "", `${r.code}: ${r.error}`]
              : [r.reference, r.degraded, r.sampleRate, r.raw.toFixed(3), r.mosLqo.toFixed(3), r.version, ""],
          );
          process.stdout.write(
            formatDelimited(["reference", "degraded", "rate", "raw", "mos_lqo", "version", "error"], rows, "\t"),
          );
        }
        if (failed > 0) process.exitCode = 1;
        return;
      }
      if (!reference || !degraded) {
        throw new QoelabError("PESQ_USAGE", "give REFERENCE and DEGRADED files, or --batch PAIRS.tsv", {});
      }
      const result = await pesqFiles(reference, degraded, { mode, rate });
      if (opts.json) printJson(result);
      else printOne(result);
    });
}
