import { computeCaptureFeatures } from "./features.ts";
import { byFirstPacket, type CaptureCounters, type FlowsResult, type PartialResult } from "./results.ts";
import { mergeSeries, seriesFromPartial } from "./time-series.ts";

/**
 * Merges engine partials (one, or one per worker shard) into the final result. Every merged
 * quantity is an integer sum or a per-flow value computed wholly inside one shard, and flows are
 * ordered by their first packet, so N shards give exactly the single-engine result.
 */
export function finalizeResults(parts: readonly PartialResult[], options: { features?: boolean } = {}): FlowsResult {
  const first = parts[0];
  if (!first) throw new Error("finalizeResults: no partial results");
  // Every packet is counted by exactly one shard: sum the counters, min/max the times.
  const counters: CaptureCounters = { ...first.counters };
  for (const part of parts.slice(1)) {
    const c = part.counters;
    for (const key of Object.keys(counters) as (keyof CaptureCounters)[]) {
      if (key === "first" || key === "last") continue;
      counters[key] += c[key];
    }
    if (c.first !== null && (counters.first === null || c.first < counters.first)) counters.first = c.first;
    if (c.last !== null && (counters.last === null || c.last > counters.last)) counters.last = c.last;
  }
  const flows = parts.flatMap((p) => p.flows).sort(byFirstPacket);
  const raw = mergeSeries(parts.map((p) => p.series));
  const series = seriesFromPartial(raw, first.baseSec, first.windowNs, true, first.originNs);
  let tcpFlows = 0;
  let udpFlows = 0;
  for (const f of flows) {
    if (f.proto === "tcp") tcpFlows++;
    else udpFlows++;
  }
  const result: FlowsResult = {
    version: 1,
    capture: {
      ...counters,
      durationS: counters.first !== null && counters.last !== null ? counters.last - counters.first : 0,
      tcpFlows,
      udpFlows,
      streamedFlows: parts.reduce((n, p) => n + p.streamedFlows, 0),
      window: first.windowNs / 1e9,
    },
    flows,
    series,
  };
  if (options.features) result.features = computeCaptureFeatures(series, raw, flows);
  return result;
}
