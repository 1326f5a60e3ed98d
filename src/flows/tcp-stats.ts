import { TcpFlag } from "../packet/numbers/index.ts";
import type { FlowPacket } from "./flow-packet.ts";
import type { TcpDirectionResult } from "./results.ts";
import {
  RetxClass,
  SegmentList,
  type SegmentOwner,
  SegmentResult,
  TSTAT_MAX_SEGMENTS_PER_QUADRANT,
} from "./tcp-retransmissions.ts";
import { RttStats, rttSummary } from "./tcp-rtt.ts";

/**
 * Per-direction TCP statistics computed as tstat 3.3 computes its log_tcp_complete columns (core,
 * end-to-end and TCP-options sets); docs/flows.md gives every column's rule. Times are integer µs
 * since the engine's time base (tstat works on µs timestamps: the capture's ns are floored).
 * Sequence numbers stay raw unsigned 32-bit values, as tstat compares them.
 */
export class TcpHalf implements SegmentOwner {
  // Core set
  packets = 0;
  /** Frame bytes on the wire (what tshark's conv,tcp counts; not a tstat column). */
  wireBytes = 0;
  rst = 0;
  ackPackets = 0;
  pureAckPackets = 0;
  uniqueBytes = 0;
  dataPackets = 0;
  dataBytes = 0;
  retxPackets = 0;
  retxBytes = 0;
  outOfSequencePackets = 0;
  syn = 0;
  fin = 0;
  /** µs since the time base; -1 when none. */
  firstPayloadTime = -1;
  lastPayloadTime = -1;
  firstAckTime = -1;
  // End-to-end set
  readonly rttStats = new RttStats();
  /** tstat keeps 0 as "unset" for the minimum. */
  ttlMin = 0;
  ttlMax = 0;
  // Options set
  windowScaleOption = false;
  /** tstat's window_scale: the declared shift, reset to 0 once a non-SYN segment shows that not both sides offered it. */
  windowScale = 0;
  timestampsOption = false;
  sackPermitted = false;
  sackSegments = 0;
  mss = 0;
  segmentMin = 0;
  segmentMax = 0;
  windowMin = 0;
  windowMax = 0;
  /** Effective window of this side's last ACK or SYN segment (tstat win_curr). */
  windowCurrent = 0;
  zeroWindowPackets = 0;
  inflightMin = 0;
  inflightMax = 0;
  /** Data bytes sent before the other side acknowledged any (tstat initialwin_bytes, c_cwin_ini). */
  inflightInitial = 0;
  /** A SYN or FIN repeated with another sequence number (tstat bad_behavior, logged as c_syn_retx). */
  badBehavior = false;
  /** Out-of-sequence segments by cause, indexed by RetxClass. */
  readonly classes = new Float64Array(8);

  /** The flow's first packet was this side's SYN without ACK (tstat tracks and logs only such flows). */
  opener = false;
  /** tstat's "closed": the other side acknowledged this side's FIN. */
  closed = false;
  /** Sequence number of the SYN (tstat syn) and the FIN's number (tstat fin / fin_seqno). */
  synSeq = 0;
  finSeq = 0;
  /** Last ACK number this side sent, or the other side's SYN sequence before any (tstat ack). */
  ackSeq = 0;
  /** The other side acknowledged something beyond this side's SYN (tstat data_acked). */
  dataAcked = false;
  readonly segments: SegmentList;
  /** RTT sample produced by the last ACK this side received for its data (ns), -1 when none. */
  lastSample = -1;

  /** `maxSegmentsPerQuadrant`: tstat's MAX_SEG_PER_QUAD (100); 0 tracks every segment. */
  constructor(maxSegmentsPerQuadrant = TSTAT_MAX_SEGMENTS_PER_QUADRANT) {
    this.segments = new SegmentList(maxSegmentsPerQuadrant);
  }
}

/** Bits returned by `tcpPacket`. */
export const TcpEvent = {
  /** The segment was out of order (tstat out_order: it filled a gap below a recorded segment). */
  OUT_OF_SEQUENCE: 1,
  /** The segment repeated recorded sequence numbers (tstat c_pkts_retx). */
  RETRANSMISSION: 2,
  /** The segment's ACK produced an RTT sample for the other direction (in `other.lastSample`). */
  RTT_SAMPLE: 4,
  SYN: 8,
  FIN: 16,
  RST: 32,
  /** tstat ends the connection with this packet (an RST, or the ACK of the second FIN). */
  END: 64,
} as const;

