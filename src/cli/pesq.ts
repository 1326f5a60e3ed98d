import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { type PesqFileResult, type PesqMode, parsePairsTsv, pesqBatch, pesqFiles } from "../quality/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { formatDelimited, formatTable, printJson, progressBarText } from "./output.ts";

interface PesqCliOptions {
  mode: string;
  rate?: string;
  json?: boolean;
  batch?: string;
  threads?: string;
}

function parseMode(value: string): PesqMode {
  if (value === "nb" || value === "wb" || value === "wb-c2") return value;
  throw new QoelabError("PESQ_BAD_MODE", `--mode ${value}: expected nb, wb or wb-c2`, { mode: value });
}

function parsePositive(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new QoelabError("PESQ_BAD_OPTION", `${flag} ${value}: expected a positive integer`, { [flag]: value });
  }
  return n;
}

function progressBar(done: number, total: number, label: string): void {
  if (!process.stderr.isTTY) return;
  process.stderr.write(`\r${progressBarText(done / total)} ${done}/${total} ${label.slice(-40).padEnd(40)}`);
  if (done === total) process.stderr.write("\n");
}

function printOne(r: PesqFileResult): void {
  const rows: Array<[string, string]> = [["version", r.version]];
  if (r.rawLabel) rows.push([r.rawLabel, r.raw.toFixed(3)]);
  rows.push([r.mosLqoLabel, r.mosLqo.toFixed(3)]);
  rows.push(["rate", `${r.sampleRate} Hz`]);
  if (r.conformance) rows.push(["conformance", r.conformance]);
  rows.push(["disturbance", `symmetric ${r.disturbance.toFixed(3)}, asymmetric ${r.asymmetricDisturbance.toFixed(3)}`]);
  for (const c of r.conversions) rows.push(["converted", c]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(width)}${v}`).join("\n")}\n\n`);
  const utt = r.utterances.map((u, i) => [i + 1, u.start, u.end, u.delayMs, u.confidence]);
  process.stdout.write(`${formatTable(["utterance", "start s", "end s", "delay ms", "confidence"], utt)}\n`);
}

export function register(program: Command): void {
  program
    .command("pesq")
    .description(
      "PESQ speech quality of a degraded file against its reference: P.862 raw + P.862.1 MOS-LQO (nb) or P.862.2 MOS-LQO (wb)",
    )
    .argument("[reference]", "reference speech (WAV, or raw PCM16 LE with --rate)")
    .argument("[degraded]", "degraded speech")
    .option("--mode <mode>", "nb (P.862 + P.862.1), wb (P.862.2); wb-c2 (Corrigendum 2) is refused", "nb")
    .option("--rate <hz>", "sample rate of raw (headerless PCM16 LE) input")
    .option("--batch <pairs.tsv>", "score every reference<TAB>degraded[<TAB>rate] line; prints TSV (or --json)")
    .option("--threads <n>", "worker threads for --batch (default: every core)")
    .option(...JSON_OPTION)
    .action(async (reference: string | undefined, degraded: string | undefined, opts: PesqCliOptions) => {
      const mode = parseMode(opts.mode);
      const rate = parsePositive("--rate", opts.rate);
      if (opts.batch) {
        const text = await readFile(opts.batch, "utf8").catch((error: Error) => {
          throw new QoelabError("PESQ_FILE_UNREADABLE", `${opts.batch}: cannot be read (${error.message})`, {
            file: opts.batch,
          });
        });
        const pairs = parsePairsTsv(text, dirname(opts.batch), opts.batch);
        const results = await pesqBatch(pairs, {
          mode,
          rate,
          threads: parsePositive("--threads", opts.threads),
          onProgress: (done, total, pair) => progressBar(done, total, pair.degraded),
        });
        const failed = results.filter((r) => "error" in r).length;
        if (opts.json) printJson(results);
        else {
          const wideband = mode !== "nb";
          const headers = wideband
            ? ["reference", "degraded", "rate", "P.862.2 MOS-LQO", "version", "conformance", "error"]
            : ["reference", "degraded", "rate", "P.862 raw", "P.862.1 MOS-LQO", "version", "conformance", "error"];
          const rows = results.map((r) => {
            const scores =
              "error" in r
                ? wideband
                  ? [""]
                  : ["", ""]
                : wideband
                  ? [r.mosLqo.toFixed(3)]
                  : [r.raw.toFixed(3), r.mosLqo.toFixed(3)];
            return "error" in r
              ? [r.reference, r.degraded, "", ...scores, "", "", `${r.code}: ${r.error}`]
              : [r.reference, r.degraded, r.sampleRate, ...scores, r.version, r.conformance ?? "", ""];
          });
          process.stdout.write(formatDelimited(headers, rows, "\t"));
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
