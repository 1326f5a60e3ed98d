/**
 * Maps each feature to at most 255 ordered bins plus one for missing values (the bin right after
 * the last value bin, `thresholds.length + 1`, so histograms stay compact). With at most
 * 255 distinct values the thresholds are the midpoints between them, so a split on bins is exactly
 * a split on the values; with more, they are quantiles (midpoint interpolation). A value goes
 * to bin b when thresholds[b-1] < value <= thresholds[b], so "bin <= b" is "value <= thresholds[b]".
 */
export const MAX_BINS = 255;

export interface BinnedData {
  /** Column-major: feature f of row i at `bins[f * n + i]`. */
  bins: Uint8Array;
  /** Row-major copy: feature f of row i at `rowBins[i * p + f]` (building all of a node's histograms). */
  rowBins: Uint8Array;
  n: number;
  p: number;
  /** Per feature, ascending split thresholds (length = non-missing bins − 1). */
  thresholds: Float64Array[];
  /** Per feature, whether any training value is missing. */
  hasMissing: Uint8Array;
}

/** Thresholds of one feature from its non-missing values. */
export function binThresholds(values: Float64Array, maxBins = MAX_BINS): Float64Array {
  const sorted = Float64Array.from(values).sort();
  const distinct: number[] = [];
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct.push(sorted[i]!);
  if (distinct.length <= maxBins) {
    const t = new Float64Array(Math.max(0, distinct.length - 1));
    for (let i = 0; i + 1 < distinct.length; i++) t[i] = (distinct[i]! + distinct[i + 1]!) / 2;
    return t;
  }
  const n = sorted.length;
  const out: number[] = [];
  for (let k = 1; k < maxBins; k++) {
    const position = (k / maxBins) * (n - 1);
    const lo = Math.floor(position);
    const hi = Math.ceil(position);
    const q = (sorted[lo]! + sorted[hi]!) / 2;
    // A threshold equal to the maximum would leave an empty top bin.
    if (q < sorted[n - 1]! && (out.length === 0 || q > out[out.length - 1]!)) out.push(q);
  }
  return Float64Array.from(out);
}

/** Bin of `value` among ascending `thresholds` (binary search); missing → `thresholds.length + 1`. */
export function binOf(value: number, thresholds: Float64Array): number {
  if (Number.isNaN(value)) return thresholds.length + 1;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (value <= thresholds[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Fits thresholds on the rows of a row-major matrix and bins them. */
export function binMatrix(x: Float64Array, n: number, p: number, maxBins = MAX_BINS): BinnedData {
  const bins = new Uint8Array(n * p);
  const thresholds: Float64Array[] = [];
  const hasMissing = new Uint8Array(p);
  const column = new Float64Array(n);
  for (let f = 0; f < p; f++) {
    let present = 0;
    for (let i = 0; i < n; i++) {
      const v = x[i * p + f]!;
      if (Number.isNaN(v)) hasMissing[f] = 1;
      else column[present++] = v;
    }
    const t = binThresholds(column.subarray(0, present), maxBins);
    thresholds.push(t);
    const base = f * n;
    for (let i = 0; i < n; i++) bins[base + i] = binOf(x[i * p + f]!, t);
  }
  const rowBins = new Uint8Array(n * p);
  for (let f = 0; f < p; f++) for (let i = 0; i < n; i++) rowBins[i * p + f] = bins[f * n + i]!;
  return { bins, rowBins, n, p, thresholds, hasMissing };
}
