import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readPcm16le, readWav } from "../src/audio/index.ts";
import { type PesqMode, pesq } from "../src/quality/index.ts";

/**
 * Seconds per PESQ pair on the 40 pairs of ITU-T P.862 Annex A test 2 (VoIP set): 8 kHz narrowband,
 * 16 kHz narrowband and 16 kHz wideband (P.862.2). Each run scores all 40 pairs on one core; the
 * figure is the median over 5 runs of (run time / 40), wall clock and CPU time. With
 * PESQ_REFERENCE_BIN pointing at the ITU C reference (`pesq +8000 ref deg`, `+16000`, `+16000 +wb`),
 * the same is measured for it, one process per pair.
 */
export interface PesqBenchRow {
  name: string;
  pairs: number;
  runs: number;
  secondsPerPair: number;
  cpuSecondsPerPair: number;
  referenceSecondsPerPair?: number;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dataDir = path.resolve(repoRoot, "../shared/data/pesq-conformance");

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

interface Pair {
  ref: Float32Array;
  deg: Float32Array;
  refFile: string;
  degFile: string;
}

function loadSet(rate: 8000 | 16000, limit: number): Pair[] {
  const list = readFileSync(path.join(dataDir, rate === 8000 ? "voipref_8k.txt" : "voipref_16k.txt"), "utf8");
  return list
    .trim()
    .split(/\r?\n/)
    .slice(1, 1 + limit)
    .map((line) => {
      const [r, d] = line
        .split("\t")
        .map((p) => path.join(dataDir, p.replace(/^voip\//, rate === 8000 ? "voip8k/" : "voip16k/")));
      const load = (f: string) =>
        rate === 8000
          ? readWav(new Uint8Array(readFileSync(f))).channels[0]!
          : readPcm16le(new Uint8Array(readFileSync(f)));
      return { ref: load(r!), deg: load(d!), refFile: r!, degFile: d! };
    });
}

export function benchPesq(options: { pairs?: number; runs?: number } = {}): PesqBenchRow[] {
  const limit = options.pairs ?? 40;
  const runs = options.runs ?? 5;
  const bin = process.env.PESQ_REFERENCE_BIN;
  const rows: PesqBenchRow[] = [];
  const sets: Array<[string, 8000 | 16000, PesqMode, string[]]> = [
    ["8 kHz nb (P.862)", 8000, "nb", ["+8000"]],
    ["16 kHz nb (P.862)", 16000, "nb", ["+16000"]],
    ["16 kHz wb (P.862.2)", 16000, "wb", ["+16000", "+wb"]],
  ];
  for (const [name, rate, mode, binArgs] of sets) {
    const pairs = loadSet(rate, limit);
    pesq(pairs[0]!.ref, pairs[0]!.deg, rate, { mode }); // warm the JIT
    const wall: number[] = [];
    const cpu: number[] = [];
    for (let run = 0; run < runs; run++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      for (const p of pairs) pesq(p.ref, p.deg, rate, { mode });
      wall.push((performance.now() - t0) / 1000 / pairs.length);
      const used = process.cpuUsage(c0);
      cpu.push((used.user + used.system) / 1e6 / pairs.length);
    }
    const row: PesqBenchRow = {
      name,
      pairs: pairs.length,
      runs,
      secondsPerPair: median(wall),
      cpuSecondsPerPair: median(cpu),
    };
    if (bin && existsSync(bin)) {
      const times: number[] = [];
      for (let run = 0; run < runs; run++) {
        const t0 = performance.now();
        for (const p of pairs) spawnSync(bin, [...binArgs, p.refFile, p.degFile], { stdio: "ignore" });
        times.push((performance.now() - t0) / 1000 / pairs.length);
      }
      row.referenceSecondsPerPair = median(times);
    }
    rows.push(row);
  }
  return rows;
}

export function printPesqBench(rows: PesqBenchRow[]): void {
  console.log(
    `pesq: seconds per pair, ITU-T P.862 Annex A test 2 (${rows[0]?.pairs ?? 0} VoIP pairs), median of ${rows[0]?.runs ?? 0} runs, one core`,
  );
  for (const r of rows) {
    const ref =
      r.referenceSecondsPerPair === undefined
        ? ""
        : `  C reference ${r.referenceSecondsPerPair.toFixed(3)} s  (qoelab/C ${(r.secondsPerPair / r.referenceSecondsPerPair).toFixed(2)})`;
    console.log(
      `  ${r.name.padEnd(22)} ${r.secondsPerPair.toFixed(3)} s wall  ${r.cpuSecondsPerPair.toFixed(3)} s CPU${ref}`,
    );
  }
  if (!process.env.PESQ_REFERENCE_BIN)
    console.log("  (set PESQ_REFERENCE_BIN to the ITU C reference binary to time it beside)");
}

const invokedDirectly = process.argv[1] !== undefined && /bench[\\/]pesq\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) {
  printPesqBench(benchPesq({ pairs: Number(process.argv[2] ?? 40), runs: Number(process.argv[3] ?? 5) }));
}
