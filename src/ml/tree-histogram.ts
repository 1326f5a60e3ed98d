import type { BinnedData } from "./binning.ts";
import type { RowSums } from "./tree-criterion.ts";

/**
 * A node's histogram with an occupancy bitmap: bit b of feature f's words is set exactly when
 * bin b holds rows, so scans visit the occupied bins only (a node of 40 rows fills at most 40 of a
 * feature's 255 bins). Every slot whose bit is clear holds zeros (subtraction zeroes the
 * rounding residue it leaves in emptied slots). A histogram holds S stats per bin
 * (`tree-criterion.ts`); feature f owns (bins + 1) · S entries, its missing bin last.
 */
export interface NodeHist {
  values: Float64Array;
  occupied: Int32Array;
}

// Histograms are reused across nodes and trees (boosting would allocate ~60 per tree otherwise).
const histPool: NodeHist[] = [];
let histPoolSize = 0;
let histPoolWords = 0;

export function takeHist(size: number, words: number): NodeHist {
  if (size !== histPoolSize || words !== histPoolWords) {
    histPool.length = 0;
    histPoolSize = size;
    histPoolWords = words;
  }
  return histPool.pop() ?? { values: new Float64Array(size), occupied: new Int32Array(words) };
}

/** Clears a histogram (a memset beats clearing by its bits) and returns it to the pool. */
export function releaseHist(h: NodeHist): void {
  h.values.fill(0);
  h.occupied.fill(0);
  if (h.values.length === histPoolSize && h.occupied.length === histPoolWords && histPool.length < 64) histPool.push(h);
}

/*
 * Histogram kernels: they add the rows `rows[start, end)` into `hist`, each bin summing its rows
 * in row order whichever kernel builds it, so the sums are the same.
 */

/**
 * Adds row i's stats at `cells[base + i·stride + k]` for k < features: every feature of a node at
 * once (`allCells`: base 0, stride p) or one feature (`columnCells`: base f·n, stride 1).
 */
export function addRows(
  hist: Float64Array,
  cells: Int32Array,
  base: number,
  stride: number,
  features: number,
  rows: Uint32Array,
  start: number,
  end: number,
  sums: RowSums,
): void {
  const { a, b, c, hasC, slot } = sums;
  for (let r = start; r < end; r++) {
    const i = rows[r]!;
    const ai = a[i]!;
    const bi = b[i]!;
    const ci = c[i]!;
    const si = slot[i]!;
    const rb = base + i * stride;
    // Two loops rather than a test per cell: mse's fourth sum is the only difference.
    if (hasC)
      for (let k = 0; k < features; k++) {
        const o = cells[rb + k]!;
        hist[o]! += 1;
        hist[o + 1]! += ai;
        hist[o + si]! += bi;
        hist[o + 3]! += ci;
      }
    else
      for (let k = 0; k < features; k++) {
        const o = cells[rb + k]!;
        hist[o]! += 1;
        hist[o + 1]! += ai;
        hist[o + si]! += bi;
      }
  }
}

// Histogram positions per binned data set and stats width (boosting grows hundreds of trees on one).
const cellsCache = new WeakMap<BinnedData, Map<string, Int32Array>>();

function cached(data: BinnedData, key: string, make: () => Int32Array): Int32Array {
  let byKey = cellsCache.get(data);
  if (!byKey) {
    byKey = new Map();
    cellsCache.set(data, byKey);
  }
  let cells = byKey.get(key);
  if (!cells) {
    cells = make();
    byKey.set(key, cells);
  }
  return cells;
}

/** Row-major: `cells[i·p + f]` is where row i's bin of feature f starts in a node histogram. */
export function allCells(data: BinnedData, layout: HistLayout): Int32Array {
  const { n, p, rowBins } = data;
  return cached(data, `all ${layout.S}`, () =>
    Int32Array.from({ length: n * p }, (_, j) => layout.histOffset[j % p]! + rowBins[j]! * layout.S),
  );
}

/** Column-major: `cells[f·n + i]` is where row i's bin of feature f starts in a one-feature histogram. */
export function columnCells(data: BinnedData, S: number): Int32Array {
  return cached(data, `column ${S}`, () => Int32Array.from(data.bins, (b) => b * S));
}

/** Whether one feature (column-major at `col`) takes a single bin on the node's rows. */
export function constantIn(bins: Uint8Array, col: number, rows: Uint32Array, start: number, end: number): boolean {
  const first = bins[col + rows[start]!]!;
  for (let r = start + 1; r < end; r++) if (bins[col + rows[r]!]! !== first) return false;
  return true;
}

