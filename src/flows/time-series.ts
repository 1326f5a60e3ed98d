/**
 * Fixed-width time windows (default 1 s) of counters, per capture and per flow, like tstat's
 * log_tcp_periodic. Window w covers [origin + w·width, origin + (w+1)·width) where origin is the
 * whole second of the capture's first packet, or that packet's time (FlowEngineOptions.windowOrigin).
 * Only occupied windows are stored (row-major, one growable Float64Array); every column is an
 * integer count (RTT as a sum of integer nanoseconds), so partial series from worker threads sum to
 * exactly the single-threaded result.
 */

export const SeriesColumn = {
  PACKETS: 0,
  /** Frame bytes, both directions. */
  BYTES: 1,
  /** Frame bytes client → server. */
  UP_BYTES: 2,
  /** Frame bytes server → client. */
  DOWN_BYTES: 3,
  /** Payload bytes server → client (TCP and UDP). */
  DOWN_PAYLOAD: 4,
  /** TCP retransmitted segments (tstat c_pkts_retx + s_pkts_retx). */
  RETX: 5,
  /** TCP out-of-sequence segments that were first seen (holes filled). */
  OUT_OF_SEQUENCE: 6,
  RTT_SUM_NS: 7,
  RTT_COUNT: 8,
  /** Flows with at least one packet in the window. */
  ACTIVE_FLOWS: 9,
  /** Flows whose first packet is in the window. */
  NEW_FLOWS: 10,
} as const;
export const SERIES_COLUMNS = 11;

/**
 * Empty windows between two occupied ones are written out as zero rows when the gap is at most
 * MAX_FILLED_GAP_WINDOWS (an hour at 1 s windows) and the zero rows written so far stay within
 * FILLED_ROWS_FREE + FILLED_ROWS_PER_OCCUPIED × the occupied windows; other gaps are left out
 * (`start` shows the jump). So the series' size follows the packets, whatever the time span.
 */
export const MAX_FILLED_GAP_WINDOWS = 3600;
export const FILLED_ROWS_FREE = 3600;
export const FILLED_ROWS_PER_OCCUPIED = 64;

/**
 * The occupied windows of one series, sparse: rows are appended in the order windows are first
 * seen, `windows[i]` names row i's window. Time-ordered packets (the usual case) only ever touch
 * the last row or append one; a window index map is built the first time a packet goes back to an
 * earlier window, so memory and time follow the packets, never the capture's time span.
 */
export class WindowSeries {
  /** Index of the first window held (-1 while empty); earlier windows fold into it. */
  first = -1;
  /** Rows held (occupied windows). */
  length = 0;
  data: Float64Array;
  windows: Float64Array;
  /** Largest window held, the last window touched and its row offset. */
  private max = -1;
  private lastWindow = -1;
  private lastRow = 0;
  /** True while rows are in increasing window order. */
  private sorted = true;
  private index: Map<number, number> | null = null;

  constructor(initialRows = 8) {
    this.data = new Float64Array(initialRows * SERIES_COLUMNS);
    this.windows = new Float64Array(initialRows);
  }

  /** Offset in `data` of window `w`'s row, adding the row when new (earlier windows fold into the first). */
  row(w: number): number {
    if (w === this.lastWindow) return this.lastRow;
    if (this.first < 0) {
      this.first = w;
      this.max = w;
      return this.append(w);
    }
    if (w < this.first) w = this.first;
    if (w > this.max) {
      this.max = w;
      const offset = this.append(w);
      this.index?.set(w, this.length - 1);
      return offset;
    }
    if (this.index === null) {
      this.index = new Map();
      for (let i = 0; i < this.length; i++) this.index.set(this.windows[i]!, i);
    }
    const i = this.index.get(w);
    if (i !== undefined) {
      this.lastWindow = w;
      this.lastRow = i * SERIES_COLUMNS;
      return this.lastRow;
    }
    this.sorted = false;
    const offset = this.append(w);
    this.index.set(w, this.length - 1);
    return offset;
  }

  private append(w: number): number {
    const i = this.length;
    if (i >= this.windows.length) {
      const rows = this.windows.length * 2 || 8;
      const data = new Float64Array(rows * SERIES_COLUMNS);
      data.set(this.data.subarray(0, i * SERIES_COLUMNS));
      this.data = data;
      const windows = new Float64Array(rows);
      windows.set(this.windows.subarray(0, i));
      this.windows = windows;
    }
    this.windows[i] = w;
    this.length = i + 1;
    this.lastWindow = w;
    this.lastRow = i * SERIES_COLUMNS;
    return this.lastRow;
  }

  /** Plain form for worker messages and merging: the occupied windows in increasing order. */
  toPartial(): SeriesPartial {
    const n = this.length;
    const windows = Array.from(this.windows.subarray(0, n));
    if (this.sorted) return { windows, data: Array.from(this.data.subarray(0, n * SERIES_COLUMNS)) };
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => windows[a]! - windows[b]!);
    const data = new Array<number>(n * SERIES_COLUMNS);
    for (let k = 0; k < n; k++) {
      const from = order[k]! * SERIES_COLUMNS;
      for (let c = 0; c < SERIES_COLUMNS; c++) data[k * SERIES_COLUMNS + c] = this.data[from + c]!;
    }
    return { windows: order.map((i) => windows[i]!), data };
  }
}

