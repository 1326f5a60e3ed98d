import { closeSync, openSync, writeSync } from "node:fs";
import { createLossModel, formatLossModel, type Random } from "../../generator/index.ts";
import {
  FATE_DELIVERED,
  FATE_LOSS_MODEL,
  FATE_NAMES,
  FATE_STOPPED,
  FLAG_CORRUPTED,
  FLAG_DUPLICATE,
  FLAG_REORDERED,
  LOG_ARRIVAL,
  LOG_CODE,
  LOG_DEPARTURE,
  LOG_SCHEDULED,
  LOG_SEQ,
  LOG_SIZE,
  LOG_STRIDE,
} from "./link-emulator-pipeline.ts";
import { ConstantRate, parseTrace, type RateModel, TraceRate } from "./link-emulator-rate.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";

/*
 * The per-packet log (one row per packet fate, times in µs since the emulator's epoch) and the summary
 * of what the link achieved beside what was asked.
 */

export type LogFormat = "csv" | "ndjson" | "none";

/** Rows of the binary log, sorted by arrival sequence (duplicates after their original). */
export function sortRows(records: Float64Array, rows: number): Int32Array {
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = i;
  order.sort((a, b) => {
    const d = (records[a * LOG_STRIDE + LOG_SEQ] as number) - (records[b * LOG_STRIDE + LOG_SEQ] as number);
    if (d !== 0) return d;
    return (
      ((records[a * LOG_STRIDE + LOG_CODE] as number) & FLAG_DUPLICATE) -
      ((records[b * LOG_STRIDE + LOG_CODE] as number) & FLAG_DUPLICATE)
    );
  });
  return order;
}

/** Writes the log as CSV or NDJSON (in arrival order). */
export function writePacketLog(file: string, format: LogFormat, records: Float64Array, rows: number): void {
  if (format === "none") return;
  const order = sortRows(records, rows);
  const fd = openSync(file, "w");
  try {
    const lines: string[] = [];
    if (format === "csv")
      lines.push("seq,arrival_us,scheduled_us,departure_us,size,fate,duplicate,reordered,corrupted");
    const flush = () => {
      if (lines.length > 0) writeSync(fd, `${lines.join("\n")}\n`);
      lines.length = 0;
    };
    const t = (v: number) => (v < 0 ? "" : v.toFixed(1));
    for (let k = 0; k < rows; k++) {
      const at = (order[k] as number) * LOG_STRIDE;
      const code = records[at + LOG_CODE] as number;
      const fate = FATE_NAMES[code & 7] ?? "unknown";
      const dup = (code & FLAG_DUPLICATE) !== 0;
      const reo = (code & FLAG_REORDERED) !== 0;
      const cor = (code & FLAG_CORRUPTED) !== 0;
      const seq = records[at + LOG_SEQ] as number;
      const arr = records[at + LOG_ARRIVAL] as number;
      const sch = records[at + LOG_SCHEDULED] as number;
      const dep = records[at + LOG_DEPARTURE] as number;
      const size = records[at + LOG_SIZE] as number;
      if (format === "csv") {
        lines.push(`${seq},${t(arr)},${t(sch)},${t(dep)},${size},${fate},${+dup},${+reo},${+cor}`);
      } else {
        lines.push(
          JSON.stringify({
            seq,
            arrivalUs: +arr.toFixed(1),
            scheduledUs: sch < 0 ? null : +sch.toFixed(1),
            departureUs: dep < 0 ? null : +dep.toFixed(1),
            size,
            fate,
            duplicate: dup,
            reordered: reo,
            corrupted: cor,
          }),
        );
      }
      if (lines.length >= 4096) flush();
    }
    flush();
  } finally {
    closeSync(fd);
  }
}

export interface Percentiles {
  count: number;
  min: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export function percentiles(values: Float64Array): Percentiles {
  const n = values.length;
  if (n === 0) return { count: 0, min: 0, p50: 0, p99: 0, mean: 0, max: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))] as number;
  let sum = 0;
  for (const v of sorted) sum += v;
  const r = (v: number) => +v.toFixed(4);
  return {
    count: n,
    min: r(sorted[0] as number),
    p50: r(at(0.5)),
    p99: r(at(0.99)),
    mean: r(sum / n),
    max: r(sorted[n - 1] as number),
  };
}

export interface BurstStats {
  /** Runs of consecutive lost packets. */
  bursts: number;
  meanLength: number;
  maxLength: number;
}

function bursts(lost: Uint8Array): BurstStats {
  let count = 0;
  let total = 0;
  let max = 0;
  let run = 0;
  for (let i = 0; i <= lost.length; i++) {
    if (i < lost.length && lost[i]) {
      run++;
      continue;
    }
    if (run > 0) {
      count++;
      total += run;
      if (run > max) max = run;
    }
    run = 0;
  }
  return { bursts: count, meanLength: count ? +(total / count).toFixed(4) : 0, maxLength: max };
}