/**
 * Accounts one TCP segment `d` sent by `h` to `r` at `now` (integer µs since the time base), in
 * tstat's order (docs/flows.md). Returns TcpEvent bits.
 */
export function tcpPacket(h: TcpHalf, r: TcpHalf, d: FlowPacket, now: number): number {
  let events = 0;
  const flags = d.tcpFlags;
  const dataLength = d.payloadLength;
  const isSyn = (flags & TcpFlag.SYN) !== 0;
  const isFin = (flags & TcpFlag.FIN) !== 0;
  const isRst = (flags & TcpFlag.RST) !== 0;
  const isAck = (flags & TcpFlag.ACK) !== 0;
  const seq = d.seq >>> 0;
  const ack = d.ack >>> 0;
  const end = (seq + dataLength) >>> 0;

  if (h.packets === 0 && r.packets === 0 && isSyn && !isAck) h.opener = true;
  h.wireBytes += d.wireLength;
  if (isSyn) {
    h.syn++;
    events |= TcpEvent.SYN;
  }
  if (isRst) {
    h.rst++;
    events |= TcpEvent.RST;
  }
  if (isFin) {
    h.fin++;
    events |= TcpEvent.FIN;
  }
  if (isAck && r.fin > 0 && ack >= (r.finSeq + 1) >>> 0) r.closed = true;

  let effectiveWindow = 0;
  if (isAck || isSyn) {
    effectiveWindow = d.window;
    if (h.windowScale > 0 && h.windowScaleOption && r.windowScaleOption) effectiveWindow *= 2 ** h.windowScale;
  }
  if (isSyn) {
    if (h.syn > 1 && h.synSeq !== seq) h.badBehavior = true;
    h.synSeq = seq;
    r.ackSeq = seq;
  }
  if (isFin) {
    if (h.fin > 1 && h.finSeq !== end) h.badBehavior = true;
    h.finSeq = end;
  }
  // Options (parsed in full on SYN segments; SACK blocks on every segment).
  if (isSyn) {
    if (d.mss >= 0) h.mss = d.mss;
    if (d.windowScale >= 0) {
      h.windowScale = d.windowScale;
      h.windowScaleOption = true;
    }
    if (d.timestamps) h.timestampsOption = true;
    if (d.sackPermitted) h.sackPermitted = true;
  } else if (!h.windowScaleOption || !r.windowScaleOption) {
    h.windowScale = 0;
    r.windowScale = 0;
  }
  if (d.sack) h.sackSegments++;

  if (dataLength > 0) {
    h.dataPackets++;
    h.dataBytes += dataLength;
    if (dataLength > h.segmentMax) h.segmentMax = dataLength;
    if (h.segmentMin === 0 || dataLength < h.segmentMin) h.segmentMin = dataLength;
  }
  const ttl = d.ttl;
  if (h.ttlMin === 0 || h.ttlMin > ttl) h.ttlMin = ttl;
  if (h.ttlMax < ttl) h.ttlMax = ttl;
  h.packets++;

  // Retransmissions and out-of-order segments (SYN and FIN take one sequence number each).
  let retransmitted = 0;
  let outOfOrder = false;
  if (isSyn || isFin || dataLength > 0) {
    let length = dataLength;
    if (isSyn) length++;
    if (isFin) length++;
    retransmitted = h.segments.add(h, r, seq | 0, length, d.ipId, now);
    outOfOrder = (h.segments.flags & SegmentResult.OUT_OF_ORDER) !== 0;
    let repeated = retransmitted;
    if (isSyn) {
      length--;
      if (h.syn > 1 && repeated > 0) repeated--;
    }
    if (isFin) {
      length--;
      if (h.fin > 1 && repeated > 0) repeated--;
    }
    if (repeated < length) h.uniqueBytes += length - repeated;
    if (retransmitted > 0) {
      h.retxPackets++;
      h.retxBytes += repeated;
      events |= TcpEvent.RETRANSMISSION;
    }
  }
  if (outOfOrder) {
    h.outOfSequencePackets++;
    events |= TcpEvent.OUT_OF_SEQUENCE;
  }
  if (isAck) {
    const sample = r.segments.acknowledge(ack | 0, now, r.rttStats);
    if (sample >= 0) {
      r.lastSample = sample * 1000;
      events |= TcpEvent.RTT_SAMPLE;
    }
  }

  if (isRst) {
    if (isAck) h.ackPackets++;
    return events | TcpEvent.END;
  }

  if (isAck || isSyn) {
    h.windowCurrent = effectiveWindow;
    if (effectiveWindow > h.windowMax) h.windowMax = effectiveWindow;
    if (effectiveWindow > 0 && (h.windowMin === 0 || effectiveWindow < h.windowMin)) h.windowMin = effectiveWindow;
  }
  if (isAck) {
    if (effectiveWindow === 0) h.zeroWindowPackets++;
    h.ackPackets++;
    if (dataLength === 0 && !isSyn && !isFin) h.pureAckPackets++;
    h.ackSeq = ack;
    if (!r.dataAcked && (r.synSeq + 1) >>> 0 !== ack) r.dataAcked = true;
    if (!isSyn && h.firstAckTime < 0) h.firstAckTime = now;
  }
  if (dataLength > 0) {
    if (!h.dataAcked && retransmitted === 0) h.inflightInitial += dataLength;
    if (h.firstPayloadTime < 0) h.firstPayloadTime = now;
    h.lastPayloadTime = now;
  }
  // In-flight bytes at each in-order segment (tstat's congestion window estimate).
  if (!isSyn && !outOfOrder && retransmitted === 0) {
    const inflight = (end - r.ackSeq) >>> 0;
    if ((inflight | 0) > 0) {
      if (inflight > h.inflightMax) h.inflightMax = inflight;
      if (h.inflightMin === 0 || inflight < h.inflightMin) h.inflightMin = inflight;
    }
  }
  if (h.closed && r.closed) events |= TcpEvent.END;
  return events;
}

