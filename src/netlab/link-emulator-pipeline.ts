import { createLossModel, type LossModel, Random } from "../generator/index.ts";
import { CorrelatedChance, DelayModel } from "./link-emulator-delay.ts";
import { PacketQueue } from "./link-emulator-queue.ts";
import { ConstantRate, parseTrace, type RateModel, TraceRate } from "./link-emulator-rate.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";

/*
 * One direction of the emulated link, as a discrete-event model driven by the real clock:
 *
 *   arrival ─► loss model ─► duplicate/corrupt ─► queue (droptail/drophead, CoDel) ─► rate server
 *           ─► delay line (delay + jitter, reorder skips it) ─► write to the far TUN
 *
 * The server and the delay line keep virtual times (a packet's departure is computed from the previous
 * one's, not from when we woke up), so a late wake-up shifts no later packet. Every random decision has
 * its own seeded stream: enabling duplication does not change which packets the loss model drops.
 * Packets live in one preallocated pool of slots; nothing is allocated per packet.
 */

export const FATE_DELIVERED = 0;
export const FATE_LOSS_MODEL = 1;
export const FATE_NO_BUFFER = 5;
export const FATE_WRITE_FAILED = 6;
export const FATE_STOPPED = 7;
export const FLAG_DUPLICATE = 8;
export const FLAG_REORDERED = 16;
export const FLAG_CORRUPTED = 32;

export const FATE_NAMES: readonly string[] = [
  "delivered",
  "loss-model",
  "queue-full",
  "queue-head-drop",
  "codel",
  "no-buffer",
  "write-failed",
  "in-flight-at-stop",
];

/** Log record layout (Float64 fields). */
export const LOG_STRIDE = 6;
export const LOG_SEQ = 0;
export const LOG_ARRIVAL = 1;
export const LOG_SCHEDULED = 2;
export const LOG_DEPARTURE = 3;
export const LOG_SIZE = 4;
export const LOG_CODE = 5;

export interface PipelineOptions {
  /** Packet buffers (default 8192). */
  slots?: number;
  /** Bytes per buffer ≥ the TUN MTU (default 2048). */
  slotSize?: number;
  /** Rows per log chunk handed to `onLog` (default 4096); no log when onLog is absent. */
  logChunkRows?: number;
  onLog?: (chunk: Float64Array, rows: number) => void;
  /** µs subtracted from every logged time (the emulator's epoch). */
  epochUs?: number;
}

export interface PipelineCounters {
  arrived: number;
  delivered: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  dropped: number[];
}

/** Writes `count` packets (pool offsets and lengths); returns how many were written. */
export type BatchWriter = (offsets: Int32Array, lengths: Int32Array, count: number) => number;

const READ_BATCH = 64;

export class DirectionPipeline {
  readonly slotSize: number;
  readonly pool: Uint8Array;
  /** Slots to read the next batch into (filled by prepareRead). */
  readonly readSlots = new Int32Array(READ_BATCH);
  readonly readLengths = new Int32Array(READ_BATCH);
  private readonly slotCount: number;
  private readonly free: Int32Array;
  private freeCount: number;
  private readonly lengths: Int32Array;
  private readonly arrivals: Float64Array;
  private readonly seqs: Float64Array;
  private readonly flags: Uint8Array;
  private readonly scheduled: Float64Array;
  private nextSeq = 0;

  private readonly loss: LossModel;
  private readonly duplicate: CorrelatedChance;
  private readonly corrupt: CorrelatedChance;
  private readonly corruptRng: Random;
  private readonly reorder: CorrelatedChance;
  private readonly delay: DelayModel;
  private readonly hasDelay: boolean;
  private readonly rate: RateModel | undefined;
  private readonly queue: PacketQueue;
  private serverSlot = -1;
  private serverDone = 0;

  // Delay line: binary heap of slots ordered by (scheduled time, seq).
  private readonly heap: Int32Array;
  private heapSize = 0;
  private readonly outOffsets = new Int32Array(READ_BATCH);
  private readonly outLengths = new Int32Array(READ_BATCH);
  private readonly outSlots = new Int32Array(READ_BATCH);

  private log: Float64Array | undefined;
  private logRows = 0;
  private readonly logChunkRows: number;
  private readonly epochUs: number;
  readonly counters: PipelineCounters = {
    arrived: 0,
    delivered: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    dropped: [0, 0, 0, 0, 0, 0, 0, 0],
  };

