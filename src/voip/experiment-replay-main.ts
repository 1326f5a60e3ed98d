/**
 * Process entry that replays one captured RTP stream from inside a lab host (the experiment's
 * `--replay` mode runs it in the caller's namespace):
 *   node experiment-replay-main.ts '<ReplayJob JSON>'
 * Prints the ReplayResult as one JSON line on stdout; errors as {"error":{code,message}}.
 */
import { isQoelabError } from "../errors.ts";
import { type LossModelSpec, readReplaySource, replayCapture } from "../generator/index.ts";

export interface ReplayJob {
  capture: string;
  ssrc?: number;
  host: string;
  port: number;
  loss?: LossModelSpec;
  seed?: number;
}

const job = JSON.parse(process.argv[2] ?? "{}") as ReplayJob;
try {
  const source = await readReplaySource(job.capture, job.ssrc !== undefined ? { ssrc: job.ssrc } : {});
  const result = await replayCapture({
    source,
    host: job.host,
    port: job.port,
    ...(job.loss ? { loss: job.loss } : {}),
    ...(job.seed !== undefined ? { seed: job.seed } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
} catch (error) {
  const e = isQoelabError(error)
    ? { code: error.code, message: error.message }
    : { code: "REPLAY_FAILED", message: String(error) };
  process.stdout.write(`${JSON.stringify({ error: e })}\n`);
  process.exitCode = 1;
}
