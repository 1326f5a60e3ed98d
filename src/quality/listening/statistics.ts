import { studentTQuantile } from "./student-t.ts";

/** n, mean, sample standard deviation (n − 1) and the 95 % CI half-width t(0.975, n−1)·s/√n. */
export interface ScoreSummary {
  n: number;
  /** MOS for ACR, DMOS for DCR, CMOS for CCR. */
  mos: number;
  /** Sample standard deviation; null when n < 2. */
  std: number | null;
  /** Half-width of the 95 % confidence interval from Student's t; null when n < 2. */
  ci95: number | null;
}

export function summarizeScores(scores: readonly number[]): ScoreSummary {
  const n = scores.length;
  if (n === 0) return { n: 0, mos: Number.NaN, std: null, ci95: null };
  let sum = 0;
  for (const s of scores) sum += s;
  const mean = sum / n;
  if (n < 2) return { n, mos: mean, std: null, ci95: null };
  let squares = 0;
  for (const s of scores) squares += (s - mean) * (s - mean);
  const std = Math.sqrt(squares / (n - 1));
  return { n, mos: mean, std, ci95: (studentTQuantile(0.975, n - 1) * std) / Math.sqrt(n) };
}

/** Natural order for condition and clip names ("loss-0.5" before "loss-3", "c2" before "c10"). */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, "en", { numeric: true, sensitivity: "base" });
}

/** Pearson's correlation coefficient; null when fewer than 3 pairs or a side is constant. */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return sxy / Math.sqrt(sxx * syy);
}