  constructor(
    spec: DirectionSpec,
    seed: number,
    private readonly writer: BatchWriter,
    private readonly clock: () => number,
    private readonly options: PipelineOptions = {},
  ) {
    this.slotCount = options.slots ?? 8192;
    this.slotSize = options.slotSize ?? 2048;
    // READ_BATCH extra slots: where packets land when the pool is full, to be dropped as no-buffer.
    const total = this.slotCount + READ_BATCH;
    this.pool = new Uint8Array(total * this.slotSize);
    this.free = new Int32Array(this.slotCount);
    for (let i = 0; i < this.slotCount; i++) this.free[i] = this.slotCount - 1 - i;
    this.freeCount = this.slotCount;
    this.lengths = new Int32Array(total);
    this.arrivals = new Float64Array(total);
    this.seqs = new Float64Array(total);
    this.flags = new Uint8Array(total);
    this.scheduled = new Float64Array(total);
    this.heap = new Int32Array(this.slotCount);
    const stream = (n: number) => new Random((seed * 16 + n) % 0x1fffffffffffff);
    this.loss = createLossModel(spec.loss ?? { kind: "none" }, stream(1));
    this.duplicate = new CorrelatedChance(stream(2), spec.duplicate ?? 0, spec.duplicateCorrelation ?? 0);
    this.corruptRng = stream(3);
    this.corrupt = new CorrelatedChance(this.corruptRng, spec.corrupt ?? 0);
    this.reorder = new CorrelatedChance(stream(4), spec.reorder ?? 0, spec.reorderCorrelation ?? 0);
    this.delay = new DelayModel(stream(5), spec.delay ?? 0, spec.jitter ?? 0, spec.delayDist, spec.delayCorrelation);
    this.hasDelay = (spec.delay ?? 0) > 0 || (spec.jitter ?? 0) > 0;
    if (spec.trace) this.rate = new TraceRate(parseTrace(spec.trace.text, spec.trace.name));
    else if (spec.rate !== undefined) this.rate = new ConstantRate(spec.rate);
    this.queue = new PacketQueue(this.slotCount, this.lengths, this.arrivals, spec.queue, (slot, reason, now) =>
      this.drop(slot, reason, now),
    );
    this.logChunkRows = options.logChunkRows ?? 4096;
    this.epochUs = options.epochUs ?? 0;
    if (options.onLog) this.log = new Float64Array(this.logChunkRows * LOG_STRIDE);
  }

  /** Fills readSlots with buffers for the next read; returns how many packets may be read. */
  prepareRead(): number {
    for (let i = 0; i < READ_BATCH; i++) {
      this.readSlots[i] = i < this.freeCount ? (this.free[this.freeCount - 1 - i] as number) : this.slotCount + i;
    }
    return READ_BATCH;
  }

  /** Takes the `count` packets just read into readSlots, all arrived at `nowUs`. */
  arrive(count: number, nowUs: number): void {
    // Claim the pool slots that were used (prepareRead handed them out from the top of the free stack).
    const fromPool = Math.min(count, this.freeCount);
    this.freeCount -= fromPool;
    for (let i = 0; i < count; i++) {
      const slot = this.readSlots[i] as number;
      const len = this.readLengths[i] as number;
      this.lengths[slot] = len;
      this.arrivals[slot] = nowUs;
      this.seqs[slot] = this.nextSeq++;
      this.flags[slot] = 0;
      this.counters.arrived++;
      if (slot >= this.slotCount) {
        this.drop(slot, FATE_NO_BUFFER, nowUs);
        continue;
      }
      if (this.loss.lose()) {
        this.drop(slot, FATE_LOSS_MODEL, nowUs);
        continue;
      }
      if (this.duplicate.next() && this.freeCount > 0) {
        const copy = this.free[--this.freeCount] as number;
        this.pool.copyWithin(copy * this.slotSize, slot * this.slotSize, slot * this.slotSize + len);
        this.lengths[copy] = len;
        this.arrivals[copy] = nowUs;
        this.seqs[copy] = this.seqs[slot] as number;
        this.flags[copy] = FLAG_DUPLICATE;
        this.counters.duplicated++;
        this.enter(slot, nowUs);
        this.enter(copy, nowUs);
      } else {
        this.enter(slot, nowUs);
      }
    }
  }

  private enter(slot: number, nowUs: number): void {
    const len = this.lengths[slot] as number;
    if (len > 0 && this.corrupt.next()) {
      const bit = this.corruptRng.int(len * 8);
      const at = slot * this.slotSize + (bit >> 3);
      this.pool[at] = (this.pool[at] as number) ^ (1 << (bit & 7));
      this.flags[slot] = (this.flags[slot] as number) | FLAG_CORRUPTED;
      this.counters.corrupted++;
    }
    if (!this.rate) {
      this.toDelayLine(slot, nowUs);
      return;
    }
    this.queue.admit(slot, nowUs);
    if (this.serverSlot < 0) this.startService(nowUs);
  }

  private startService(atUs: number): void {
    const slot = this.queue.dequeue(atUs);
    if (slot < 0) return;
    this.serverSlot = slot;
    // Rate models (traces) keep time from the emulator's epoch.
    this.serverDone = this.epochUs + (this.rate as RateModel).serve(atUs - this.epochUs, this.lengths[slot] as number);
  }

