import { Anomaly, IpProto, TcpFlag } from "../packet/numbers/index.ts";
import { ChunkTracker, chunkList } from "./chunks.ts";
import { computeFlowFeatures } from "./features.ts";
import { finalizeResults } from "./finalize.ts";
import { KEY_WORDS, keyAddressText } from "./flow-key.ts";
import { type FlowPacket, PacketKind, type PacketPredicate } from "./flow-packet.ts";
import { FlowTable } from "./flow-table.ts";
import {
  byFirstPacket,
  type CaptureCounters,
  type FlowResult,
  type FlowsResult,
  type PartialResult,
  type TcpState,
  type UdpDirectionResult,
} from "./results.ts";
import { RunningStats, summarize } from "./running-stats.ts";
import { TSTAT_MAX_SEGMENTS_PER_QUADRANT } from "./tcp-retransmissions.ts";
import { TcpEvent, TcpHalf, tcpDirectionResult, tcpPacket } from "./tcp-stats.ts";
import { SeriesColumn, seriesFromPartial, WindowSeries } from "./time-series.ts";
import { UdpHalf, udpPacket } from "./udp-stats.ts";

export type { PacketPredicate };

export interface FlowEngineOptions {
  /** Time-series window (s). Default 1. */
  window?: number;
  /**
   * Where window 0 starts: "second", the whole second of the first packet (default: windows fall on
   * whole seconds, so series of captures taken together line up with each other and with player
   * logs), or "first-packet", the first packet itself (as tshark's io,stat and Wireshark's I/O graph).
   */
  windowOrigin?: "second" | "first-packet";
  /** Which transports to track. Default both. */
  protocols?: "tcp" | "udp" | "both";
  /**
   * Frames of a UDP tunnel (VXLAN, Geneve, GTP-U): "outer" (default) counts each in the tunnel's
   * own UDP flow only; "both" also in the flow inside, as tshark's conversations do. A frame counts
   * once in the capture's totals and in its series' packets and bytes either way.
   */
  tunnels?: "outer" | "both";
  /** Keep a time series per flow. Default false (the capture series is always kept). */
  series?: boolean;
  /** Compute QoE features per flow and per capture (implies per-flow series). Default false. */
  features?: boolean;
  filter?: PacketPredicate;
  /** TCP idle timeout (s), tstat TCP_Idle_Time. Default 300. */
  tcpIdleTimeout?: number;
  /** Timeout of a TCP flow that saw only SYNs (s), tstat TCP_Singleton_Time. Default 10. */
  tcpSynTimeout?: number;
  /** How long a closed (FIN/FIN or RST) TCP flow keeps absorbing late packets (s). Default 60. */
  tcpClosedLinger?: number;
  /**
   * Record every TCP segment for the retransmission and out-of-order accounting (tstat's
   * max_seg_per_quad = 0, "every hole") instead of tstat's default 100 records per sequence
   * quadrant. Default false (tstat's default).
   */
  tcpTrackAllSegments?: boolean;
  /** UDP idle timeout (s), tstat UDP_Idle_Time. Default 200. */
  udpIdleTimeout?: number;
  /** Downstream silence that ends a chunk (s). Default 0.5. */
  chunkGap?: number;
  /** Smallest upstream payload that counts as a request starting a new chunk (B). Default 100. */
  chunkRequestBytes?: number;
  /** Receives each flow when it ends; such flows are not kept in the result (memory stays bounded). */
  onFlow?: (flow: FlowResult) => void;
  /** Called for every RTT sample: packet number of the ACK, sample (ms), true when the sampled data went server → client. */
  onRttSample?: (packetNumber: number, rttMs: number, downstream: boolean) => void;
}

/**
 * The flow engine on packets already extracted (extract-flow-packet.ts): the single-threaded
 * engine (engine.ts) feeds it after dissecting each packet, a shard worker from the reader's ring.
 * The time base and the idle sweeps come from whoever sees every packet (sweep-clock.ts), so each
 * shard ends flows at exactly the times the single-threaded engine does.
 */
export interface ShardEngine {
  /**
   * Sets the time base from the input's first packet (its whole second; with `windowOrigin:
   * "first-packet"` its time too); before any packet.
   */
  setBase(tsSec: number, tsNsec: number): void;
  /** Ends flows idle at the time of the packet stamped (tsSec, tsNsec). */
  sweepAt(tsSec: number, tsNsec: number): void;
  /** Accounts one extracted packet (counting, filter flag, flow statistics). */
  accept(p: FlowPacket): void;
  /** Ends every live flow and returns the results. The engine is spent afterwards. */
  finish(): FlowsResult;
  /** Like `finish` but without the capture-level finalisation (for merging shards). */
  finishPartial(): PartialResult;
  /** Live flows in the table now. */
  readonly liveFlows: number;
}

