import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { QoelabError } from "../errors.ts";
import { compileFilter, forEachPacket } from "../packet/index.ts";
import { createFlowEngine, type FlowEngineOptions, type PacketPredicate } from "./engine.ts";
import { finalizeResults } from "./finalize.ts";
import type { FlowsResult, PartialResult } from "./results.ts";

export interface AnalyzeOptions extends Omit<FlowEngineOptions, "filter" | "shard" | "onFlow"> {
  /** A capture-filter expression (pcap-filter syntax, the packet library's compileFilter) or a predicate. */
  filter?: string | PacketPredicate;
  /**
   * Worker threads, each taking the flows of one hash shard (results are identical to one thread).
   * "auto" (default): one per core, at most 4, when the file is larger than `parallelThreshold`.
   */
  workers?: number | "auto";
  /** File size (B) from which "auto" uses workers. Default 64 MiB. */
  parallelThreshold?: number;
  /** Called now and then with bytes read so far and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** Options that cross into workers (plain data only). */
export interface WorkerJob {
  path: string;
  options: Omit<AnalyzeOptions, "filter" | "onProgress" | "workers" | "parallelThreshold">;
  filter: string | null;
  shard: { index: number; count: number };
}

const PROGRESS_STEP = 8 * 1024 * 1024;

/** Compiles a capture-filter expression (pcap-filter syntax) with the packet library. */
export async function compileFilterExpression(expression: string): Promise<PacketPredicate> {
  return compileFilter(expression);
}

/** Runs one engine (or one shard) over a file in this thread; returns the partial result. */
export async function analyzeShard(
  path: string,
  options: FlowEngineOptions,
  onProgress?: (bytesRead: number) => void,
): Promise<PartialResult> {
  const engine = createFlowEngine(options);
  let nextReport = PROGRESS_STEP;
  await forEachPacket(
    path,
    (record) => {
      engine.push(record);
      if (onProgress && record.fileOffset >= nextReport) {
        nextReport = record.fileOffset + PROGRESS_STEP;
        onProgress(record.fileOffset);
      }
    },
    { tolerateTruncatedTail: true },
  );
  return engine.finishPartial();
}

/**
 * The worker entry. Under tsx (tests, `npm run qoelab`) the worker runs TypeScript: a tiny ESM
 * bootstrap registers tsx's loader inside the worker, then imports the .ts entry.
 */
function createWorker(job: WorkerJob): Worker {
  const self = import.meta.url;
  if (!self.endsWith(".ts")) return new Worker(new URL("./flow-worker.js", self), { workerData: job });
  const entry = new URL("./flow-worker.ts", self).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData: job });
}

function runWorker(job: WorkerJob, onProgress?: (bytesRead: number) => void): Promise<PartialResult> {
  return new Promise((resolve, reject) => {
    const worker = createWorker(job);
    let done = false;
    worker.on(
      "message",
      (
        message:
          | { type: "progress"; bytes: number }
          | { type: "result"; result: PartialResult }
          | { type: "error"; error: { code: string; message: string; details: Record<string, unknown> } },
      ) => {
        if (message.type === "progress") onProgress?.(message.bytes);
        else if (message.type === "result") {
          done = true;
          resolve(message.result);
        } else {
          done = true;
          reject(new QoelabError(message.error.code, message.error.message, message.error.details));
        }
      },
    );
    worker.on("error", (error) => {
      done = true;
      reject(error);
    });
    worker.on("exit", (code) => {
      if (!done)
        reject(new QoelabError("FLOWS_WORKER_FAILED", `flow worker ${job.shard.index} exited with code ${code}`));
    });
  });
}

/**
 * Flow statistics of a capture file (pcap or pcapng). Large files are split over worker threads
 * by flow hash; the result is identical to the single-threaded one.
 */
export async function analyzeCaptureFile(path: string, options: AnalyzeOptions = {}): Promise<FlowsResult> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new QoelabError("FLOWS_FILE_NOT_FOUND", `${path}: cannot read capture (${(error as Error).message})`, {
      file: path,
    });
  }
  const { filter, workers: workersOption, parallelThreshold, onProgress, ...engineOptions } = options;
  let workers = 1;
  if (typeof workersOption === "number") workers = Math.max(1, Math.floor(workersOption));
  else if (size >= (parallelThreshold ?? 64 * 1024 * 1024)) workers = Math.min(4, availableParallelism());
  if (workers > 1 && typeof filter !== "string" && filter !== undefined) workers = 1; // predicates cannot cross threads

  if (workers === 1) {
    const predicate = typeof filter === "string" ? await compileFilterExpression(filter) : filter;
    const part = await analyzeShard(
      path,
      { ...engineOptions, ...(predicate ? { filter: predicate } : {}) },
      onProgress ? (bytes) => onProgress(bytes, size) : undefined,
    );
    if (onProgress) onProgress(size, size);
    return finalizeResults([part], { features: engineOptions.features === true });
  }
  const jobs: Promise<PartialResult>[] = [];
  for (let index = 0; index < workers; index++) {
    const job: WorkerJob = {
      path,
      options: engineOptions,
      filter: typeof filter === "string" ? filter : null,
      shard: { index, count: workers },
    };
    jobs.push(runWorker(job, index === 0 && onProgress ? (bytes) => onProgress(bytes, size) : undefined));
  }
  const parts = await Promise.all(jobs);
  if (onProgress) onProgress(size, size);
  return finalizeResults(parts, { features: engineOptions.features === true });
}
