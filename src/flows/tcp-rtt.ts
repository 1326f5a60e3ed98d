/**
 * TCP round-trip time, as tstat measures it: a sample is taken when an ACK covers a segment sent
 * once (not a retransmission), from that segment's send time to the ACK (`acknowledge` in
 * tcp-retransmissions.ts); each direction keeps count, sum, sum of squares, min and max in µs, and
 * the log shows tstat's average and standard deviation in ms.
 */
import type { StatsSummary } from "./running-stats.ts";

/** RTT accumulator of one direction, in µs, with tstat's formulas for the log. */
export class RttStats {
  count = 0;
  sum = 0;
  sum2 = 0;
  /** tstat keeps 0 as "no minimum yet": a later sample replaces a 0 minimum. */
  min = 0;
  max = 0;

  add(sample: number): void {
    if (this.min === 0 || this.min > sample) this.min = sample;
    if (this.max < sample) this.max = sample;
    this.sum += sample;
    this.sum2 += sample * sample;
    this.count++;
  }
}

/** tstat's Average: sum / (count + 0.0001). */
export function tstatAverage(sum: number, count: number): number {
  return sum / (count + 0.0001);
}

/** tstat's Stdev: sample standard deviation, 0 for 2 samples or fewer. */
export function tstatStdev(sum: number, sum2: number, n: number): number {
  if (n <= 2) return 0;
  return Math.sqrt((sum2 - (sum * sum) / n) / (n - 1));
}

/** RTT summary of one direction in ms, with tstat's formulas (mean = sum / (n + 0.0001), sample std, 0 for n ≤ 2). */
export function rttSummary(s: RttStats): StatsSummary {
  if (s.count === 0) return { count: 0, mean: null, std: null, min: null, max: null };
  return {
    count: s.count,
    mean: tstatAverage(s.sum, s.count) / 1000,
    std: tstatStdev(s.sum, s.sum2, s.count) / 1000,
    min: s.min / 1000,
    max: s.max / 1000,
  };
}
