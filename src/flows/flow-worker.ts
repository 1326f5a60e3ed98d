/** Worker-thread entry: analyses one flow-hash shard of a file and posts the partial result. */
import { parentPort, workerData } from "node:worker_threads";
import { isQoelabError } from "../errors.ts";
import { analyzeShard, compileFilterExpression, type WorkerJob } from "./analyze.ts";

const job = workerData as WorkerJob;
const port = parentPort!;
try {
  const filter = job.filter !== null ? await compileFilterExpression(job.filter) : undefined;
  const result = await analyzeShard(
    job.path,
    { ...job.options, shard: job.shard, ...(filter ? { filter } : {}) },
    (bytes) => port.postMessage({ type: "progress", bytes }),
  );
  port.postMessage({ type: "result", result });
} catch (error) {
  const e = isQoelabError(error)
    ? { code: error.code, message: error.message, details: { ...error.details } }
    : { code: "FLOWS_WORKER_FAILED", message: (error as Error).message ?? String(error), details: {} };
  port.postMessage({ type: "error", error: e });
}