  private toDelayLine(slot: number, atUs: number): void {
    let due = atUs;
    if (this.hasDelay) {
      if (this.reorder.next()) {
        this.flags[slot] = (this.flags[slot] as number) | FLAG_REORDERED;
        this.counters.reordered++;
      } else {
        due = atUs + this.delay.drawUs();
      }
    }
    this.scheduled[slot] = due;
    this.heapPush(slot);
  }

  /** Runs everything due by `nowUs` (server completions, releases); returns the next event time (µs) or Infinity. */
  advance(nowUs: number): number {
    for (;;) {
      while (this.serverSlot >= 0 && this.serverDone <= nowUs) {
        const slot = this.serverSlot;
        const done = this.serverDone;
        this.serverSlot = -1;
        this.toDelayLine(slot, done);
        this.startService(done);
      }
      this.release(nowUs);
      const next = this.nextEvent();
      if (next > nowUs) return next;
      nowUs = this.clock();
    }
  }

  nextEvent(): number {
    let next = Number.POSITIVE_INFINITY;
    if (this.serverSlot >= 0) next = this.serverDone;
    if (this.heapSize > 0) {
      const due = this.scheduled[this.heap[0] as number] as number;
      if (due < next) next = due;
    }
    return next;
  }

  private release(nowUs: number): void {
    while (this.heapSize > 0 && (this.scheduled[this.heap[0] as number] as number) <= nowUs) {
      let n = 0;
      while (n < READ_BATCH && this.heapSize > 0 && (this.scheduled[this.heap[0] as number] as number) <= nowUs) {
        const slot = this.heapPop();
        this.outSlots[n] = slot;
        this.outOffsets[n] = slot * this.slotSize;
        this.outLengths[n] = this.lengths[slot] as number;
        n++;
      }
      const at = this.clock();
      const written = this.writer(this.outOffsets, this.outLengths, n);
      for (let i = 0; i < n; i++) {
        const slot = this.outSlots[i] as number;
        if (i < written) {
          this.counters.delivered++;
          this.record(slot, at, FATE_DELIVERED);
          this.free[this.freeCount++] = slot;
        } else {
          this.drop(slot, FATE_WRITE_FAILED, at);
        }
      }
    }
  }

  private drop(slot: number, reason: number, nowUs: number): void {
    this.counters.dropped[reason] = (this.counters.dropped[reason] ?? 0) + 1;
    this.scheduled[slot] = -1;
    this.record(slot, nowUs, reason);
    if (slot < this.slotCount) this.free[this.freeCount++] = slot;
  }

  private record(slot: number, departureUs: number, fate: number): void {
    const log = this.log;
    if (!log) return;
    const at = this.logRows * LOG_STRIDE;
    const delivered = fate === FATE_DELIVERED;
    log[at + LOG_SEQ] = this.seqs[slot] as number;
    log[at + LOG_ARRIVAL] = (this.arrivals[slot] as number) - this.epochUs;
    log[at + LOG_SCHEDULED] = delivered ? (this.scheduled[slot] as number) - this.epochUs : -1;
    log[at + LOG_DEPARTURE] = delivered ? departureUs - this.epochUs : -1;
    log[at + LOG_SIZE] = this.lengths[slot] as number;
    log[at + LOG_CODE] = fate | (this.flags[slot] as number);
    if (++this.logRows === this.logChunkRows) this.flushLog();
  }

  /** Hands the rows logged so far to onLog. */
  flushLog(): void {
    if (!this.log || this.logRows === 0) return;
    this.options.onLog?.(this.log, this.logRows);
    this.log = new Float64Array(this.logChunkRows * LOG_STRIDE);
    this.logRows = 0;
  }

  /** Drops what is still queued or in flight (logged as in-flight-at-stop) and flushes the log. */
  stop(nowUs: number): void {
    if (this.serverSlot >= 0) {
      this.drop(this.serverSlot, FATE_STOPPED, nowUs);
      this.serverSlot = -1;
    }
    for (let slot = this.queue.dequeue(nowUs); slot >= 0; slot = this.queue.dequeue(nowUs)) {
      this.drop(slot, FATE_STOPPED, nowUs);
    }
    while (this.heapSize > 0) this.drop(this.heapPop(), FATE_STOPPED, nowUs);
    this.flushLog();
  }

  private before(a: number, b: number): boolean {
    const da = this.scheduled[a] as number;
    const db = this.scheduled[b] as number;
    return da < db || (da === db && (this.seqs[a] as number) < (this.seqs[b] as number));
  }

  private heapPush(slot: number): void {
    const heap = this.heap;
    let i = this.heapSize++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as number;
      if (!this.before(slot, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = slot;
  }

  private heapPop(): number {
    const heap = this.heap;
    const top = heap[0] as number;
    const last = heap[--this.heapSize] as number;
    const n = this.heapSize;
    let i = 0;
    if (n > 0) {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let m = l;
        if (r < n && this.before(heap[r] as number, heap[l] as number)) m = r;
        if (!this.before(heap[m] as number, last)) break;
        heap[i] = heap[m] as number;
        i = m;
      }
      heap[i] = last;
    }
    return top;
  }
}