/** Words of the occupancy bitmap of a feature with `bins` value bins (plus its missing bin). */
export function wordsOf(bins: number): number {
  return (bins + 32) >>> 5;
}

/**
 * Sets the occupancy bits of one feature's histogram (at `base`, bins + 1 slots) from its
 * counts; with `clearEmpty`, zeroes the slots without rows (subtraction leaves rounding residue).
 */
export function occupancyOf(
  hist: Float64Array,
  base: number,
  S: number,
  bins: number,
  occupied: Int32Array,
  wordBase: number,
  clearEmpty: boolean,
): void {
  for (let w = 0; w < wordsOf(bins); w++) occupied[wordBase + w] = 0;
  for (let b = 0; b <= bins; b++) {
    const o = base + b * S;
    if (hist[o]! !== 0) occupied[wordBase + (b >>> 5)]! |= 1 << (b & 31);
    else if (clearEmpty) for (let c = 0; c < S; c++) hist[o + c] = 0;
  }
}

/**
 * Lists the occupied bins below `last` of one feature, ascending, into `out` (returns how many):
 * the lowest set bit of `bits` is `bits & -bits`, its index 31 − clz32 of it.
 */
export function occupiedBins(
  occupied: Int32Array,
  wordBase: number,
  words: number,
  last: number,
  out: Int32Array,
): number {
  let count = 0;
  for (let w = 0; w < words; w++) {
    let bits = occupied[wordBase + w]!;
    while (bits !== 0) {
      const low = bits & -bits;
      bits ^= low;
      const b = (w << 5) | (31 - Math.clz32(low));
      if (b >= last) return count;
      out[count++] = b;
    }
  }
  return count;
}

/**
 * Where each feature's bins sit in a node histogram: feature f owns (nb[f] + 1) · S entries from
 * `histOffset[f]` (its missing bin last) and `wordsOf(nb[f])` bitmap words from `wordOffset[f]`.
 * Compact: a feature with few distinct values has few bins, and only those are scanned.
 */
export class HistLayout {
  readonly histOffset: Int32Array;
  readonly wordOffset: Int32Array;
  /** Slots (bins) before each feature's first. */
  readonly slotOffset: Int32Array;
  readonly size: number;
  readonly slots: number;
  readonly words: number;
  /** The largest one feature's histogram takes (entries). */
  readonly maxFeatureSize: number;

  constructor(
    readonly nb: number[],
    readonly S: number,
  ) {
    const p = nb.length;
    this.histOffset = new Int32Array(p + 1);
    this.wordOffset = new Int32Array(p + 1);
    let maxFeatureSize = 0;
    for (let f = 0; f < p; f++) {
      this.histOffset[f + 1] = this.histOffset[f]! + (nb[f]! + 1) * S;
      this.wordOffset[f + 1] = this.wordOffset[f]! + wordsOf(nb[f]!);
      maxFeatureSize = Math.max(maxFeatureSize, (nb[f]! + 1) * S);
    }
    this.size = this.histOffset[p]!;
    this.slots = this.size / S;
    this.words = this.wordOffset[p]!;
    this.maxFeatureSize = maxFeatureSize;
    this.slotOffset = Int32Array.from({ length: p }, (_, f) => this.histOffset[f]! / S);
  }

  take(): NodeHist {
    return takeHist(this.size, this.words);
  }

  /** Sets every feature's occupancy from the counts, zeroing the slots without rows. */
  occupancyAll(h: NodeHist): void {
    for (let f = 0; f < this.nb.length; f++)
      occupancyOf(h.values, this.histOffset[f]!, this.S, this.nb[f]!, h.occupied, this.wordOffset[f]!, true);
  }

  /**
   * parent − child into `parent` over every slot, setting both occupancy bitmaps on the way (the
   * child's from its counts, the parent's from the differences, whose empty slots are zeroed).
   */
  subtractAll(parent: NodeHist, child: NodeHist): void {
    const { S, nb, histOffset, wordOffset } = this;
    const pv = parent.values;
    const cv = child.values;
    const po = parent.occupied;
    const co = child.occupied;
    po.fill(0);
    co.fill(0);
    for (let f = 0; f < nb.length; f++) {
      const base = histOffset[f]!;
      const wordBase = wordOffset[f]!;
      for (let b = 0; b <= nb[f]!; b++) {
        const o = base + b * S;
        const bit = 1 << (b & 31);
        const word = wordBase + (b >>> 5);
        if (cv[o]! !== 0) co[word]! |= bit;
        for (let c = 0; c < S; c++) pv[o + c] = pv[o + c]! - cv[o + c]!;
        if (pv[o]! !== 0) po[word]! |= bit;
        else for (let c = 0; c < S; c++) pv[o + c] = 0;
      }
    }
  }
}
