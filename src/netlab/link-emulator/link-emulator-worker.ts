/**
 * One direction of a link emulator, on its own thread and event loop: reads packets from the near TUN
 * (epoll via uv_poll), runs them through the DirectionPipeline, and hands each, with its departure
 * time, to the addon's release thread, which writes it to the far TUN when due (timerfd deadlines in
 * µs, SCHED_FIFO). When every delay of this direction is long, the near TUN is read instead by the
 * other direction's release thread (it writes there, and the stack's answers arrive during its writes):
 * it stamps each packet and wakes this loop at most every arrivalWindowUs with a batch, which saves a
 * wake-up per packet. When, moreover, the spec needs no random draw (constant delay, constant-rate FIFO,
 * droptail), that thread decides each packet itself and hands it to this direction's release thread;
 * this loop then only collects log rows. Started by link-emulator-main.ts; talks to it through messages only.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  errnoName,
  loadTunAddon,
  type ReaderHandle,
  type SenderHandle,
  type WatchHandle,
} from "./link-emulator-addon.ts";
import { DirectionPipeline, LOG_STRIDE, type PipelineCounters } from "./link-emulator-pipeline.ts";
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
  /** The release thread wakes this many µs early and spins to the deadline (0: trust the timerfd). */
  spinUs?: number;
  /** SCHED_FIFO priority of this thread; the release thread gets one more (0: normal). */
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
// Real-time priority keeps arrival times and server completions prompt when the machine is loaded.
const realtime = config.realtime ? tun.setRealtime(config.realtime) : 0;
const { fdIn, fdOut } = config;

let sender: SenderHandle;
const pipeline = new DirectionPipeline(
  config.spec,
  config.seed,
  (slots, lengths, due, count) => tun.senderSchedule(sender, slots, lengths, due, count),
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
sender = tun.sender(
  fdOut,
  pipeline.pool,
  pipeline.slotSize,
  config.realtime ? config.realtime + 1 : 0,
  config.spinUs ?? 0,
);

const doneSlots = new Int32Array(1024);
const doneResults = new Int32Array(1024);
const doneAt = new Float64Array(1024);

/** Takes back the slots of packets the release thread has written (and logs them). */
function drain(): void {
  for (;;) {
    const n = tun.senderDrain(sender, doneSlots, doneResults, doneAt);
    pipeline.complete(doneSlots, doneResults, doneAt, n);
    if (n < doneSlots.length) return;
  }
}

let armedAt = 0;
let stopped = false;

function arm(next: number): void {
  if (next === Number.POSITIVE_INFINITY) {
    if (armedAt !== 0) tun.timerArm(timer, 0);
    armedAt = 0;
    return;
  }
  // Already set to wake no later: keep it (an early wake-up only re-arms), saving a syscall per arrival.
  if (armedAt !== 0 && armedAt <= next) return;
  armedAt = next;
  tun.timerArm(timer, next);
}

function onTimer(): void {
  if (stopped) return;
  armedAt = 0;
  drain();
  // Arrivals staged before now come first: the server's completions must not overtake them.
  takeStaged();
  arm(pipeline.advance(tun.nowUs()));
}

function onReadable(): void {
  if (stopped) return;
  drain();
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

/** Decides the packets the other release thread staged, each at its own arrival stamp. */
function takeStaged(): void {
  if (!reader || fast) return;
  for (;;) {
    const max = pipeline.prepareRead();
    const n = tun.readerDrain(
      reader,
      pipeline.pool,
      pipeline.slotSize,
      pipeline.readSlots,
      pipeline.readLengths,
      pipeline.readStamps,
      max,
    );
    if (n === 0) return;
    pipeline.arriveStamped(n);
    if (n < max) return;
  }
}

function onStaged(): void {
  if (stopped) return;
  drain();
  takeStaged();
  arm(pipeline.advance(tun.nowUs()));
}

const logRows = new Float64Array(4096 * LOG_STRIDE);

/** Collects the log rows of packets decided in C. */
function takeLog(): void {
  if (!reader) return;
  for (;;) {
    const n = tun.readerLog(reader, logRows);
    pipeline.recordRows(logRows, n);
    if (n < logRows.length / LOG_STRIDE) return;
  }
}

function onLog(): void {
  if (!stopped) takeLog();
}

const timer: WatchHandle = tun.timer(onTimer);
const fast = pipeline.decidedInC;
const reader: ReaderHandle | undefined = fast
  ? tun.readerFast(fdIn, sender, fast, 1 << 16)
  : pipeline.arrivalWindowUs > 0
    ? tun.reader(fdIn, pipeline.arrivalWindowUs, 1024, pipeline.slotSize)
    : undefined;
const watch: WatchHandle = reader
  ? tun.watch(tun.readerEventFd(reader), fast ? onLog : onStaged)
  : tun.watch(fdIn, onReadable);

function stop(): void {
  if (stopped) return;
  stopped = true;
  tun.unwatch(watch);
  tun.unwatch(timer);
  if (reader) {
    // What was staged arrived: it is decided (and counted in flight at stop) like any arrival.
    tun.readerStop(reader);
    if (!fast) {
      takeStaged();
      pipeline.advance(tun.nowUs());
    }
  }
  const unsent = new Int32Array(pipeline.pool.length / pipeline.slotSize);
  const count = tun.senderStop(sender, unsent);
  drain();
  if (fast) {
    // Decided in C, logged in C (in flight at stop too, by senderStop).
    takeLog();
    const lost = tun.senderInfo(sender)[3];
    if (lost > 0) port?.postMessage({ type: "error", message: `${lost} packet log rows lost (log full)` });
  }
  pipeline.stop(tun.nowUs(), unsent, count);
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
port.postMessage({
  type: "ready",
  realtime: realtime === 0 && tun.senderInfo(sender)[0] === 1,
} satisfies WorkerMessage);
