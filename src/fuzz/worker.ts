import { rmSync } from "node:fs";
import { join } from "node:path";
import { parentPort, threadId, workerData } from "node:worker_threads";
import { loadCorpus } from "./corpus.ts";
import { fuzzInput } from "./generate.ts";
import { runFuzzInput } from "./targets.ts";

/** What the campaign hands a worker: inputs start, start + stride, … below end. */
export interface FuzzWorkerJob {
  roots: string[];
  seed: number;
  start: number;
  stride: number;
  end: number;
  scratchDir: string;
}

export type FuzzWorkerMessage =
  | { type: "ready"; seeds: number }
  | { type: "done"; index: number; outcome: "read" | "rejected"; ms: number }
  | {
      type: "crash";
      index: number;
      ms: number;
      source: string;
      mutations: string[];
      error: string;
      stack: string;
      bytes: Uint8Array;
    };

const job = workerData as FuzzWorkerJob;
const port = parentPort!;
const corpus = loadCorpus(job.roots);
const scratch = join(job.scratchDir, `input-${process.pid}-${threadId}.pcap`);
port.postMessage({ type: "ready", seeds: corpus.length } satisfies FuzzWorkerMessage);
for (let index = job.start; index < job.end; index += job.stride) {
  const input = fuzzInput(corpus, job.seed, index);
  const started = performance.now();
  try {
    const outcome = await runFuzzInput(input.bytes, scratch);
    port.postMessage({ type: "done", index, outcome, ms: performance.now() - started } satisfies FuzzWorkerMessage);
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error));
    port.postMessage({
      type: "crash",
      index,
      ms: performance.now() - started,
      source: input.source,
      mutations: input.mutations,
      error: `${e.name}: ${e.message}`,
      stack: e.stack ?? "",
      bytes: input.bytes,
    } satisfies FuzzWorkerMessage);
  }
}
rmSync(scratch, { force: true });
