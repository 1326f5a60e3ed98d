import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { readPcm16le, readWav } from "../src/audio/index.ts";
import { type PesqMode, pesq } from "../src/quality/index.ts";

/**
 * Seconds per PESQ pair on the P.862 Annex A conformance files (11 s VoIP pairs): 8 kHz narrowband,
 * 16 kHz narrowband and 16 kHz wideband. Median over the pairs of the per-pair median of several runs,
 * wall clock and CPU time (steadier on a shared machine). With QOELAB_PESQ_BIN set to the ITU
 * reference binary (`pesq +8000 ref deg`), its time per pair is printed beside ours.
 */
export interface PesqBenchRow {
  name: string;
  pairs: number;
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

function loadSet(rate: 8000 | 16000, limit: number): Array<[Float32Array, Float32Array, string, string]> {
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
      return [load(r!), load(d!), r!, d!];
    });
}

export function benchPesq(options: { pairs?: number; runs?: number } = {}): PesqBenchRow[] {
  const limit = options.pairs ?? 10;
  const runs = options.runs ?? 3;
  const bin = process.env.QOELAB_PESQ_BIN;
  const rows: PesqBenchRow[] = [];
  const sets: Array<[string, 8000 | 16000, PesqMode]> = [
    ["8 kHz nb (P.862)", 8000, "nb"],
    ["16 kHz nb (P.862)", 16000, "nb"],
    ["16 kHz wb (P.862.2)", 16000, "wb"],
  ];
  for (const [name, rate, mode] of sets) {
    const pairs = loadSet(rate, limit);
    pesq(pairs[0]![0], pairs[0]![1], rate, { mode }); // warm the JIT
    const wall: number[] = [];
    const cpu: number[] = [];
    for (const [ref, deg] of pairs) {
      const w: number[] = [];
      const c: number[] = [];
      for (let i = 0; i < runs; i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        pesq(ref, deg, rate, { mode });
        w.push((performance.now() - t0) / 1000);
        const used = process.cpuUsage(c0);
        c.push((used.user + used.system) / 1e6);
      }
      wall.push(median(w));
      cpu.push(median(c));
    }
    const row: PesqBenchRow = {
      name,
      pairs: pairs.length,
      secondsPerPair: median(wall),
      cpuSecondsPerPair: median(cpu),
    };
    if (bin && existsSync(bin) && rate === 8000 && mode === "nb") {
      const times = pairs.map(([, , r, d]) => {
        const t0 = performance.now();
        spawnSync(bin, ["+8000", r, d], { stdio: "ignore" });
        return (performance.now() - t0) / 1000;
      });
      row.referenceSecondsPerPair = median(times);
    }
    rows.push(row);
  }
  for (const r of rows) {
    const ref =
      r.referenceSecondsPerPair === undefined
        ? ""
        : `  reference C ${r.referenceSecondsPerPair.toFixed(3)} s (ratio ${(r.secondsPerPair / r.referenceSecondsPerPair).toFixed(2)})`;
    process.stdout.write(
      `pesq ${r.name.padEnd(20)} ${r.secondsPerPair.toFixed(3)} s/pair (cpu ${r.cpuSecondsPerPair.toFixed(3)} s) over ${r.pairs} pairs${ref}\n`,
    );
  }
  return rows;
}

const invokedDirectly = process.argv[1] !== undefined && /bench[\\/]pesq\.[jt]s$/.test(process.argv[1]);
if (invokedDirectly) benchPesq({ pairs: Number(process.argv[2] ?? 10), runs: Number(process.argv[3] ?? 3) });
