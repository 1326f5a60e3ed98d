/** Worker-thread entry of pesqBatch: scores one pair per message. */
import { parentPort } from "node:worker_threads";
import { isQoelabError } from "../../errors.ts";
import type { PesqBatchAnswer, PesqBatchJob } from "./pesq-batch.ts";
import { pesqFiles } from "./pesq-files.ts";

const port = parentPort!;
port.on("message", async (job: PesqBatchJob) => {
  let answer: PesqBatchAnswer;
  try {
    const result = await pesqFiles(job.reference, job.degraded, { mode: job.mode, rate: job.rate });
    answer = { index: job.index, result };
  } catch (error) {
    if (!isQoelabError(error)) throw error;
    answer = { index: job.index, failure: { code: error.code, message: error.message } };
  }
  port.postMessage(answer);
});
