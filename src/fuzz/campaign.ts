import { createHash } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { loadCorpus } from "./corpus.ts";
import { fuzzInput } from "./generate.ts";
import type { FuzzWorkerJob, FuzzWorkerMessage } from "./worker.ts";

export interface CampaignOptions {
  /** Inputs to run: indices from … from + count - 1 of the seeded sequence. */
  count: number;
  /** First input index (a long campaign can go on where an earlier run stopped). Default 0. */
  from?: number;
  seed?: number;
  /** Worker threads running inputs side by side. Default 1. */
  workers?: number;
  /** An input running longer than this is a hang: its worker is ended and replaced. Default 10 s. */
  hangMs?: number;
  /** Folders whose captures seed the corpus. */
  roots: string[];
  /** Where to save crashing and hanging inputs (one per distinct error); none when undefined. */
  saveDir?: string;
  /** Heap limit of each worker (MB): an input needing more is a crash, not a machine-wide swap. */
  workerHeapMb?: number;
  onProgress?: (progress: CampaignProgress) => void;
}

export interface CampaignProgress {
  inputs: number;
  crashes: number;
  hangs: number;
  seconds: number;
}

export interface FuzzFinding {
  kind: "crash" | "hang";
  index: number;
  source: string;
  mutations: string[];
  error: string;
  /** Error name, message without numbers, first frame in qoelab's code: one per distinct defect. */
  signature: string;
  /** Saved file, when saving. */
  file?: string;
}

export interface CampaignResult {
  seed: number;
  seeds: number;
  inputs: number;
  read: number;
  rejected: number;
  crashes: number;
  hangs: number;
  findings: FuzzFinding[];
  /** Distinct signatures among crashes and hangs. */
  distinct: number;
  seconds: number;
  inputsPerSecond: number;
  /** Slowest single input (ms) that finished, and its index. */
  slowestMs: number;
  slowestIndex: number;
  /** Peak resident set size of the process, workers included (MB). */
  peakRssMb: number;
}

function workerFor(job: FuzzWorkerJob, heapMb: number): Worker {
  const self = import.meta.url;
  const options = { workerData: job, resourceLimits: { maxOldGenerationSizeMb: heapMb } };
  if (!self.endsWith(".ts")) return new Worker(new URL("./worker.js", self), options);
  const entry = new URL("./worker.ts", self).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}