export interface AskedConditions {
  delayMs: number;
  jitterMs: number;
  delayDist?: string;
  loss: string;
  /** Long-run loss of the loss model. */
  lossRate: number;
  /** Mean loss-burst length the model implies (Bernoulli and simple Gilbert only). */
  meanBurstLength?: number;
  reorder?: number;
  duplicate?: number;
  corrupt?: number;
  rateMbps?: number;
  trace?: string;
  queue: string;
}

export interface WindowRate {
  startMs: number;
  mbps: number;
  askedMbps?: number;
  /**
   * Of `askedMbps`, what the link offered while it had no packet to send (queue empty, server idle):
   * the sender's shortfall, not the link's. Absent where service times cannot be told from the log
   * (jitter, reordering).
   */
  idleMbps?: number;
}

/**
 * Per window, the capacity offered while the rate server was idle for want of packets: between one
 * packet's service end (its scheduled departure less the constant delay) and the next arrival.
 */
function idleOfferedBytes(
  spec: DirectionSpec,
  rate: RateModel,
  records: Float64Array,
  rows: number,
  windowUs: number,
  windows: number,
): number[] | undefined {
  if (spec.jitter || spec.reorder) return undefined;
  const delayUs = (spec.delay ?? 0) * 1e6;
  const served: Array<[number, number]> = [];
  for (let i = 0; i < rows; i++) {
    const at = i * LOG_STRIDE;
    if (((records[at + LOG_CODE] as number) & 7) !== FATE_DELIVERED) continue;
    served.push([records[at + LOG_ARRIVAL] as number, (records[at + LOG_SCHEDULED] as number) - delayUs]);
  }
  served.sort((a, b) => a[1] - b[1]);
  const before = (tUs: number) => rate.offeredBytesBefore(tUs);
  const idle = new Array<number>(windows).fill(0);
  const addIdle = (from: number, to: number) => {
    for (let w = Math.max(0, Math.floor(from / windowUs)); w < windows && w * windowUs < to; w++) {
      const a = Math.max(from, w * windowUs);
      const b = Math.min(to, (w + 1) * windowUs);
      if (b > a) idle[w] = (idle[w] as number) + before(b) - before(a);
    }
  };
  let free = 0;
  for (const [arrival, end] of served) {
    // The opportunity at `free` carried the last packet (times are whole µs, the log's are not exact).
    if (arrival > free) addIdle(free + 0.5, arrival);
    free = Math.max(free, end);
  }
  addIdle(free + 0.5, windows * windowUs);
  return idle;
}

export interface DirectionSummary {
  name: string;
  asked: AskedConditions;
  achieved: {
    packets: number;
    bytes: number;
    delivered: number;
    deliveredBytes: number;
    duplicatesDelivered: number;
    drops: Record<string, number>;
    /** Fraction of arriving packets that never left (duplicates not counted). */
    lossRate: number;
    /** Fraction dropped by the loss model alone. */
    lossModelRate: number;
    lossBursts: BurstStats;
    lossModelBursts: BurstStats;
    /** Departure − arrival of delivered packets, ms. */
    delayMs: Percentiles;
    /** Actual − scheduled departure, µs (how late the emulator wrote). */
    timingErrorUs: Percentiles;
    rate: { windowMs: number; meanMbps: number; windows: WindowRate[] };
  };
}

function askedOf(spec: DirectionSpec, rate: RateModel | undefined): AskedConditions {
  const loss = spec.loss ?? { kind: "none" as const };
  const lossRate = createLossModel(loss, null as unknown as Random).stationaryLoss();
  let meanBurstLength: number | undefined;
  if (loss.kind === "bernoulli" && loss.p < 1) meanBurstLength = 1 / (1 - loss.p);
  if (loss.kind === "gilbert" && loss.lossGood === 0 && loss.lossBad === 1 && loss.r > 0) meanBurstLength = 1 / loss.r;
  const q = spec.queue;
  const queue = `${q?.discipline ?? "droptail"} ${q?.bytes !== undefined ? `${q.bytes} bytes` : `${q?.packets ?? 1000} packets`}${q?.codel ? " + codel" : ""}`;
  return {
    delayMs: (spec.delay ?? 0) * 1e3,
    jitterMs: (spec.jitter ?? 0) * 1e3,
    ...(spec.jitter ? { delayDist: spec.delayDist ?? "uniform" } : {}),
    loss: formatLossModel(loss),
    lossRate,
    ...(meanBurstLength !== undefined ? { meanBurstLength: +meanBurstLength.toFixed(4) } : {}),
    ...(spec.reorder ? { reorder: spec.reorder } : {}),
    ...(spec.duplicate ? { duplicate: spec.duplicate } : {}),
    ...(spec.corrupt ? { corrupt: spec.corrupt } : {}),
    ...(rate instanceof ConstantRate ? { rateMbps: (spec.rate ?? 0) / 1e6 } : {}),
    ...(spec.trace ? { trace: spec.trace.name ?? "trace" } : {}),
    queue: rate ? queue : "none (no rate limit)",
  };
}