/** Occupied windows only, in increasing order; row i of `data` is window `windows[i]`. */
export interface SeriesPartial {
  windows: number[];
  data: number[];
}

/** Sums partial series window by window (sparse: cost follows the occupied windows). */
export function mergeSeries(parts: readonly SeriesPartial[]): SeriesPartial {
  const present = parts.filter((p) => p.windows.length > 0);
  if (present.length === 0) return { windows: [], data: [] };
  if (present.length === 1) return present[0]!;
  const all = [...new Set(present.flatMap((p) => p.windows))].sort((a, b) => a - b);
  const rowOf = new Map<number, number>();
  for (let i = 0; i < all.length; i++) rowOf.set(all[i]!, i);
  const data = new Array<number>(all.length * SERIES_COLUMNS).fill(0);
  for (const p of present) {
    for (let r = 0; r < p.windows.length; r++) {
      const to = rowOf.get(p.windows[r]!)! * SERIES_COLUMNS;
      const from = r * SERIES_COLUMNS;
      for (let c = 0; c < SERIES_COLUMNS; c++) data[to + c]! += p.data[from + c]!;
    }
  }
  return { windows: all, data };
}

/** First to last occupied window, counted in windows (the span the series covers, gaps included). */
export function seriesSpanWindows(p: SeriesPartial): number {
  const n = p.windows.length;
  return n === 0 ? 0 : p.windows[n - 1]! - p.windows[0]! + 1;
}

/** Columnar JSON form of a series (what results carry). */
export interface TimeSeries {
  /** Window width (s). */
  window: number;
  /** Start of window 0 (s since the Unix epoch): the first packet's whole second, or its time. */
  origin: number;
  /** Start of each window, seconds since the Unix epoch. */
  start: number[];
  packets: number[];
  bytes: number[];
  upBytes: number[];
  downBytes: number[];
  downPayloadBytes: number[];
  retransmissions: number[];
  outOfSequence: number[];
  /** Mean RTT of the samples taken in the window (ms), null when none. */
  rttMean: (number | null)[];
  rttSamples: number[];
  /** Capture series only. */
  activeFlows?: number[];
  newFlows?: number[];
}

/**
 * Dense JSON form: every occupied window, with the empty windows between two occupied ones written
 * as zero rows within the bounds of MAX_FILLED_GAP_WINDOWS (longer idle gaps are left out).
 */
export function seriesFromPartial(
  p: SeriesPartial,
  baseSec: number,
  windowNs: number,
  withFlowCounts: boolean,
  originNs = 0,
): TimeSeries {
  const columns: number[][] = [];
  for (let c = 0; c < SERIES_COLUMNS; c++) columns.push([]);
  const start: number[] = [];
  const rttMean: (number | null)[] = [];
  const windowS = windowNs / 1e9;
  let fillBudget = FILLED_ROWS_FREE + FILLED_ROWS_PER_OCCUPIED * p.windows.length;
  for (let r = 0; r < p.windows.length; r++) {
    const w = p.windows[r]!;
    if (r > 0) {
      const gap = w - p.windows[r - 1]! - 1;
      if (gap <= MAX_FILLED_GAP_WINDOWS && gap <= fillBudget) {
        fillBudget -= gap;
        for (let e = w - gap; e < w; e++) {
          start.push(baseSec + (originNs + e * windowNs) / 1e9);
          rttMean.push(null);
          for (const column of columns) column.push(0);
        }
      }
    }
    const base = r * SERIES_COLUMNS;
    start.push(baseSec + (originNs + w * windowNs) / 1e9);
    for (let c = 0; c < SERIES_COLUMNS; c++) columns[c]!.push(p.data[base + c]!);
    const n = p.data[base + SeriesColumn.RTT_COUNT]!;
    rttMean.push(n > 0 ? p.data[base + SeriesColumn.RTT_SUM_NS]! / n / 1e6 : null);
  }
  const series: TimeSeries = {
    window: windowS,
    origin: baseSec + originNs / 1e9,
    start,
    packets: columns[SeriesColumn.PACKETS]!,
    bytes: columns[SeriesColumn.BYTES]!,
    upBytes: columns[SeriesColumn.UP_BYTES]!,
    downBytes: columns[SeriesColumn.DOWN_BYTES]!,
    downPayloadBytes: columns[SeriesColumn.DOWN_PAYLOAD]!,
    retransmissions: columns[SeriesColumn.RETX]!,
    outOfSequence: columns[SeriesColumn.OUT_OF_SEQUENCE]!,
    rttMean,
    rttSamples: columns[SeriesColumn.RTT_COUNT]!,
  };
  if (withFlowCounts) {
    series.activeFlows = columns[SeriesColumn.ACTIVE_FLOWS]!;
    series.newFlows = columns[SeriesColumn.NEW_FLOWS]!;
  }
  return series;
}