function signatureOf(error: string, stack: string): string {
  const frame = stack.split("\n").find((line) => line.includes("/src/") && !line.includes("/src/fuzz/")) ?? "";
  const where = frame.replace(/^.*\/src\//, "src/").replace(/[()]/g, "");
  return `${error.replace(/\d+/g, "N").slice(0, 120)} @ ${where.replace(/:\d+$/, "")}`;
}

/**
 * Runs a deterministic mutation campaign: input i is `fuzzInput(corpus, seed, i)`, run by one of
 * `workers` worker threads through every capture reader (see targets.ts). A watchdog ends a
 * worker whose input runs past `hangMs` and carries on with the next input.
 */
export async function runCampaign(options: CampaignOptions): Promise<CampaignResult> {
  const seed = options.seed ?? 1;
  const workers = Math.max(1, options.workers ?? 1);
  const hangMs = options.hangMs ?? 10_000;
  const heapMb = options.workerHeapMb ?? 1024;
  const from = options.from ?? 0;
  const end = from + options.count;
  const scratchDir = mkdtempSync(join(tmpdir(), `qoelab-fuzz-${process.pid}-`));
  const started = performance.now();
  const findings: FuzzFinding[] = [];
  const saved = new Set<string>();
  let mainCorpus: ReturnType<typeof loadCorpus> | null = null;
  let inputs = 0;
  let read = 0;
  let rejected = 0;
  let crashes = 0;
  let hangs = 0;
  let seeds = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  let peakRss = process.memoryUsage.rss();

  const save = (finding: FuzzFinding, bytes: Uint8Array) => {
    findings.push(finding);
    if (options.saveDir === undefined || saved.has(finding.signature)) return;
    saved.add(finding.signature);
    mkdirSync(options.saveDir, { recursive: true });
    const name = `${finding.kind}-${createHash("sha1").update(bytes).digest("hex").slice(0, 16)}.pcap`;
    finding.file = join(options.saveDir, name);
    writeFileSync(finding.file, bytes);
    const index = join(options.saveDir, "INDEX.tsv");
    if (!existsSync(index)) appendFileSync(index, "file\tkind\tcampaign_seed\tinput\tsource\tmutations\terror\n");
    const error = finding.error.replace(/[\t\n]/g, " ").slice(0, 200);
    appendFileSync(
      index,
      `${name}\t${finding.kind}\t${seed}\t${finding.index}\t${finding.source}\t${finding.mutations.join(",")}\t${error}\n`,
    );
  };

  /** A hang or a crash: the worker reported nothing, so its input is rebuilt here from the seed and index. */
  const saveLost = (
    kind: "hang" | "crash",
    index: number,
    error: string,
    signature: (mutations: string[]) => string,
  ) => {
    inputs++;
    mainCorpus ??= loadCorpus(options.roots);
    const input = fuzzInput(mainCorpus, seed, index);
    const { source, mutations } = input;
    save({ kind, index, source, mutations, error, signature: signature(mutations) }, input.bytes);
  };

  const lane = (k: number) =>
    new Promise<void>((resolve) => {
      let next = from + k;
      let worker: Worker | null = null;
      let runningSince = 0;
      let ready = false;
      const watchdog = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        if (worker === null || !ready || performance.now() - runningSince <= hangMs) return;
        const hung = next;
        const w = worker;
        worker = null;
        void w.terminate();
        hangs++;
        saveLost("hang", hung, `no result after ${hangMs} ms`, (mutations) => `hang ${mutations.join(",")}`);
        next = hung + workers;
        start();
      }, 250);
      const finish = () => {
        clearInterval(watchdog);
        resolve();
      };
      const start = () => {
        if (next >= end) {
          finish();
          return;
        }
        ready = false;
        const w = workerFor({ roots: options.roots, seed, start: next, stride: workers, end, scratchDir }, heapMb);
        worker = w;
        w.on("message", (m: FuzzWorkerMessage) => {
          if (worker !== w) return;
          if (m.type === "ready") {
            seeds = m.seeds;
            ready = true;
            runningSince = performance.now();
            return;
          }
          inputs++;
          if (m.ms > slowestMs) {
            slowestMs = m.ms;
            slowestIndex = m.index;
          }
          if (m.type === "done") {
            if (m.outcome === "read") read++;
            else rejected++;
          } else {
            crashes++;
            save(
              {
                kind: "crash",
                index: m.index,
                source: m.source,
                mutations: m.mutations,
                error: m.error,
                signature: signatureOf(m.error, m.stack),
              },
              m.bytes,
            );
          }
          next = m.index + workers;
          runningSince = performance.now();
          if (inputs % 1000 === 0) {
            options.onProgress?.({ inputs, crashes, hangs, seconds: (performance.now() - started) / 1000 });
          }
        });
        w.on("error", (error) => {
          if (worker !== w) return;
          // The worker died (e.g. out of its heap limit): the running input crashed it.
          worker = null;
          crashes++;
          const signature = `worker died: ${error.message.replace(/\d+/g, "N")}`;
          saveLost("crash", next, `worker died: ${error.message}`, () => signature);
          next += workers;
          start();
        });
        w.on("exit", () => {
          if (worker !== w) return;
          worker = null;
          finish();
        });
      };
      start();
    });

  try {
    await Promise.all(Array.from({ length: Math.min(workers, options.count) }, (_, k) => lane(k)));
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
  const seconds = (performance.now() - started) / 1000;
  const maxRssKb = process.resourceUsage().maxRSS;
  return {
    seed,
    seeds,
    inputs,
    read,
    rejected,
    crashes,
    hangs,
    findings,
    distinct: new Set(findings.map((f) => f.signature)).size,
    seconds,
    inputsPerSecond: inputs / seconds,
    slowestMs,
    slowestIndex,
    peakRssMb: Math.max(peakRss / 1048576, maxRssKb / 1024),
  };
}
