/**
 * One direction of a link emulator, on its own thread and event loop: reads packets from the near TUN
 * (epoll via uv_poll), runs them through the DirectionPipeline, writes them to the far TUN when due
 * (timerfd deadlines in µs). Started by link-emulator-main.ts; talks to it through messages only.
 */
import { parentPort, workerData } from "node:worker_threads";
import { errnoName, loadTunAddon, type WatchHandle } from "./link-emulator-addon.ts";
import { DirectionPipeline, type PipelineCounters } from "./link-emulator-pipeline.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";

export interface WorkerConfig {
  name: string;
  fdIn: number;
  fdOut: number;
  spec: DirectionSpec;
  seed: number;
  epochUs: number;
  log: boolean;
  slots?: number;
  /** Wake this many µs early and spin to the deadline (0: trust the timerfd). */
  spinUs?: number;
  /** SCHED_FIFO priority of the thread (0: normal). */
  realtime?: number;
}

export type WorkerMessage =
  | { type: "ready"; realtime: boolean }
  | { type: "log"; rows: number; buffer: ArrayBuffer }
  | { type: "done"; counters: PipelineCounters }
  | { type: "error"; message: string };

const config = workerData as WorkerConfig;
const port = parentPort;
if (!port) throw new Error("link-emulator-worker.ts runs as a worker thread");
const tun = loadTunAddon();
tun.setTimerSlack(1);
// Real-time priority keeps deadlines when the machine is loaded; the thread only spins ≤ spinUs at a time.
const realtime = config.realtime ? tun.setRealtime(config.realtime) : 0;
const { fdIn, fdOut } = config;
const spinUs = config.spinUs ?? 0;

let pool: Uint8Array;
const pipeline = new DirectionPipeline(
  config.spec,
  config.seed,
  (offsets, lengths, count) => tun.writeBatch(fdOut, pool, offsets, lengths, count),
  () => tun.nowUs(),
  {
    slots: config.slots ?? 8192,
    epochUs: config.epochUs,
    ...(config.log
      ? {
          onLog: (chunk: Float64Array, rows: number) => {
            port.postMessage({ type: "log", rows, buffer: chunk.buffer as ArrayBuffer } satisfies WorkerMessage, [
              chunk.buffer as ArrayBuffer,
            ]);
          },
        }
      : {}),
  },
);
pool = pipeline.pool;

let armedAt = 0;
let stopped = false;

function arm(next: number): void {
  if (next === Number.POSITIVE_INFINITY) {
    if (armedAt !== 0) tun.timerArm(timer, 0);
    armedAt = 0;
    return;
  }
  if (next === armedAt) return;
  armedAt = next;
  tun.timerArm(timer, next - spinUs);
}

function onTimer(): void {
  if (stopped) return;
  const target = armedAt;
  armedAt = 0;
  let now = tun.nowUs();
  if (spinUs > 0) while (now < target) now = tun.nowUs();
  arm(pipeline.advance(now));
}

function onReadable(): void {
  if (stopped) return;
  pipeline.advance(tun.nowUs());
  for (let round = 0; round < 4; round++) {
    const max = pipeline.prepareRead();
    const n = tun.readBatch(fdIn, pipeline.pool, pipeline.slotSize, pipeline.readSlots, pipeline.readLengths, max);
    if (n < 0) {
      fail(`read from the TUN failed: ${errnoName(n)} (${tun.strerror(n)})`);
      return;
    }
    if (n === 0) break;
    pipeline.arrive(n, tun.nowUs());
    if (n < max) break;
  }
  arm(pipeline.advance(tun.nowUs()));
}

const timer: WatchHandle = tun.timer(onTimer);
const watch: WatchHandle = tun.watch(fdIn, onReadable);

function stop(): void {
  if (stopped) return;
  stopped = true;
  tun.unwatch(watch);
  tun.unwatch(timer);
  pipeline.stop(tun.nowUs());
  port?.postMessage({ type: "done", counters: pipeline.counters } satisfies WorkerMessage);
  port?.close();
}

function fail(message: string): void {
  port?.postMessage({ type: "error", message } satisfies WorkerMessage);
  stop();
}

port.on("message", (m: { type: string }) => {
  if (m.type === "stop") stop();
});
port.postMessage({ type: "ready", realtime: realtime === 0 } satisfies WorkerMessage);
