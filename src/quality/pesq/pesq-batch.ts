import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { QoelabError } from "../../errors.ts";
import type { PesqMode } from "./config.ts";
import type { PesqFileResult } from "./pesq-files.ts";
import type { PesqPair } from "./pesq-input.ts";

/** One batch job and its answer (worker-thread messages). */
export interface PesqBatchJob {
  index: number;
  reference: string;
  degraded: string;
  mode: PesqMode;
  rate?: number;
}

export interface PesqBatchFailure {
  reference: string;
  degraded: string;
  code: string;
  error: string;
}

export type PesqBatchAnswer =
  | { index: number; result: PesqFileResult }
  | { index: number; failure: { code: string; message: string } };

export interface PesqBatchOptions {
  mode?: PesqMode;
  /** Sample rate for raw files without a rate column. */
  rate?: number;
  /** Worker threads (default: every core, at most one per pair). */
  threads?: number;
  onProgress?: (done: number, total: number, pair: PesqPair) => void;
}

/** Under tsx the worker is TypeScript: a small bootstrap registers tsx's loader in the worker first. */
function createWorker(): Worker {
  const self = import.meta.url;
  if (!self.endsWith(".ts")) return new Worker(new URL("./pesq-batch-worker.js", self));
  const entry = new URL("./pesq-batch-worker.ts", self).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`));
}

/**
 * Scores pairs on worker threads, one pair at a time per thread, results in input order. A pair
 * that fails with a QoelabError becomes a failure row; anything else rejects the batch.
 */
export async function pesqBatch(
  pairs: PesqPair[],
  options: PesqBatchOptions = {},
): Promise<Array<PesqFileResult | PesqBatchFailure>> {
  const mode = options.mode ?? "nb";
  const results = new Array<PesqFileResult | PesqBatchFailure>(pairs.length);
  if (pairs.length === 0) return results;
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), pairs.length));
  let next = 0;
  let done = 0;
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const feed = (worker: Worker) => {
        if (next >= pairs.length) {
          if (done === pairs.length) resolve();
          return;
        }
        const index = next++;
        const pair = pairs[index]!;
        const job: PesqBatchJob = {
          index,
          reference: pair.reference,
          degraded: pair.degraded,
          mode,
          rate: pair.rate ?? options.rate,
        };
        worker.postMessage(job);
      };
      for (let t = 0; t < threads; t++) {
        const worker = createWorker();
        workers.push(worker);
        worker.on("message", (answer: PesqBatchAnswer) => {
          const pair = pairs[answer.index]!;
          results[answer.index] =
            "result" in answer
              ? answer.result
              : {
                  reference: pair.reference,
                  degraded: pair.degraded,
                  code: answer.failure.code,
                  error: answer.failure.message,
                };
          done++;
          options.onProgress?.(done, pairs.length, pair);
          if (done === pairs.length) resolve();
          else feed(worker);
        });
        worker.on("error", (error) =>
          reject(new QoelabError("PESQ_WORKER_FAILED", `PESQ batch worker failed: ${error.message}`, {})),
        );
        feed(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return results;
}
