import type { ChunkList } from "./chunks.ts";
import type { FlowResult } from "./results.ts";
import { percentile, type RunningStats } from "./running-stats.ts";
import { SERIES_COLUMNS, SeriesColumn, type SeriesPartial, seriesSpanWindows, type TimeSeries } from "./time-series.ts";

/**
 * Features for QoE learning, per flow and per capture. Every name carries its unit; docs/flows.md
 * ("Features") defines each one. Values are numbers, or null where undefined (no data).
 */
export type FlowFeatures = Record<string, number | null>;
export type CaptureFeatures = Record<string, number | null>;

export interface FlowFeatureInputs {
  flowIat: RunningStats;
  upSize: RunningStats;
  downSize: RunningStats;
  upIat: RunningStats;
  downIat: RunningStats;
}

/** Moments as a pooled-merge-friendly triple. */
interface Moments {
  count: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
}

function momentsOf(s: RunningStats): Moments {
  return { count: s.count, mean: s.mean, m2: s.m2, min: s.min, max: s.max };
}

function putMoments(out: Record<string, number | null>, prefix: string, unit: string, m: Moments, scale = 1): void {
  const has = m.count > 0;
  out[`${prefix}_mean_${unit}`] = has ? m.mean * scale : null;
  out[`${prefix}_std_${unit}`] = has ? Math.sqrt(m.m2 / m.count) * scale : null;
  out[`${prefix}_min_${unit}`] = has ? m.min * scale : null;
  out[`${prefix}_max_${unit}`] = has ? m.max * scale : null;
}

/** Mean, std, coefficient of variation, min, percentiles and max of `values` under `prefix`. */
function putDistribution(out: Record<string, number | null>, prefix: string, unit: string, values: number[]): void {
  const n = values.length;
  const sorted = Float64Array.from(values).sort();
  let mean: number | null = null;
  let std: number | null = null;
  if (n > 0) {
    let sum = 0;
    for (const v of values) sum += v;
    mean = sum / n;
    let sq = 0;
    for (const v of values) sq += (v - mean) * (v - mean);
    std = Math.sqrt(sq / n);
  }
  out[`${prefix}_mean_${unit}`] = mean;
  out[`${prefix}_std_${unit}`] = std;
  out[`${prefix}_cv`] = mean !== null && mean > 0 && std !== null ? std / mean : null;
  out[`${prefix}_min_${unit}`] = n > 0 ? sorted[0]! : null;
  for (const p of [10, 25, 50, 75, 90]) out[`${prefix}_p${p}_${unit}`] = percentile(sorted, p);
  out[`${prefix}_max_${unit}`] = n > 0 ? sorted[n - 1]! : null;
}

function throughputs(bytes: readonly number[], windowS: number): number[] {
  return bytes.map((b) => (b * 8) / windowS);
}

function putChunks(out: Record<string, number | null>, lists: readonly ChunkList[]): void {
  const sizes: number[] = [];
  const durations: number[] = [];
  const gaps: number[] = [];
  for (const c of lists) {
    for (let i = 0; i < c.bytes.length; i++) {
      sizes.push(c.bytes[i]!);
      durations.push(c.end[i]! - c.start[i]!);
      if (i > 0) gaps.push(c.start[i]! - c.end[i - 1]!);
    }
  }
  out.chunk_count = sizes.length;
  const summary = (prefix: string, unit: string, values: number[]) => {
    const sorted = Float64Array.from(values).sort();
    const n = values.length;
    let sum = 0;
    for (const v of values) sum += v;
    out[`${prefix}_mean_${unit}`] = n > 0 ? sum / n : null;
    out[`${prefix}_median_${unit}`] = percentile(sorted, 50);
    out[`${prefix}_min_${unit}`] = n > 0 ? sorted[0]! : null;
    out[`${prefix}_max_${unit}`] = n > 0 ? sorted[n - 1]! : null;
  };
  summary("chunk_size", "B", sizes);
  summary("chunk_duration", "ms", durations);
  summary("chunk_gap", "ms", gaps);
}

