/** Worker-thread entry: runs the flow engine on one hash shard's packets from the reader's ring. */
import { parentPort, workerData } from "node:worker_threads";
import { isQoelabError } from "../errors.ts";
import type { WorkerJob } from "./analyze.ts";
import { consumeRing, RingProducerAborted, RingStatus } from "./packet-ring.ts";
import { createShardEngine } from "./shard-engine.ts";

const job = workerData as WorkerJob;
const port = parentPort!;
try {
  const engine = createShardEngine(job.options);
  port.postMessage({ type: "ready" });
  consumeRing(job.ring, {
    base: (tsSec, tsNsec) => engine.setBase(tsSec, tsNsec),
    sweep: (tsSec, tsNsec) => engine.sweepAt(tsSec, tsNsec),
    packet: (p) => engine.accept(p),
  });
  port.postMessage({ type: "result", result: engine.finishPartial() });
} catch (error) {
  // Unblock the reader first (it may be waiting for a free slot), then report.
  const control = new Int32Array(job.ring.control);
  Atomics.store(control, job.ring.slots, RingStatus.CONSUMER_FAILED);
  for (let s = 0; s < job.ring.slots; s++) Atomics.notify(control, s);
  const e =
    error instanceof RingProducerAborted
      ? { code: "FLOWS_WORKER_ABORTED", message: `flow worker ${job.index}: ${error.message}`, details: {} }
      : isQoelabError(error)
        ? { code: error.code, message: error.message, details: { ...error.details } }
        : { code: "FLOWS_WORKER_FAILED", message: (error as Error).message ?? String(error), details: {} };
  port.postMessage({ type: "error", error: e });
}
