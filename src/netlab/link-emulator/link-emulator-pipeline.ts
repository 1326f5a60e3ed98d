import { createLossModel, type LossModel, Random } from "../../generator/index.ts";
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
 *
 * A packet's departure time is final once it enters the rate server (or on arrival without a rate), so
 * it is handed to the delay line right then: the DelayLine (the addon's release thread) writes it on
 * time without this event loop waking up. The loop wakes for arrivals and for server completions only,
 * and the latter may run late by `leadUs` (when every delay is longer than that) and in batches.
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

/** Takes `count` packets (pool slots, lengths) to write each at dueUs[i]; returns how many it took. */
export type DelayLine = (slots: Int32Array, lengths: Int32Array, dueUs: Float64Array, count: number) => number;

const READ_BATCH = 64;
const OUT_BATCH = 256;

export class DirectionPipeline {
  readonly slotSize: number;
  readonly pool: Uint8Array;
  /** Slots to read the next batch into (filled by prepareRead). */
  readonly readSlots = new Int32Array(READ_BATCH);
  readonly readLengths = new Int32Array(READ_BATCH);
  /** Arrival stamps of the batch (for arriveStamped). */
  readonly readStamps = new Float64Array(READ_BATCH);
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
  /** When the server finished its last packet: a late-handled arrival starts no earlier. */
  private serverFreeUs = 0;

  /** How late a server completion may be handled without making its successor late (µs). */
  readonly leadUs: number;
  /**
   * Arrivals may wait this long (µs; up to twice as long when no release wakes the reading thread
   * sooner) before this loop decides them (0: at once): their departures follow from their stamps and
   * are ≥ the smallest delay later, so a wait well inside it changes nothing.
   */
  readonly arrivalWindowUs: number;
  /**
   * When the spec needs no random draw and the rate is a constant FIFO server: the parameters with
   * which the reading thread decides each packet itself ([delayUs, usPerByte or 0, queue limit in
   * packets, in bytes, epochUs, slots]); this loop then only collects log rows (recordRows).
   */
  readonly decidedInC: Float64Array | undefined;

  // Packets for the delay line, handed over in one call per wake-up.
  private readonly outSlots = new Int32Array(OUT_BATCH);
  private readonly outLengths = new Int32Array(OUT_BATCH);
  private readonly outDue = new Float64Array(OUT_BATCH);
  private outCount = 0;

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
    private readonly delayLine: DelayLine,
    private readonly clock: () => number,
    private readonly options: PipelineOptions = {},
  ) {
    this.slotCount = options.slots ?? 8192;
    this.epochUs = options.epochUs ?? 0;
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
    const stream = (n: number) => new Random((seed * 16 + n) % 0x1fffffffffffff);
    this.loss = createLossModel(spec.loss ?? { kind: "none" }, stream(1));
    this.duplicate = new CorrelatedChance(stream(2), spec.duplicate ?? 0, spec.duplicateCorrelation ?? 0);
    this.corruptRng = stream(3);
    this.corrupt = new CorrelatedChance(this.corruptRng, spec.corrupt ?? 0);
    this.reorder = new CorrelatedChance(stream(4), spec.reorder ?? 0, spec.reorderCorrelation ?? 0);
    this.delay = new DelayModel(stream(5), spec.delay ?? 0, spec.jitter ?? 0, spec.delayDist, spec.delayCorrelation);
    this.hasDelay = (spec.delay ?? 0) > 0 || (spec.jitter ?? 0) > 0;
    const minDelayUs = this.hasDelay && !(spec.reorder ?? 0) ? minimumDelayUs(spec) : 0;
    // Keep a margin (≥ 2 ms, a quarter of the delay) for this loop's own wake-up latency.
    this.leadUs = minDelayUs > 4000 ? minDelayUs - Math.max(2000, minDelayUs / 4) : 0;
    this.arrivalWindowUs = minDelayUs > 4000 ? Math.min(4000, minDelayUs / 8) : 0;
    if (spec.trace) this.rate = new TraceRate(parseTrace(spec.trace.text, spec.trace.name));
    else if (spec.rate !== undefined) this.rate = new ConstantRate(spec.rate);
    this.queue = new PacketQueue(this.slotCount, this.lengths, this.arrivals, spec.queue, (slot, reason, now) =>
      this.drop(slot, reason, now),
    );
    // Nothing random and a FIFO at a constant rate: every decision follows from the arrival stamp, so
    // the thread reading the TUN can make it (native/tun/fast-path.c, "decisions in C") and this loop need not wake.
    const simple =
      (spec.loss === undefined || spec.loss.kind === "none") &&
      !spec.duplicate &&
      !spec.corrupt &&
      !spec.jitter &&
      !spec.trace &&
      spec.queue?.discipline !== "drophead" &&
      spec.queue?.codel === undefined;
    if (simple && this.arrivalWindowUs > 0) {
      this.decidedInC = Float64Array.of(
        this.delay.drawUs(),
        spec.rate !== undefined ? 8e6 / spec.rate : 0,
        this.queue.limitPackets,
        this.queue.limitBytes,
        this.epochUs,
        this.slotCount,
      );
    }
    this.logChunkRows = options.logChunkRows ?? 4096;
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
    this.claimRead(count);
    for (let i = 0; i < count; i++) this.arriveOne(i, nowUs);
  }

  /**
   * Takes the `count` packets just read into readSlots, each arrived at readStamps[i] (non-decreasing,
   * possibly before the last wake-up): server completions due by each stamp run before it.
   */
  arriveStamped(count: number): void {
    this.claimRead(count);
    for (let i = 0; i < count; i++) {
      const at = this.readStamps[i] as number;
      this.completeService(at);
      this.arriveOne(i, at);
    }
  }

  /** Claims the pool slots that were used (prepareRead handed them out from the top of the free stack). */
  private claimRead(count: number): void {
    this.freeCount -= Math.min(count, this.freeCount);
  }

  private arriveOne(i: number, nowUs: number): void {
    const slot = this.readSlots[i] as number;
    const len = this.readLengths[i] as number;
    this.lengths[slot] = len;
    this.arrivals[slot] = nowUs;
    this.seqs[slot] = this.nextSeq++;
    this.flags[slot] = 0;
    this.counters.arrived++;
    if (slot >= this.slotCount) {
      this.drop(slot, FATE_NO_BUFFER, nowUs);
      return;
    }
    if (this.loss.lose()) {
      this.drop(slot, FATE_LOSS_MODEL, nowUs);
      return;
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
    if (this.serverSlot < 0) this.startService(Math.max(nowUs, this.serverFreeUs));
  }

  private startService(atUs: number): void {
    const slot = this.queue.dequeue(atUs);
    if (slot < 0) return;
    this.serverSlot = slot;
    // Rate models (traces) keep time from the emulator's epoch.
    this.serverDone = this.epochUs + (this.rate as RateModel).serve(atUs - this.epochUs, this.lengths[slot] as number);
    this.serverFreeUs = this.serverDone;
    // Its departure is decided: off to the delay line now, so its release needs no wake-up of ours.
    this.toDelayLine(slot, this.serverDone);
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
    if (this.outCount === OUT_BATCH) this.flush();
    const i = this.outCount++;
    this.outSlots[i] = slot;
    this.outLengths[i] = this.lengths[slot] as number;
    this.outDue[i] = due;
  }

  /** Hands the packets decided since the last call to the delay line (one call per wake-up). */
  flush(): void {
    const n = this.outCount;
    if (n === 0) return;
    this.outCount = 0;
    const taken = this.delayLine(this.outSlots, this.outLengths, this.outDue, n);
    if (taken < n) {
      const at = this.clock();
      for (let i = taken; i < n; i++) this.drop(this.outSlots[i] as number, FATE_WRITE_FAILED, at);
    }
  }

  /**
   * Runs the server completions due by `nowUs` and flushes; returns when it must run again (µs, or
   * Infinity): the current packet's completion, later by leadUs when delays allow.
   */
  advance(nowUs: number): number {
    this.completeService(nowUs);
    this.flush();
    return this.nextEvent();
  }

  private completeService(nowUs: number): void {
    while (this.serverSlot >= 0 && this.serverDone <= nowUs) {
      const done = this.serverDone;
      this.serverSlot = -1;
      this.startService(done);
    }
  }

  nextEvent(): number {
    return this.serverSlot >= 0 ? this.serverDone + this.leadUs : Number.POSITIVE_INFINITY;
  }

  /**
   * The delay line wrote `count` packets: slots[i] with results[i] bytes (or -errno) at atUs[i].
   * Only now do their slots return to the free list.
   */
  complete(slots: Int32Array, results: Int32Array, atUs: Float64Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const slot = slots[i] as number;
      if ((results[i] as number) >= 0) {
        this.counters.delivered++;
        this.record(slot, atUs[i] as number, FATE_DELIVERED);
        this.free[this.freeCount++] = slot;
      } else {
        this.drop(slot, FATE_WRITE_FAILED, atUs[i] as number);
      }
    }
  }

  /** Takes `count` log rows (LOG_STRIDE fields, times since the epoch) of packets decided in C. */
  recordRows(rows: Float64Array, count: number): void {
    for (let r = 0; r < count; r++) {
      const at = r * LOG_STRIDE;
      const fate = (rows[at + LOG_CODE] as number) & 7;
      this.counters.arrived++;
      if (fate === FATE_DELIVERED) this.counters.delivered++;
      else this.counters.dropped[fate] = (this.counters.dropped[fate] ?? 0) + 1;
      const log = this.log;
      if (!log) continue;
      log.set(rows.subarray(at, at + LOG_STRIDE), this.logRows * LOG_STRIDE);
      if (++this.logRows === this.logChunkRows) this.flushLog();
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

  /**
   * Drops what is still queued, and the `count` packets the delay line never wrote (`unsent`), as
   * in-flight-at-stop, and flushes the log. The packet in the server is already in the delay line.
   */
  stop(nowUs: number, unsent: Int32Array, count: number): void {
    this.serverSlot = -1;
    for (let slot = this.queue.dequeue(nowUs); slot >= 0; slot = this.queue.dequeue(nowUs)) {
      this.drop(slot, FATE_STOPPED, nowUs);
    }
    for (let i = 0; i < this.outCount; i++) this.drop(this.outSlots[i] as number, FATE_STOPPED, nowUs);
    this.outCount = 0;
    for (let i = 0; i < count; i++) this.drop(unsent[i] as number, FATE_STOPPED, nowUs);
    this.flushLog();
  }
}

/** Smallest delay (µs) the spec's delay model draws in practice (normal tails cut at 6 σ, P < 1e-9). */
function minimumDelayUs(spec: DirectionSpec): number {
  const mean = (spec.delay ?? 0) * 1e6;
  const jitter = (spec.jitter ?? 0) * 1e6;
  if (jitter === 0) return mean;
  const z = spec.delayDist === "pareto" ? 0.578 : spec.delayDist === "uniform" || !spec.delayDist ? 1 : 6;
  return Math.max(0, mean - z * jitter);
}
