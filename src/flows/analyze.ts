import { stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { isQoelabError, QoelabError } from "../errors.ts";
import { compileFilter, Dissection, dissect, forEachPacket } from "../packet/index.ts";
import { createFlowEngine, type FlowEngineOptions } from "./engine.ts";
import { extractFlowPacket, extractInnerFlowPacket } from "./extract-flow-packet.ts";
import { finalizeResults } from "./finalize.ts";
import { FlowPacket, type PacketPredicate } from "./flow-packet.ts";
import { createRing, type RingBuffers, RingConsumerFailed, RingWriter } from "./packet-ring.ts";
import type { FlowsResult, PartialResult } from "./results.ts";
import { createShardEngine } from "./shard-engine.ts";
import { SweepClock, type SweepTarget } from "./sweep-clock.ts";

export interface AnalyzeOptions extends Omit<FlowEngineOptions, "filter" | "shard" | "onFlow"> {
  /** A capture-filter expression (pcap-filter syntax, the packet library's compileFilter) or a predicate. */
  filter?: string | PacketPredicate;
  /**
   * Shards, each taking the flows of some hash buckets (results are identical to one thread): with
   * N > 1 the calling thread reads every packet and runs shard 0 itself, N − 1 worker threads run
   * the others. "auto" (default): one per core, at most 4, when the file is larger than
   * `parallelThreshold`.
   */
  workers?: number | "auto";
  /** File size (B) from which "auto" uses workers. Default 64 MiB. */
  parallelThreshold?: number;
  /** Called now and then with bytes read so far and the file size. */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/** What crosses into a shard worker (plain data and shared memory only). */
export interface WorkerJob {
  index: number;
  options: Omit<AnalyzeOptions, "filter" | "onProgress" | "workers" | "parallelThreshold" | "onRttSample">;
  ring: RingBuffers;
}

const PROGRESS_STEP = 8 * 1024 * 1024;

/** Compiles a capture-filter expression (pcap-filter syntax) with the packet library. */
export async function compileFilterExpression(expression: string): Promise<PacketPredicate> {
  return compileFilter(expression);
}

/** Runs one engine over a file in this thread; returns the partial result. */
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
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  if (!self.endsWith(".ts")) return new Worker(new URL("./flow-worker.js", self), { workerData: job, resourceLimits });
  const entry = new URL("./flow-worker.ts", self).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), {
    workerData: job,
    resourceLimits,
  });
}

type WorkerMessage =
  | { type: "ready" }
  | { type: "result"; result: PartialResult }
  | { type: "error"; error: { code: string; message: string; details: Record<string, unknown> } };

interface RunningWorker {
  /** Settles once the worker's code runs (so a failure to load cannot leave the reader waiting on its ring). */
  ready: Promise<void>;
  result: Promise<PartialResult>;
}

function runWorker(job: WorkerJob): RunningWorker {
  let markReady!: () => void;
  let failReady!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const result = new Promise<PartialResult>((resolve, reject) => {
    const worker = createWorker(job);
    let done = false;
    const fail = (error: unknown) => {
      done = true;
      failReady(error);
      reject(error);
    };
    worker.on("message", (message: WorkerMessage) => {
      if (message.type === "ready") markReady();
      else if (message.type === "result") {
        done = true;
        resolve(message.result);
      } else fail(new QoelabError(message.error.code, message.error.message, message.error.details));
    });
    worker.on("error", fail);
    worker.on("exit", (code) => {
      if (!done) fail(new QoelabError("FLOWS_WORKER_FAILED", `flow worker ${job.index} exited with code ${code}`));
    });
  });
  // Either may be left unawaited when another worker fails first.
  ready.catch(() => {});
  result.catch(() => {});
  return { ready, result };
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
  // Functions cannot cross threads: a predicate filter is fine (the reader thread evaluates it),
  // an RTT callback is not.
  if (engineOptions.onRttSample) workers = 1;

  const predicate = typeof filter === "string" ? await compileFilterExpression(filter) : filter;
  if (workers === 1) {
    const part = await analyzeShard(
      path,
      { ...engineOptions, ...(predicate ? { filter: predicate } : {}) },
      onProgress ? (bytes) => onProgress(bytes, size) : undefined,
    );
    if (onProgress) onProgress(size, size);
    return finalizeResults([part], { features: engineOptions.features === true });
  }
  const parts = await analyzeParallel(
    path,
    engineOptions,
    predicate,
    workers,
    onProgress ? (bytes) => onProgress(bytes, size) : undefined,
  );
  if (onProgress) onProgress(size, size);
  return finalizeResults(parts, { features: engineOptions.features === true });
}

