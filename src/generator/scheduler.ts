import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Deadline scheduling: sleep on a timer until shortly before each deadline, then spin on the
 * monotonic clock until it passes. Node's timers alone are late by up to a millisecond or more;
 * the spin brings the error to microseconds at the cost of `spinMs` of CPU per event.
 * Deadlines are absolute (start + Σ intervals), so errors never accumulate into drift.
 */

export interface TimingReport {
  events: number;
  /** Mean |actual − scheduled| (ms). */
  meanErrorMs: number;
  /** 99th percentile of |actual − scheduled| (ms). */
  p99ErrorMs: number;
  maxErrorMs: number;
  /** (last actual − first actual) − (last scheduled − first scheduled), ms. */
  driftMs: number;
  /** Wall time from the first deadline to the last event, s. */
  elapsedS: number;
}

export interface ScheduleOptions {
  /** Number of events; Infinity with `durationMs` to run for a time. */
  count: number;
  durationMs?: number;
  /** Next interval (ms) between deadlines; called once per event after the first. */
  nextIntervalMs: () => number;
  /**
   * Called at (just after) each deadline with the event index and both times (performance.now ms);
   * may return a promise (back-pressure) that is awaited before the next event.
   */
  onEvent: (index: number, scheduledMs: number, actualMs: number) => undefined | Promise<void>;
  /** Spin this long before each deadline instead of trusting the timer (default 1.5 ms). */
  spinMs?: number;
  /** Stop early when this returns true (checked at every event). */
  stopped?: () => boolean;
  /** Start time (performance.now ms); default now + 1 ms. */
  startMs?: number;
}

/** Percentile by nearest rank on a (partially filled) array; sorts a copy. */
export function percentile(values: Float64Array, n: number, q: number): number {
  if (n === 0) return 0;
  const sorted = values.slice(0, n).sort();
  const rank = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[rank] as number;
}

/** With no slack to sleep in, hand the event loop a turn this often (ms). */
const YIELD_EVERY_MS = 4;

export async function runSchedule(options: ScheduleOptions): Promise<TimingReport> {
  const spinMs = options.spinMs ?? 1.5;
  const limit = Number.isFinite(options.count) ? options.count : Number.POSITIVE_INFINITY;
  const capacity = Number.isFinite(limit) ? limit : 1 << 16;
  let errors = new Float64Array(Math.max(1, Math.min(capacity, 1 << 24)));
  const start = options.startMs ?? performance.now() + 1;
  const end = options.durationMs !== undefined ? start + options.durationMs : Number.POSITIVE_INFINITY;
  let deadline = start;
  let firstActual = 0;
  let lastActual = 0;
  let lastScheduled = start;
  let sum = 0;
  let max = 0;
  let n = 0;
  let lastYield = performance.now();
  while (n < limit && deadline <= end) {
    if (options.stopped?.()) break;
    let now = performance.now();
    const ahead = deadline - now;
    if (ahead > spinMs) {
      await sleep(ahead - spinMs);
      lastYield = performance.now();
    } else if (now - lastYield > YIELD_EVERY_MS) {
      // Behind or at line rate: let I/O, timers and signals through now and then.
      await new Promise<void>((r) => setImmediate(r));
      lastYield = performance.now();
    }
    now = performance.now();
    while (now < deadline) now = performance.now();
    const pending = options.onEvent(n, deadline, now);
    if (pending !== undefined) await pending;
    const error = now - deadline;
    if (n === 0) firstActual = now;
    lastActual = now;
    lastScheduled = deadline;
    if (n >= errors.length) {
      const grown = new Float64Array(errors.length * 2);
      grown.set(errors);
      errors = grown;
    }
    errors[n] = error;
    sum += error;
    if (error > max) max = error;
    n++;
    deadline += options.nextIntervalMs();
  }
  return {
    events: n,
    meanErrorMs: n ? sum / n : 0,
    p99ErrorMs: percentile(errors, n, 0.99),
    maxErrorMs: max,
    driftMs: n > 1 ? lastActual - firstActual - (lastScheduled - start) : 0,
    elapsedS: n ? (lastActual - start) / 1000 : 0,
  };
}
