import type { ChunkList } from "./chunks.ts";
import type { CaptureFeatures, FlowFeatures } from "./features.ts";
import type { StatsSummary } from "./running-stats.ts";
import type { SeriesPartial, TimeSeries } from "./time-series.ts";

/** Endpoint of a flow. */
export interface Endpoint {
  address: string;
  port: number;
}

/** Why/how a TCP connection ended (see docs/flows.md). */
export type TcpState = "complete" | "reset" | "timeout" | "open";

/** One direction of a TCP connection: tstat log_tcp_complete core, end-to-end and options sets. */
export interface TcpDirectionResult {
  packets: number;
  wireBytes: number;
  rst: number;
  ackPackets: number;
  pureAckPackets: number;
  uniqueBytes: number;
  dataPackets: number;
  dataBytes: number;
  retxPackets: number;
  retxBytes: number;
  outOfSequencePackets: number;
  syn: number;
  fin: number;
  /** ms since the flow's first packet; null when none. */
  firstPayloadMs: number | null;
  lastPayloadMs: number | null;
  firstAckMs: number | null;
  /** RTT of this direction's data (data sent by this side, ACK from the other), ms. */
  rtt: StatsSummary;
  ttlMin: number | null;
  ttlMax: number | null;
  windowScaleOption: boolean;
  windowScale: number | null;
  timestampsOption: boolean;
  sackPermitted: boolean;
  sackSegments: number;
  mss: number | null;
  segmentMin: number | null;
  segmentMax: number | null;
  windowMin: number | null;
  windowMax: number | null;
  zeroWindowPackets: number;
  inflightMin: number | null;
  inflightMax: number | null;
  inflightInitial: number | null;
  rto: number;
  fastRetransmit: number;
  reordering: number;
  networkDuplicate: number;
  unnecessaryRto: number;
  unnecessaryFastRetransmit: number;
  flowControl: number;
  unknown: number;
  synRetx: number;
}

export interface UdpDirectionResult {
  packets: number;
  wireBytes: number;
  payloadBytes: number;
  /** ms since the flow's first packet; null when this direction sent nothing. */
  firstMs: number | null;
  lastMs: number | null;
  ttlMin: number | null;
  ttlMax: number | null;
  /** Payload size (B). */
  size: StatsSummary;
  /** Inter-arrival time (ms). */
  interArrival: StatsSummary;
}

interface FlowCommon {
  ipVersion: number;
  client: Endpoint;
  server: Endpoint;
  /** 0-based number (in the input) of the flow's first packet; results are sorted by it. */
  firstPacket: number;
  /**
   * The flow was first seen inside a UDP tunnel (`tunnels: "both"`); absent otherwise. Its first
   * packet's frame is also its tunnel's, whose flow comes first.
   */
  tunnelled?: true;
  /** First and last packet, ms since the Unix epoch. */
  start: number;
  end: number;
  durationMs: number;
  series?: TimeSeries;
  chunks?: ChunkList;
  features?: FlowFeatures;
}

export interface TcpFlowResult extends FlowCommon {
  proto: "tcp";
  /** SYN, SYN/ACK and the client's ACK were all seen (tstat drops flows without). */
  handshake: boolean;
  state: TcpState;
  /** Which tstat log would hold this flow; null where tstat drops it (no handshake). */
  tstatLog: "log_tcp_complete" | "log_tcp_nocomplete" | null;
  c2s: TcpDirectionResult;
  s2c: TcpDirectionResult;
}

export interface UdpFlowResult extends FlowCommon {
  proto: "udp";
  state: "timeout" | "open";
  c2s: UdpDirectionResult;
  s2c: UdpDirectionResult;
}

export type FlowResult = TcpFlowResult | UdpFlowResult;

export interface CaptureCounters {
  packets: number;
  wireBytes: number;
  tcpPackets: number;
  udpPackets: number;
  /** IP packets of other protocols, non-IP frames and later IP fragments. */
  otherPackets: number;
  /** Packets whose headers were cut short or inconsistent (counted, then skipped or used as far as valid). */
  malformedPackets: number;
  truncated: number;
  badLength: number;
  badVersion: number;
  unknownLink: number;
  tooDeep: number;
  /** Packets the filter rejected. */
  filteredOut: number;
  /** Epoch seconds of the first and last packet (null when empty). */
  first: number | null;
  last: number | null;
}

/** What one engine (or one worker shard) hands to `finalizeResults`. */
export interface PartialResult {
  baseSec: number;
  windowNs: number;
  /** Window 0 starts this many ns after `baseSec` (FlowEngineOptions.windowOrigin). */
  originNs: number;
  /** Packets this shard owned (each packet is counted by exactly one shard). */
  counters: CaptureCounters;
  series: SeriesPartial;
  flows: FlowResult[];
  /** Flows handed to `onFlow` instead of being kept. */
  streamedFlows: number;
}

export interface FlowsResult {
  /** Result format version. */
  version: 1;
  capture: CaptureCounters & {
    durationS: number;
    /** Flows in `flows`. */
    tcpFlows: number;
    udpFlows: number;
    /** Flows handed to `onFlow` (not in `flows`). */
    streamedFlows: number;
    window: number;
  };
  flows: FlowResult[];
  series: TimeSeries;
  features?: CaptureFeatures;
}

/** Result order: by first packet, a tunnel's flow before the flow inside it. */
export function byFirstPacket(a: FlowResult, b: FlowResult): number {
  return a.firstPacket - b.firstPacket || (a.tunnelled ? 1 : 0) - (b.tunnelled ? 1 : 0);
}