const MALFORMED =
  Anomaly.TRUNCATED | Anomaly.BAD_LENGTH | Anomaly.BAD_VERSION | Anomaly.UNKNOWN_LINK | Anomaly.TOO_DEEP;
class Flow {
  listIndex = -1;
  lastWindow = -1;
  firstTime = 0;
  lastTime = 0;
  synSeen = false;
  synAckSeen = false;
  handshake = false;
  closed = false;
  /** First seen inside a UDP tunnel. */
  tunnelled = false;
  series: WindowSeries | null = null;
  chunks: ChunkTracker | null = null;
  flowIat: RunningStats | null = null;
  upSize: RunningStats | null = null;
  downSize: RunningStats | null = null;
  upIat: RunningStats | null = null;
  downIat: RunningStats | null = null;
  upLast = -1;
  downLast = -1;
  prevTime = -1;
  readonly tcpC2s: TcpHalf | null;
  readonly tcpS2c: TcpHalf | null;
  readonly udpC2s: UdpHalf | null;
  readonly udpS2c: UdpHalf | null;

  constructor(
    readonly id: number,
    readonly proto: number,
    readonly clientIsA: boolean,
    readonly firstPacket: number,
    segmentsPerQuadrant: number,
  ) {
    const tcp = proto === IpProto.TCP;
    this.tcpC2s = tcp ? new TcpHalf(segmentsPerQuadrant) : null;
    this.tcpS2c = tcp ? new TcpHalf(segmentsPerQuadrant) : null;
    this.udpC2s = tcp ? null : new UdpHalf();
    this.udpS2c = tcp ? null : new UdpHalf();
  }
}

function emptyCounters(): CaptureCounters {
  return {
    packets: 0,
    wireBytes: 0,
    tcpPackets: 0,
    udpPackets: 0,
    otherPackets: 0,
    malformedPackets: 0,
    truncated: 0,
    badLength: 0,
    badVersion: 0,
    unknownLink: 0,
    tooDeep: 0,
    filteredOut: 0,
    first: null,
    last: null,
  };
}

const ms = (ns: number) => ns / 1e6;
const msOrNull = (ns: number, origin: number) => (ns < 0 ? null : (ns - origin) / 1e6);
const orNull = (v: number) => (v < 0 ? null : v);

function udpDirection(h: UdpHalf, origin: number): UdpDirectionResult {
  return {
    packets: h.packets,
    wireBytes: h.wireBytes,
    payloadBytes: h.payloadBytes,
    firstMs: msOrNull(h.firstTime, origin),
    lastMs: msOrNull(h.lastTime, origin),
    ttlMin: orNull(h.ttlMin),
    ttlMax: orNull(h.ttlMax),
    size: summarize(h.size),
    interArrival: summarize(h.interArrival, 1e-6),
  };
}

/** Adds one packet to a window row of a capture or flow time series (same columns for both). */
function accountWindow(
  data: Float64Array,
  row: number,
  wire: number,
  payload: number,
  fromClient: boolean,
  events: number,
  rttSample: number,
): void {
  data[row + SeriesColumn.PACKETS]!++;
  data[row + SeriesColumn.BYTES]! += wire;
  if (fromClient) data[row + SeriesColumn.UP_BYTES]! += wire;
  else {
    data[row + SeriesColumn.DOWN_BYTES]! += wire;
    data[row + SeriesColumn.DOWN_PAYLOAD]! += payload;
  }
  accountEvents(data, row, events, rttSample);
}

/** Adds one packet's TCP events (retransmission, out of sequence, RTT sample) to a window row. */
function accountEvents(data: Float64Array, row: number, events: number, rttSample: number): void {
  if (events & TcpEvent.RETRANSMISSION) data[row + SeriesColumn.RETX]!++;
  else if (events & TcpEvent.OUT_OF_SEQUENCE) data[row + SeriesColumn.OUT_OF_SEQUENCE]!++;
  if (rttSample >= 0) {
    data[row + SeriesColumn.RTT_SUM_NS]! += rttSample;
    data[row + SeriesColumn.RTT_COUNT]!++;
  }
}

/**
 * Who is the client of a TCP connection whose handshake the capture missed (it started mid-way):
 * the side on a well-known or registered port (< 32768) facing an ephemeral one (Linux's range
 * starts at 32768) is the server; with both below 32768 the lower port serves; with both ephemeral
 * the first sender stays the client. `portA` is the first packet's sender.
 */
