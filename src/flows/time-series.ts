/**
 * Fixed-width time windows (default 1 s) of counters, per capture and per flow, like tstat's
 * log_tcp_periodic. Window w covers [base + w·width, base + (w+1)·width) where base is the whole
 * second of the capture's first packet. Rows are stored row-major in one growable Float64Array;
 * every column is an integer count (RTT as a sum of integer nanoseconds), so partial series from
 * worker threads sum to exactly the single-threaded result.
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

export class WindowSeries {
  /** Index of the first window held (-1 while empty). */
  first = -1;
  length = 0;
  data: Float64Array;

  constructor(initialRows = 8) {
    this.data = new Float64Array(initialRows * SERIES_COLUMNS);
  }

  /** Offset in `data` of window `w`'s row, creating rows up to it (earlier windows fold into the first). */
  row(w: number): number {
    if (this.first < 0) {
      this.first = w;
      this.length = 1;
      return 0;
    }
    let i = w - this.first;
    if (i < 0) i = 0;
    if (i >= this.length) {
      const needed = (i + 1) * SERIES_COLUMNS;
      if (needed > this.data.length) {
        let size = this.data.length * 2;
        while (size < needed) size *= 2;
        const grown = new Float64Array(size);
        grown.set(this.data.subarray(0, this.length * SERIES_COLUMNS));
        this.data = grown;
      }
      this.length = i + 1;
    }
    return i * SERIES_COLUMNS;
  }

  /** Plain form for worker messages and merging. */
  toPartial(): SeriesPartial {
    return {
      first: this.first,
      length: this.length,
      data: Array.from(this.data.subarray(0, this.length * SERIES_COLUMNS)),
    };
  }
}

export interface SeriesPartial {
  first: number;
  length: number;
  data: number[];
}

/** Sums partial series window by window. */
export function mergeSeries(parts: readonly SeriesPartial[]): SeriesPartial {
  const present = parts.filter((p) => p.first >= 0 && p.length > 0);
  if (present.length === 0) return { first: -1, length: 0, data: [] };
  const first = Math.min(...present.map((p) => p.first));
  const last = Math.max(...present.map((p) => p.first + p.length));
  const data = new Array<number>((last - first) * SERIES_COLUMNS).fill(0);
  for (const p of present) {
    const shift = (p.first - first) * SERIES_COLUMNS;
    for (let i = 0; i < p.data.length; i++) data[shift + i]! += p.data[i]!;
  }
  return { first, length: last - first, data };
}

/** Columnar JSON form of a series (what results carry). */
export interface TimeSeries {
  /** Window width (s). */
  window: number;
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

export function seriesFromPartial(
  p: SeriesPartial,
  baseSec: number,
  windowNs: number,
  withFlowCounts: boolean,
): TimeSeries {
  const column = (c: number) => {
    const out: number[] = new Array(p.length);
    for (let i = 0; i < p.length; i++) out[i] = p.data[i * SERIES_COLUMNS + c]!;
    return out;
  };
  const start: number[] = [];
  const rttMean: (number | null)[] = [];
  for (let i = 0; i < p.length; i++) {
    start.push(baseSec + ((p.first + i) * windowNs) / 1e9);
    const n = p.data[i * SERIES_COLUMNS + SeriesColumn.RTT_COUNT]!;
    rttMean.push(n > 0 ? p.data[i * SERIES_COLUMNS + SeriesColumn.RTT_SUM_NS]! / n / 1e6 : null);
  }
  const series: TimeSeries = {
    window: windowNs / 1e9,
    start,
    packets: column(SeriesColumn.PACKETS),
    bytes: column(SeriesColumn.BYTES),
    upBytes: column(SeriesColumn.UP_BYTES),
    downBytes: column(SeriesColumn.DOWN_BYTES),
    downPayloadBytes: column(SeriesColumn.DOWN_PAYLOAD),
    retransmissions: column(SeriesColumn.RETX),
    outOfSequence: column(SeriesColumn.OUT_OF_SEQUENCE),
    rttMean,
    rttSamples: column(SeriesColumn.RTT_COUNT),
  };
  if (withFlowCounts) {
    series.activeFlows = column(SeriesColumn.ACTIVE_FLOWS);
    series.newFlows = column(SeriesColumn.NEW_FLOWS);
  }
  return series;
}