/** Features of one finished flow (needs the flow's series and chunks). */
export function computeFlowFeatures(flow: FlowResult, inputs: FlowFeatureInputs): FlowFeatures {
  const out: FlowFeatures = {};
  out.duration_s = flow.durationMs / 1000;
  out.up_packets = flow.c2s.packets;
  out.down_packets = flow.s2c.packets;
  out.up_bytes = flow.c2s.wireBytes;
  out.down_bytes = flow.s2c.wireBytes;
  const series = flow.series;
  if (series) {
    putDistribution(out, "dl_tput", "bps", throughputs(series.downBytes, series.window));
    const ul = throughputs(series.upBytes, series.window);
    out.ul_tput_mean_bps = ul.length > 0 ? ul.reduce((a, b) => a + b, 0) / ul.length : null;
  }
  putMoments(out, "up_payload", "B", momentsOf(inputs.upSize));
  putMoments(out, "down_payload", "B", momentsOf(inputs.downSize));
  putMoments(out, "flow_iat", "ms", momentsOf(inputs.flowIat), 1e-6);
  putMoments(out, "up_iat", "ms", momentsOf(inputs.upIat), 1e-6);
  putMoments(out, "down_iat", "ms", momentsOf(inputs.downIat), 1e-6);
  putChunks(out, flow.chunks ? [flow.chunks] : []);
  if (flow.proto === "tcp") {
    const retx = flow.c2s.retxPackets + flow.s2c.retxPackets;
    const ooo = flow.c2s.outOfSequencePackets + flow.s2c.outOfSequencePackets;
    const data = flow.c2s.dataPackets + flow.s2c.dataPackets;
    out.retx_packets = retx;
    out.out_of_sequence_packets = ooo;
    out.retx_ratio = data > 0 ? (retx + ooo) / data : null;
    out.down_rtt_mean_ms = flow.s2c.rtt.mean;
    out.down_rtt_min_ms = flow.s2c.rtt.min;
    out.down_rtt_max_ms = flow.s2c.rtt.max;
    out.down_rtt_std_ms = flow.s2c.rtt.std;
    out.up_rtt_mean_ms = flow.c2s.rtt.mean;
  }
  return out;
}

/** Features of a whole capture: window throughput, flow counts, chunks of every flow, loss and RTT. */
export function computeCaptureFeatures(
  series: TimeSeries,
  raw: SeriesPartial,
  flows: readonly FlowResult[],
): CaptureFeatures {
  const out: CaptureFeatures = {};
  // The span from the first to the last occupied window (idle gaps left out of the series count too).
  out.duration_s = seriesSpanWindows(raw) * series.window;
  out.flows = flows.length;
  putDistribution(out, "dl_tput", "bps", throughputs(series.downBytes, series.window));
  const ul = throughputs(series.upBytes, series.window);
  out.ul_tput_mean_bps = ul.length > 0 ? ul.reduce((a, b) => a + b, 0) / ul.length : null;
  const active = series.activeFlows ?? [];
  out.active_flows_mean = active.length > 0 ? active.reduce((a, b) => a + b, 0) / active.length : null;
  let activeMax: number | null = null;
  for (const a of active) if (activeMax === null || a > activeMax) activeMax = a;
  out.active_flows_max = activeMax;
  // Pooled packet-size / inter-arrival moments over flows (fixed flow order → deterministic).
  const pool = (pick: (f: FlowResult) => FlowFeatures[string][], unitPrefix: string, unit: string) => {
    let count = 0;
    let mean = 0;
    let m2 = 0;
    let min = Number.POSITIVE_INFINITY;
    let max = Number.NEGATIVE_INFINITY;
    for (const f of flows) {
      const [n, fm, fs, fmin, fmax] = pick(f);
      if (!n || fm === null || fm === undefined) continue;
      const nn = count + n;
      const delta = fm - mean;
      m2 += (fs ?? 0) ** 2 * n + delta * delta * ((count * n) / nn);
      mean += delta * (n / nn);
      count = nn;
      if (fmin !== null && fmin !== undefined && fmin < min) min = fmin;
      if (fmax !== null && fmax !== undefined && fmax > max) max = fmax;
    }
    putMoments(out, unitPrefix, unit, { count, mean, m2, min, max });
  };
  const f = (x: FlowResult, name: string) => x.features?.[name] ?? null;
  pool(
    (x) => [
      x.c2s.packets,
      f(x, "up_payload_mean_B"),
      f(x, "up_payload_std_B"),
      f(x, "up_payload_min_B"),
      f(x, "up_payload_max_B"),
    ],
    "up_payload",
    "B",
  );
  pool(
    (x) => [
      x.s2c.packets,
      f(x, "down_payload_mean_B"),
      f(x, "down_payload_std_B"),
      f(x, "down_payload_min_B"),
      f(x, "down_payload_max_B"),
    ],
    "down_payload",
    "B",
  );
  putChunks(
    out,
    flows.flatMap((x) => (x.chunks ? [x.chunks] : [])),
  );
  let retx = 0;
  let ooo = 0;
  let data = 0;
  for (const x of flows) {
    if (x.proto !== "tcp") continue;
    retx += x.c2s.retxPackets + x.s2c.retxPackets;
    ooo += x.c2s.outOfSequencePackets + x.s2c.outOfSequencePackets;
    data += x.c2s.dataPackets + x.s2c.dataPackets;
  }
  out.retx_packets = retx;
  out.out_of_sequence_packets = ooo;
  out.retx_ratio = data > 0 ? (retx + ooo) / data : null;
  let rttSum = 0;
  let rttCount = 0;
  for (let i = 0; i < raw.windows.length; i++) {
    rttSum += raw.data[i * SERIES_COLUMNS + SeriesColumn.RTT_SUM_NS]!;
    rttCount += raw.data[i * SERIES_COLUMNS + SeriesColumn.RTT_COUNT]!;
  }
  out.rtt_mean_ms = rttCount > 0 ? rttSum / rttCount / 1e6 : null;
  out.rtt_samples = rttCount;
  return out;
}