/**
 * Hash buckets (the hash's top 6 bits) that decide a flow's shard. The reading thread runs shard 0
 * itself on the first `localBuckets(shards)` buckets; the other buckets go round-robin to the
 * worker threads. With 2 shards on 2 cores two busy threads beat three (the reader plus two
 * workers): the reader's own work (read, dissect, extract, route) is about half the engine's, so
 * it keeps a quarter of the flows (16 of 64 buckets, measured per thread on the bench file) and the
 * worker the rest. With 3 or more shards the reader is busy enough reading: it keeps none.
 */
const BUCKET_SHIFT = 26;
const BUCKETS = 64;

/** Buckets the reading thread keeps: balances its reading work against each worker's engine work. */
export function localBuckets(shards: number): number {
  return shards === 2 ? 16 : 0;
}

/** Shard of each bucket: 0 = the reading thread, i ≥ 1 = worker i. */
export function bucketShards(shards: number): Int8Array {
  const table = new Int8Array(BUCKETS);
  const local = localBuckets(shards);
  for (let b = local; b < BUCKETS; b++) table[b] = 1 + ((b - local) % (shards - 1));
  return table;
}

/** Young generation of a shard worker (MB): its hot path allocates nothing per packet, so 2 MB do. */
const WORKER_YOUNG_GENERATION_MB = 2;

/**
 * The parallel path with `shards` shards: this thread reads, dissects, extracts and hashes every
 * packet once, runs shard 0's engine itself and hands every other flow's packets to the worker
 * owning its hash bucket through a shared-memory ring (packets outside flows stay in shard 0). The
 * reader also sends the time base and the once-a-second idle sweeps to every worker, so each shard
 * ends flows at exactly the times the single-threaded engine does.
 */
async function analyzeParallel(
  path: string,
  engineOptions: WorkerJob["options"],
  filter: PacketPredicate | undefined,
  shards: number,
  onProgress: ((bytesRead: number) => void) | undefined,
): Promise<PartialResult[]> {
  const rings = Array.from({ length: shards - 1 }, () => createRing());
  const writers = rings.map((ring) => new RingWriter(ring));
  const started = rings.map((ring, i) => runWorker({ index: i + 1, options: engineOptions, ring }));
  const running = started.map((w) => w.result);
  try {
    await Promise.all(started.map((w) => w.ready));
  } catch (error) {
    for (const w of writers) w.abort();
    await Promise.allSettled(running);
    throw error;
  }
  const local = createShardEngine(engineOptions);
  const route = bucketShards(shards);
  const trackTcp = engineOptions.protocols !== "udp";
  const trackUdp = engineOptions.protocols !== "tcp";
  const d = new Dissection();
  const p = new FlowPacket();
  const tunnels = engineOptions.tunnels === "both";
  const inner = new Dissection();
  const clock = new SweepClock();
  const everyShard: SweepTarget = {
    setBase(tsSec, tsNsec) {
      local.setBase(tsSec, tsNsec);
      for (const w of writers) w.writeBase(tsSec, tsNsec);
    },
    sweepAt(tsSec, tsNsec) {
      local.sweepAt(tsSec, tsNsec);
      for (const w of writers) w.writeSweep(tsSec, tsNsec);
    },
  };
  /** To the shard owning the packet's flow; other packets (and filtered-out ones) to shard 0, which counts them. */
  const deliver = (packet: FlowPacket): void => {
    const shard = packet.flow && !packet.filteredOut ? route[packet.hash >>> BUCKET_SHIFT]! : 0;
    if (shard === 0) local.accept(packet);
    else writers[shard - 1]!.writeFlow(packet);
  };
  let index = -1;
  let nextReport = PROGRESS_STEP;
  try {
    await forEachPacket(
      path,
      (record) => {
        index++;
        clock.tick(record.tsSec, record.tsNsec, everyShard);
        dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
        const used = extractFlowPacket(record, d, index, trackTcp, trackUdp, filter, p);
        deliver(p);
        if (tunnels && extractInnerFlowPacket(used, d, inner, index, trackTcp, trackUdp, filter, p)) deliver(p);
        if (onProgress && record.fileOffset >= nextReport) {
          nextReport = record.fileOffset + PROGRESS_STEP;
          onProgress(record.fileOffset);
        }
      },
      { tolerateTruncatedTail: true },
    );
    for (const w of writers) w.end();
  } catch (error) {
    for (const w of writers) w.abort();
    const settled = await Promise.allSettled(running);
    if (error instanceof RingConsumerFailed) {
      // The failed worker's own error is the useful one (the others were only told to stop).
      for (const s of settled) {
        if (s.status === "rejected" && !(isQoelabError(s.reason) && s.reason.code === "FLOWS_WORKER_ABORTED"))
          throw s.reason;
      }
    }
    throw error;
  }
  const localPart = local.finishPartial();
  return [localPart, ...(await Promise.all(running))];
}
