/**
 * Count / mean / standard deviation / min / max of a stream of numbers in O(1) memory (Welford's
 * update, numerically stable). `std` is the population standard deviation (divides by n), as
 * tstat reports for RTT.
 */
export class RunningStats {
  count = 0;
  mean = 0;
  m2 = 0;
  min = 0;
  max = 0;

  add(x: number): void {
    const n = ++this.count;
    if (n === 1) {
      this.mean = x;
      this.min = x;
      this.max = x;
      return;
    }
    const delta = x - this.mean;
    this.mean += delta / n;
    this.m2 += delta * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  get std(): number {
    return this.count > 0 ? Math.sqrt(this.m2 / this.count) : 0;
  }

  reset(): void {
    this.count = 0;
    this.mean = 0;
    this.m2 = 0;
    this.min = 0;
    this.max = 0;
  }
}

/** JSON form of a RunningStats, values multiplied by `scale` (e.g. 1e-6 for ns → ms); nulls when empty. */
export interface StatsSummary {
  count: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

export function summarize(stats: RunningStats, scale = 1): StatsSummary {
  if (stats.count === 0) return { count: 0, mean: null, std: null, min: null, max: null };
  return {
    count: stats.count,
    mean: stats.mean * scale,
    std: stats.std * scale,
    min: stats.min * scale,
    max: stats.max * scale,
  };
}

/** Percentile with linear interpolation between closest ranks (numpy's default); `sorted` ascending. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length;
  if (n === 0) return null;
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo]!;
  return a + (sorted[hi]! - a) * (rank - lo);
}