export function clientByPorts(portA: number, portB: number): boolean {
  const EPHEMERAL = 32768;
  if (portA === portB) return true;
  const aEphemeral = portA >= EPHEMERAL;
  const bEphemeral = portB >= EPHEMERAL;
  if (aEphemeral && bEphemeral) return true;
  if (aEphemeral !== bEphemeral) return aEphemeral;
  return portA > portB;
}

export function createShardEngine(options: FlowEngineOptions = {}): ShardEngine {
  const windowNs = Math.round((options.window ?? 1) * 1e9);
  if (!(windowNs > 0)) throw new RangeError(`window must be > 0 s (got ${options.window})`);
  const features = options.features === true;
  const flowSeries = options.series === true || features;
  const onFlow = options.onFlow;
  const onRttSample = options.onRttSample;
  const tcpIdleNs = (options.tcpIdleTimeout ?? 300) * 1e9;
  const tcpSynNs = (options.tcpSynTimeout ?? 10) * 1e9;
  const tcpClosedNs = (options.tcpClosedLinger ?? 60) * 1e9;
  const udpIdleNs = (options.udpIdleTimeout ?? 200) * 1e9;
  const segmentsPerQuadrant = options.tcpTrackAllSegments ? 0 : TSTAT_MAX_SEGMENTS_PER_QUADRANT;
  const chunkOptions = {
    gapNs: (options.chunkGap ?? 0.5) * 1e9,
    requestBytes: options.chunkRequestBytes ?? 100,
  };

  const table = new FlowTable();
  const flowsById: (Flow | undefined)[] = [];
  const live: Flow[] = [];
  const results: FlowResult[] = [];
  const counters = emptyCounters();
  const captureSeries = new WindowSeries(64);
  let streamed = 0;
  let baseSec = -1;
  // Window 0 starts this many ns after baseSec (0, or the first packet's fraction of a second).
  let originNs = 0;
  const originAtFirstPacket = options.windowOrigin === "first-packet";
  let finished = false;
  // Doubles written per packet live in a typed array: a closure variable holding a non-small
  // integer would allocate a heap number on every write.
  const time = new Float64Array(2);
  const FIRST_TS = 0;
  const LAST_TS = 1;
  time[FIRST_TS] = -1;
  time[LAST_TS] = -1;

  function flowResult(flow: Flow, state: "timeout" | "open"): FlowResult {
    const keyBase = flow.id * KEY_WORDS;
    const keys = table.keys;
    const a = { address: keyAddressText(keys, keyBase, 0), port: keys[keyBase + 2]! };
    const b = { address: keyAddressText(keys, keyBase, 1), port: keys[keyBase + 3]! };
    const common = {
      ipVersion: keys[keyBase + 1]!,
      client: flow.clientIsA ? a : b,
      server: flow.clientIsA ? b : a,
      firstPacket: flow.firstPacket,
      ...(flow.tunnelled ? { tunnelled: true as const } : {}),
      start: baseSec * 1000 + ms(flow.firstTime),
      end: baseSec * 1000 + ms(flow.lastTime),
      durationMs: ms(flow.lastTime - flow.firstTime),
    };
    let result: FlowResult;
    if (flow.tcpC2s && flow.tcpS2c) {
      const c2s = flow.tcpC2s;
      const s2c = flow.tcpS2c;
      let tcpState: TcpState = state;
      if (c2s.rst + s2c.rst > 0) tcpState = "reset";
      else if (c2s.fin > 0 && s2c.fin > 0) tcpState = "complete";
      result = {
        proto: "tcp",
        ...common,
        handshake: flow.handshake,
        state: tcpState,
        // tstat logs connections opened by a SYN; complete when both SYNs were seen and it ended.
        tstatLog: !c2s.opener
          ? null
          : tcpState !== "open" && c2s.syn > 0 && s2c.syn > 0
            ? "log_tcp_complete"
            : "log_tcp_nocomplete",
        c2s: tcpDirectionResult(c2s, flow.firstTime),
        s2c: tcpDirectionResult(s2c, flow.firstTime),
      };
    } else {
      result = {
        proto: "udp",
        ...common,
        state,
        c2s: udpDirection(flow.udpC2s!, flow.firstTime),
        s2c: udpDirection(flow.udpS2c!, flow.firstTime),
      };
    }
    if (flow.series) result.series = seriesFromPartial(flow.series.toPartial(), baseSec, windowNs, false, originNs);
    if (flow.chunks) {
      flow.chunks.finish();
      result.chunks = chunkList(flow.chunks);
    }
    if (features) {
      result.features = computeFlowFeatures(result, {
        flowIat: flow.flowIat!,
        upSize: flow.upSize!,
        downSize: flow.downSize!,
        upIat: flow.upIat!,
        downIat: flow.downIat!,
      });
    }
    return result;
  }

  function endFlow(flow: Flow, state: "timeout" | "open"): void {
    const result = flowResult(flow, state);
    table.remove(flow.id);
    flowsById[flow.id] = undefined;
    const last = live.pop()!;
    if (last !== flow) {
      live[flow.listIndex] = last;
      last.listIndex = flow.listIndex;
    }
    if (onFlow) {
      streamed++;
      onFlow(result);
    } else results.push(result);
  }

  function sweep(now: number): void {
    for (let i = live.length - 1; i >= 0; i--) {
      const flow = live[i]!;
      const idle = now - flow.lastTime;
      let limit: number;
      if (flow.proto === IpProto.UDP) limit = udpIdleNs;
      else if (flow.closed) limit = tcpClosedNs;
      else if (!flow.synAckSeen && flow.tcpC2s!.dataPackets + flow.tcpS2c!.dataPackets === 0) limit = tcpSynNs;
      else limit = tcpIdleNs;
      if (idle > limit) endFlow(flow, "timeout");
    }
  }

  function newFlow(p: FlowPacket, proto: number, clientIsA: boolean, t: number): Flow {
    const id = table.insert(p.key, p.hash);
    const flow = new Flow(id, proto, clientIsA, p.index, segmentsPerQuadrant);
    flow.firstTime = t;
    flow.tunnelled = p.inner;
    flow.listIndex = live.length;
    live.push(flow);
    flowsById[id] = flow;
    if (flowSeries) flow.series = new WindowSeries(4);
    if (features) {
      flow.chunks = new ChunkTracker(chunkOptions);
      flow.flowIat = new RunningStats();
      flow.upSize = new RunningStats();
      flow.downSize = new RunningStats();
      flow.upIat = new RunningStats();
      flow.downIat = new RunningStats();
    }
    return flow;
  }

  function countPacket(p: FlowPacket): void {
    counters.packets++;
    counters.wireBytes += p.wireLength;
    const ts = p.tsSec + p.tsNsec / 1e9;
    if (time[FIRST_TS]! < 0 || ts < time[FIRST_TS]!) time[FIRST_TS] = ts;
    if (ts > time[LAST_TS]!) time[LAST_TS] = ts;
    const anomalies = p.anomalies;
    if ((anomalies & MALFORMED) !== 0) {
      counters.malformedPackets++;
      if (anomalies & Anomaly.TRUNCATED) counters.truncated++;
      if (anomalies & Anomaly.BAD_LENGTH) counters.badLength++;
      if (anomalies & Anomaly.BAD_VERSION) counters.badVersion++;
      if (anomalies & Anomaly.UNKNOWN_LINK) counters.unknownLink++;
      if (anomalies & Anomaly.TOO_DEEP) counters.tooDeep++;
    }
    if (p.kind === PacketKind.TCP) counters.tcpPackets++;
    else if (p.kind === PacketKind.UDP) counters.udpPackets++;
    else counters.otherPackets++;
  }

  /** Time (ns) since the base second of a packet stamped (tsSec, tsNsec); never negative. */
  function relativeTime(tsSec: number, tsNsec: number): number {
    const t = (tsSec - baseSec) * 1e9 + tsNsec;
    return t < 0 ? 0 : t;
  }

  function sweepAt(tsSec: number, tsNsec: number): void {
    sweep(relativeTime(tsSec, tsNsec));
  }

  function setBase(tsSec: number, tsNsec: number): void {
    if (baseSec >= 0) return;
    baseSec = tsSec;
    if (originAtFirstPacket) originNs = tsNsec;
  }

  function accept(p: FlowPacket): void {
    if (finished) throw new Error("flow engine: packet after finish");
    if (!p.inner) countPacket(p);
    if (!p.flow) return;
    if (p.filteredOut) {
      if (!p.inner) counters.filteredOut++;
      return;
    }
    const t = relativeTime(p.tsSec, p.tsNsec);
    const proto = p.key[0]!;
    const flags = p.tcpFlags;
    let id = table.lookup(p.key, p.hash);
    let flow: Flow;
    let isNew = false;
    if (id < 0) {
      // TCP: a SYN/ACK as first packet means the receiver is the client.
      let clientIsA = true;
      if (proto === IpProto.TCP) {
        const synAck = TcpFlag.SYN | TcpFlag.ACK;
        if ((flags & synAck) === synAck) clientIsA = false;
        else if ((flags & TcpFlag.SYN) === 0) clientIsA = clientByPorts(p.key[2]!, p.key[3]!);
      }
      flow = newFlow(p, proto, clientIsA, t);
      isNew = true;
    } else {
      flow = flowsById[id]!;
      if (
        proto === IpProto.TCP &&
        (flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN &&
        (flow.closed ||
          ((table.lastSide === 0) === flow.clientIsA && flow.tcpC2s!.synSeq >= 0 && flow.tcpC2s!.synSeq !== p.seq))
      ) {
        // A new connection reusing the 4-tuple.
        endFlow(flow, "timeout");
        flow = newFlow(p, proto, true, t);
        isNew = true;
      }
    }
    id = flow.id;
    const fromClient = isNew ? flow.clientIsA : (table.lastSide === 0) === flow.clientIsA;
    flow.lastTime = t;
    const wire = p.wireLength;
    const payload = p.payloadLength;
    let events = 0;
    let rttSample = -1;
    if (proto === IpProto.TCP) {
      const c2s = flow.tcpC2s!;
      const s2c = flow.tcpS2c!;
      const h = fromClient ? c2s : s2c;
      const r = fromClient ? s2c : c2s;
      events = tcpPacket(h, r, p, Math.floor(t / 1000));
      if (events & TcpEvent.RTT_SAMPLE) {
        rttSample = r.lastSample;
        if (onRttSample) onRttSample(p.index, rttSample / 1e6, fromClient);
      }
      if (events & TcpEvent.SYN) {
        if (flags & TcpFlag.ACK) {
          if (!fromClient) flow.synAckSeen = true;
        } else if (fromClient) flow.synSeen = true;
      } else if (fromClient && flow.synSeen && flow.synAckSeen && (flags & TcpFlag.ACK) !== 0) {
        flow.handshake = true;
      }
      if (events & TcpEvent.RST || (c2s.fin > 0 && s2c.fin > 0)) flow.closed = true;
    } else {
      udpPacket(fromClient ? flow.udpC2s! : flow.udpS2c!, p, t);
    }

    // Time series.
    // A packet stamped before the first one (out of order) counts in window 0.
    const w = t > originNs ? Math.floor((t - originNs) / windowNs) : 0;
    const cs = captureSeries;
    const row = cs.row(w);
    const data = cs.data;
    if (p.inner) accountEvents(data, row, events, rttSample);
    else accountWindow(data, row, wire, payload, fromClient, events, rttSample);
    if (flow.lastWindow !== w) {
      data[row + SeriesColumn.ACTIVE_FLOWS]!++;
      flow.lastWindow = w;
    }
    if (isNew) data[row + SeriesColumn.NEW_FLOWS]!++;
    const fs = flow.series;
    if (fs !== null) {
      // row() may grow the array: take `data` after it.
      const flowRow = fs.row(w);
      accountWindow(fs.data, flowRow, wire, payload, fromClient, events, rttSample);
    }
    if (features) {
      if (flow.prevTime >= 0) flow.flowIat!.add(t - flow.prevTime);
      flow.prevTime = t;
      if (fromClient) {
        flow.upSize!.add(payload);
        if (flow.upLast >= 0) flow.upIat!.add(t - flow.upLast);
        flow.upLast = t;
        if (payload > 0) flow.chunks!.up(payload);
      } else {
        flow.downSize!.add(payload);
        if (flow.downLast >= 0) flow.downIat!.add(t - flow.downLast);
        flow.downLast = t;
        if (payload > 0) flow.chunks!.down(t, payload);
      }
    }
    // tstat ends a connection at its first RST or at the ACK of the second FIN; later packets
    // of the 4-tuple make a new flow (one without handshake unless it starts with a SYN).
    if (events & TcpEvent.END) endFlow(flow, "timeout");
  }

  function finishPartial(): PartialResult {
    if (finished) throw new Error("flow engine: finish called twice");
    finished = true;
    for (let i = live.length - 1; i >= 0; i--) endFlow(live[i]!, "open");
    results.sort(byFirstPacket);
    counters.first = time[FIRST_TS]! < 0 ? null : time[FIRST_TS]!;
    counters.last = time[LAST_TS]! < 0 ? null : time[LAST_TS]!;
    return {
      baseSec: baseSec < 0 ? 0 : baseSec,
      windowNs,
      originNs,
      counters,
      series: captureSeries.toPartial(),
      flows: results,
      streamedFlows: streamed,
    };
  }

  return {
    setBase,
    sweepAt,
    accept,
    finishPartial,
    finish: () => finalizeResults([finishPartial()], { features }),
    get liveFlows() {
      return table.size;
    },
  };
}