/** Summary of one direction from its binary log. */
export function summarizeDirection(
  name: string,
  spec: DirectionSpec,
  records: Float64Array,
  rows: number,
  windowMs = 500,
): DirectionSummary {
  const rate = spec.trace
    ? new TraceRate(parseTrace(spec.trace.text, spec.trace.name))
    : spec.rate !== undefined
      ? new ConstantRate(spec.rate)
      : undefined;
  const order = sortRows(records, rows);
  let packets = 0;
  let bytes = 0;
  let delivered = 0;
  let deliveredBytes = 0;
  let dupDelivered = 0;
  const drops: Record<string, number> = {};
  let maxSeq = -1;
  for (let i = 0; i < rows; i++) maxSeq = Math.max(maxSeq, records[i * LOG_STRIDE + LOG_SEQ] as number);
  const lost = new Uint8Array(maxSeq + 1);
  const lostByModel = new Uint8Array(maxSeq + 1);
  const delays: number[] = [];
  const errors: number[] = [];
  const windowUs = windowMs * 1000;
  const windowBytes: number[] = [];
  let stoppedOriginals = 0;
  for (let k = 0; k < rows; k++) {
    const at = (order[k] as number) * LOG_STRIDE;
    const code = records[at + LOG_CODE] as number;
    const fate = code & 7;
    const dup = (code & FLAG_DUPLICATE) !== 0;
    const seq = records[at + LOG_SEQ] as number;
    const size = records[at + LOG_SIZE] as number;
    if (!dup) {
      packets++;
      bytes += size;
    }
    if (fate === FATE_DELIVERED) {
      delivered++;
      deliveredBytes += size;
      if (dup) dupDelivered++;
      const dep = records[at + LOG_DEPARTURE] as number;
      delays.push((dep - (records[at + LOG_ARRIVAL] as number)) / 1e3);
      errors.push(dep - (records[at + LOG_SCHEDULED] as number));
      const w = Math.floor(dep / windowUs);
      while (windowBytes.length <= w) windowBytes.push(0);
      windowBytes[w] = (windowBytes[w] as number) + size;
    } else {
      const reason = FATE_NAMES[fate] ?? "unknown";
      drops[reason] = (drops[reason] ?? 0) + 1;
      if (!dup) {
        if (fate === FATE_STOPPED) stoppedOriginals++;
        else lost[seq] = 1;
        if (fate === FATE_LOSS_MODEL) lostByModel[seq] = 1;
      }
    }
  }
  const counted = packets - stoppedOriginals;
  const lostCount = lost.reduce((s, v) => s + v, 0);
  const modelCount = lostByModel.reduce((s, v) => s + v, 0);
  const windows: WindowRate[] = [];
  const idle = rate ? idleOfferedBytes(spec, rate, records, rows, windowUs, windowBytes.length - 1) : undefined;
  // The last window is partial (the run stopped inside it): leave it out.
  for (let w = 0; w + 1 < windowBytes.length; w++) {
    const win: WindowRate = { startMs: w * windowMs, mbps: +(((windowBytes[w] as number) * 8) / windowUs).toFixed(4) };
    if (rate) win.askedMbps = +(rate.offeredBps(w * windowUs, (w + 1) * windowUs) / 1e6).toFixed(4);
    if (idle) win.idleMbps = +(((idle[w] as number) * 8) / windowUs).toFixed(4);
    windows.push(win);
  }
  const spanUs = windowBytes.length * windowUs;
  return {
    name,
    asked: askedOf(spec, rate),
    achieved: {
      packets,
      bytes,
      delivered,
      deliveredBytes,
      duplicatesDelivered: dupDelivered,
      drops,
      lossRate: counted ? +(lostCount / counted).toFixed(6) : 0,
      lossModelRate: counted ? +(modelCount / counted).toFixed(6) : 0,
      lossBursts: bursts(lost),
      lossModelBursts: bursts(lostByModel),
      delayMs: percentiles(Float64Array.from(delays)),
      timingErrorUs: percentiles(Float64Array.from(errors)),
      rate: { windowMs, meanMbps: spanUs > 0 ? +((deliveredBytes * 8) / spanUs).toFixed(4) : 0, windows },
    },
  };
}
