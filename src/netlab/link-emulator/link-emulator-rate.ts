import { QoelabError } from "../../errors.ts";

/*
 * The link's rate: constant, or a trace of delivery opportunities.
 *
 * Mahimahi format: one line per 1500-byte delivery opportunity, the time in whole milliseconds since
 * the start; non-decreasing; the trace repeats with a period equal to its last time.
 *
 * qoelab µs format: a first line "# qoelab-trace us", then "TIME_US [BYTES]" per opportunity
 * (BYTES defaults to 1500), non-decreasing, repeating with the last time as period. Lines starting
 * with "#" and blank lines are ignored in both formats.
 *
 * Serving follows Mahimahi: a packet leaves at the opportunity that carries its last byte; a packet
 * larger than what is left of an opportunity spans several; credit an idle link does not use is lost.
 */

export interface RateModel {
  /** Time (µs) the last byte of a `bytes`-long packet whose transmission may start at `startUs` is sent. */
  serve(startUs: number, bytes: number): number;
  /** Bits per second the link offers over [fromUs, toUs) (for "asked" in the summary). */
  offeredBps(fromUs: number, toUs: number): number;
  /** Bytes the link offers over [0, tUs). */
  offeredBytesBefore(tUs: number): number;
}

export class ConstantRate implements RateModel {
  private readonly usPerByte: number;
  constructor(private readonly bitsPerSecond: number) {
    this.usPerByte = 8e6 / bitsPerSecond;
  }
  serve(startUs: number, bytes: number): number {
    return startUs + bytes * this.usPerByte;
  }
  offeredBps(): number {
    return this.bitsPerSecond;
  }
  offeredBytesBefore(tUs: number): number {
    return (this.bitsPerSecond * Math.max(0, tUs)) / 8e6;
  }
}

export interface ParsedTrace {
  format: "mahimahi" | "us";
  /** Opportunity times, µs, non-decreasing. */
  times: Float64Array;
  bytes: Int32Array;
  periodUs: number;
}

const US_HEADER = /^#\s*qoelab-trace\s+us\s*$/i;

/** Parses either trace format; EMULATOR_BAD_TRACE names the line of the first problem. */
export function parseTrace(text: string, name = "trace"): ParsedTrace {
  const lines = text.split(/\r?\n/);
  const format = lines.some((l) => US_HEADER.test(l.trim())) ? "us" : "mahimahi";
  const times: number[] = [];
  const bytes: number[] = [];
  const bad = (lineNo: number, why: string) =>
    new QoelabError("EMULATOR_BAD_TRACE", `${name}:${lineNo}: ${why}`, { trace: name, line: lineNo });
  let last = 0;
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/);
    const lineNo = i + 1;
    if (format === "mahimahi") {
      if (fields.length !== 1 || !/^\d+$/.test(fields[0] as string)) {
        throw bad(lineNo, `"${line}" is not a whole number of milliseconds (Mahimahi format: one time per line)`);
      }
    } else if (fields.length > 2 || !fields.every((f) => /^\d+$/.test(f))) {
      throw bad(lineNo, `"${line}" is not "TIME_US [BYTES]" with whole numbers`);
    }
    const t = Number(fields[0]) * (format === "mahimahi" ? 1000 : 1);
    const b = fields[1] === undefined ? 1500 : Number(fields[1]);
    if (t < last) throw bad(lineNo, `time ${fields[0]} is before the previous line's (times must not decrease)`);
    if (b < 1 || b > 65535) throw bad(lineNo, `opportunity of ${b} bytes (expected 1…65535)`);
    last = t;
    times.push(t);
    bytes.push(b);
  });
  if (times.length === 0) throw bad(lines.length, "no delivery opportunities");
  if (last <= 0) throw bad(lines.length, "the last time must be above 0 (it is the period the trace repeats with)");
  return { format, times: Float64Array.from(times), bytes: Int32Array.from(bytes), periodUs: last };
}

export class TraceRate implements RateModel {
  private readonly n: number;
  /** Index (over the unrolled, repeating trace) of the opportunity last used. */
  private k = -1;
  private credit = 0;
  /** Bytes of one period's opportunities before each index (prefix sums; n + 1 entries). */
  private readonly prefix: Float64Array;
  constructor(private readonly trace: ParsedTrace) {
    this.n = trace.times.length;
    this.prefix = new Float64Array(this.n + 1);
    for (let i = 0; i < this.n; i++) this.prefix[i + 1] = (this.prefix[i] as number) + (trace.bytes[i] as number);
  }
  private timeOf(k: number): number {
    const loop = Math.floor(k / this.n);
    return loop * this.trace.periodUs + (this.trace.times[k - loop * this.n] as number);
  }
  private bytesOf(k: number): number {
    return this.trace.bytes[k % this.n] as number;
  }
  serve(startUs: number, bytes: number): number {
    let remaining = bytes;
    if (this.k >= 0 && this.credit > 0 && this.timeOf(this.k) >= startUs) {
      const use = Math.min(this.credit, remaining);
      this.credit -= use;
      remaining -= use;
      if (remaining === 0) return this.timeOf(this.k);
    }
    let k = this.k + 1;
    // Skip whole periods of idleness at once, then walk to the first opportunity at or after start.
    const behind = startUs - this.timeOf(k);
    if (behind > this.trace.periodUs) k += Math.floor(behind / this.trace.periodUs) * this.n;
    while (this.timeOf(k) < startUs) k++;
    for (;;) {
      const credit = this.bytesOf(k);
      const use = Math.min(credit, remaining);
      remaining -= use;
      if (remaining === 0) {
        this.k = k;
        this.credit = credit - use;
        return this.timeOf(k);
      }
      k++;
    }
  }
  offeredBps(fromUs: number, toUs: number): number {
    return ((this.offeredBytesBefore(toUs) - this.offeredBytesBefore(fromUs)) * 8e6) / (toUs - fromUs);
  }
  /** Every opportunity of the repeating trace strictly before `tUs`: whole periods, then a binary search. */
  offeredBytesBefore(tUs: number): number {
    if (tUs <= 0) return 0;
    const { times, periodUs } = this.trace;
    // A period's opportunities lie in (0, period]: the one at the period's end is still this loop's.
    const loops = Math.ceil(tUs / periodUs) - 1;
    const within = tUs - loops * periodUs;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((times[mid] as number) < within) lo = mid + 1;
      else hi = mid;
    }
    return loops * (this.prefix[this.n] as number) + (this.prefix[lo] as number);
  }
}

export interface RateStep {
  bitsPerSecond: number;
  seconds: number;
}

/** A trace that holds each rate for its time (e.g. 5 and 30 Mbit/s every 2 s), in either format. */
export function traceFromSteps(steps: readonly RateStep[], format: "mahimahi" | "us" = "mahimahi"): string {
  const out: string[] = format === "us" ? ["# qoelab-trace us"] : [];
  let startUs = 0;
  for (const step of steps) {
    const lengthUs = step.seconds * 1e6;
    const count = Math.max(1, Math.round((step.bitsPerSecond * step.seconds) / 12_000));
    for (let j = 1; j <= count; j++) {
      const t = startUs + (j * lengthUs) / count;
      out.push(format === "us" ? String(Math.ceil(t)) : String(Math.ceil(t / 1000)));
    }
    startUs += lengthUs;
  }
  return `${out.join("\n")}\n`;
}