const msSince = (us: number, originUs: number) => (us < 0 ? null : (us - originUs) / 1000);
const orNull = (v: number) => (v === 0 ? null : v);

/** The result of one direction; `originNs` is the flow's first packet (ns since the time base). */
export function tcpDirectionResult(h: TcpHalf, originNs: number): TcpDirectionResult {
  const c = h.classes;
  const originUs = Math.floor(originNs / 1000);
  return {
    packets: h.packets,
    wireBytes: h.wireBytes,
    rst: h.rst,
    ackPackets: h.ackPackets,
    pureAckPackets: h.pureAckPackets,
    uniqueBytes: h.uniqueBytes,
    dataPackets: h.dataPackets,
    dataBytes: h.dataBytes,
    retxPackets: h.retxPackets,
    retxBytes: h.retxBytes,
    outOfSequencePackets: h.outOfSequencePackets,
    syn: h.syn,
    fin: h.fin,
    firstPayloadMs: msSince(h.firstPayloadTime, originUs),
    lastPayloadMs: msSince(h.lastPayloadTime, originUs),
    firstAckMs: msSince(h.firstAckTime, originUs),
    rtt: rttSummary(h.rttStats),
    ttlMin: h.packets > 0 ? h.ttlMin : null,
    ttlMax: h.packets > 0 ? h.ttlMax : null,
    windowScaleOption: h.windowScaleOption,
    windowScale: h.windowScale,
    timestampsOption: h.timestampsOption,
    sackPermitted: h.sackPermitted,
    sackSegments: h.sackSegments,
    mss: orNull(h.mss),
    segmentMin: orNull(h.segmentMin),
    segmentMax: orNull(h.segmentMax),
    windowMin: orNull(h.windowMin),
    windowMax: h.packets > 0 ? h.windowMax : null,
    zeroWindowPackets: h.zeroWindowPackets,
    inflightMin: orNull(h.inflightMin),
    inflightMax: orNull(h.inflightMax),
    inflightInitial: h.inflightInitial,
    rto: c[RetxClass.RTO]!,
    fastRetransmit: c[RetxClass.FAST_RETRANSMIT]!,
    reordering: c[RetxClass.REORDERING]!,
    networkDuplicate: c[RetxClass.NETWORK_DUPLICATE]!,
    unnecessaryRto: c[RetxClass.UNNECESSARY_RTO]!,
    unnecessaryFastRetransmit: c[RetxClass.UNNECESSARY_FAST_RETRANSMIT]!,
    flowControl: c[RetxClass.FLOW_CONTROL]!,
    unknown: c[RetxClass.UNKNOWN]!,
    synRetx: h.badBehavior ? 1 : 0,
  };
}

export { RetxClass };
