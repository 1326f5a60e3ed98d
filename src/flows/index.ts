export { type AnalyzeOptions, analyzeCaptureFile, compileFilterExpression } from "./analyze.ts";
export { type ChunkList, ChunkTracker } from "./chunks.ts";
export { FLOW_COLUMNS, type FlowColumn, SERIES_COLUMNS_OUT } from "./columns.ts";
export { createFlowEngine, type FlowEngine, type FlowEngineOptions, type PacketPredicate } from "./engine.ts";
export type { CaptureFeatures, FlowFeatures } from "./features.ts";
export { finalizeResults } from "./finalize.ts";
export { KEY_WORDS, keyHash, loadKey } from "./flow-key.ts";
export { FlowTable } from "./flow-table.ts";
export type {
  CaptureCounters,
  Endpoint,
  FlowResult,
  FlowsResult,
  PartialResult,
  TcpDirectionResult,
  TcpFlowResult,
  TcpState,
  UdpDirectionResult,
  UdpFlowResult,
} from "./results.ts";
export { percentile, RunningStats, type StatsSummary } from "./running-stats.ts";
export { parseTcpOptions, TcpOptions } from "./tcp-options.ts";
export { RetxClass, TSTAT_MAX_SEGMENTS_PER_QUADRANT } from "./tcp-retransmissions.ts";
export type { TimeSeries } from "./time-series.ts";
