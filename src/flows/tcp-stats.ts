import { TcpFlag } from "../packet/dissect.ts";
import type { FlowPacket } from "./flow-packet.ts";
import { RunningStats } from "./running-stats.ts";
import { type ClassifyInput, classifyOutOfSequence, HoleSet, RetxClass } from "./tcp-retransmissions.ts";
import { SegmentRing } from "./tcp-rtt.ts";

/**
 * Per-direction TCP statistics with tstat 3.3 log_tcp_complete semantics (core, end-to-end and
 * TCP-options sets). Times are integer nanoseconds since the engine's time base. Sequence numbers
 * are unwrapped to doubles relative to the direction's initial sequence number (SYN = 0, first
 * data byte = 1), so flows longer than 4 GiB need no special case.
 */
export class TcpHalf {
  // Core set
  packets = 0;
  /** Frame bytes on the wire (what tshark's conv,tcp counts). */
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
  firstTime = -1;
  lastTime = -1;
  firstPayloadTime = -1;
  lastPayloadTime = -1;
  firstAckTime = -1;
  // End-to-end set
  readonly rtt = new RunningStats();
  ttlMin = -1;
  ttlMax = -1;
  // Options set
  windowScaleOption = false;
  windowScale = -1;
  timestampsOption = false;
  sackPermitted = false;
  sackSegments = 0;
  mss = -1;
  segmentMin = -1;
  segmentMax = 0;
  windowMin = -1;
  windowMax = 0;
  zeroWindowPackets = 0;
  inflightMin = -1;
  inflightMax = 0;
  inflightInitial = -1;
  synRetx = 0;
  /** Out-of-sequence segments by cause, indexed by RetxClass. */
  readonly classes = new Float64Array(8);

  // Sequence state (relative, unwrapped)
  baseKnown = false;
  baseSeq = 0;
  synSeq = -1;
  /** End (exclusive) of the highest data byte seen. */
  highest = 1;
  highestTime = 0;
  /** Highest cumulative ACK this side sent, in the other side's relative sequence space. */
  ackKnown = false;
  lastAck = 0;
  /** Duplicate ACKs sent for `lastAck`. */
  dupAcks = 0;
  lastWindowZero = false;
  readonly ring = new SegmentRing();
  readonly holes = new HoleSet();
  /** RFC 6298 estimator over this direction's RTT samples (ns); srtt < 0 until the first sample. */
  srtt = -1;
  rttvar = 0;
  /** RTT sample produced by the last ACK this side received for its data (ns), -1 when none. */
  lastSample = -1;
}

/** Bits returned by `tcpPacket`. */
export const TcpEvent = {
  /** The segment was an out-of-sequence data segment (retransmission, reordering, …). */
  OUT_OF_SEQUENCE: 1,
  /** The segment was a retransmission of already-seen bytes (tstat c_pkts_retx). */
  RETRANSMISSION: 2,
  /** The segment's ACK produced an RTT sample for the other direction (in `other.lastSample`). */
  RTT_SAMPLE: 4,
  SYN: 8,
  FIN: 16,
  RST: 32,
} as const;

const MIN_RTO_NS = 200e6; // Linux TCP_RTO_MIN
const MAX_RTO_NS = 120e9;
const INITIAL_RTO_NS = 1e9; // RFC 6298 §2.1
const REORDER_FALLBACK_NS = 3e6; // before any RTT sample: tshark's out-of-order default

const scratch: ClassifyInput = {
  neverSeen: false,
  sinceCopy: -1,
  recoveryTime: 0,
  alreadyAcked: false,
  dupAcks: 0,
  receiverWindowZero: false,
  payloadLength: 0,
  rttMin: 0,
  rto: 0,
};

function rtoOf(h: TcpHalf): number {
  if (h.srtt < 0) return INITIAL_RTO_NS;
  const rto = h.srtt + Math.max(1e6, 4 * h.rttvar);
  return rto < MIN_RTO_NS ? MIN_RTO_NS : rto > MAX_RTO_NS ? MAX_RTO_NS : rto;
}

function addRttSample(h: TcpHalf, sample: number): void {
  h.rtt.add(sample);
  h.lastSample = sample;
  if (h.srtt < 0) {
    h.srtt = sample;
    h.rttvar = sample / 2;
  } else {
    h.rttvar = 0.75 * h.rttvar + 0.25 * Math.abs(h.srtt - sample);
    h.srtt = 0.875 * h.srtt + 0.125 * sample;
  }
}

/** Accounts one TCP segment `d` sent by `h` to `r` at time `t` (ns). Returns TcpEvent bits. */
export function tcpPacket(h: TcpHalf, r: TcpHalf, d: FlowPacket, t: number): number {
  let events = 0;
  const flags = d.tcpFlags;
  const payload = d.payloadLength;
  const isSyn = (flags & TcpFlag.SYN) !== 0;
  const isFin = (flags & TcpFlag.FIN) !== 0;
  const isRst = (flags & TcpFlag.RST) !== 0;
  const isAck = (flags & TcpFlag.ACK) !== 0;

  h.packets++;
  h.wireBytes += d.wireLength;
  if (h.firstTime < 0) h.firstTime = t;
  h.lastTime = t;
  const ttl = d.ttl;
  if (h.ttlMin < 0 || ttl < h.ttlMin) h.ttlMin = ttl;
  if (ttl > h.ttlMax) h.ttlMax = ttl;

  if (d.sack) h.sackSegments++;

  if (isSyn) {
    events |= TcpEvent.SYN;
    h.syn++;
    if (h.synSeq >= 0 && h.synSeq === d.seq) h.synRetx++;
    if (h.synSeq < 0 || !h.baseKnown) {
      h.synSeq = d.seq;
      h.baseSeq = d.seq;
      h.baseKnown = true;
      h.highest = 1;
      h.highestTime = t;
    }
    // Options from the SYN (parsed once by extractFlowPacket).
    if (d.mss >= 0) h.mss = d.mss;
    if (d.windowScale >= 0) {
      h.windowScaleOption = true;
      h.windowScale = d.windowScale;
    }
    if (d.timestamps) h.timestampsOption = true;
    if (d.sackPermitted) h.sackPermitted = true;
  } else if (!h.baseKnown) {
    h.baseSeq = (d.seq - 1) >>> 0;
    h.baseKnown = true;
    h.highest = 1;
    h.highestTime = t;
  }
  if (isRst) {
    events |= TcpEvent.RST;
    h.rst++;
  }
  if (isFin) {
    events |= TcpEvent.FIN;
    h.fin++;
  }

  // Advertised window, scaled (RFC 7323 §2.2: never in a SYN, and only when both sides offered scaling).
  if (!isRst) {
    const raw = d.window;
    const scaled = !isSyn && h.windowScale >= 0 && r.windowScale >= 0 ? raw * 2 ** h.windowScale : raw;
    if (h.windowMin < 0 || scaled < h.windowMin) h.windowMin = scaled;
    if (scaled > h.windowMax) h.windowMax = scaled;
    h.lastWindowZero = raw === 0;
    if (raw === 0) h.zeroWindowPackets++;
  }

  if (isAck) {
    h.ackPackets++;
    if (payload === 0 && !isSyn && !isFin && !isRst) h.pureAckPackets++;
    if (!isSyn && h.firstAckTime < 0) h.firstAckTime = t;
    if (!r.baseKnown) {
      r.baseSeq = (d.ack - 1) >>> 0;
      r.baseKnown = true;
      r.highest = 1;
      r.highestTime = t;
    }
    const reference = h.ackKnown ? h.lastAck : r.highest;
    const ackRel = reference + ((d.ack - ((r.baseSeq + reference) >>> 0)) | 0);
    if (!h.ackKnown || ackRel > h.lastAck) {
      const sample = r.ring.acknowledge(ackRel, t);
      if (sample >= 0) {
        addRttSample(r, sample);
        events |= TcpEvent.RTT_SAMPLE;
      }
      h.lastAck = ackRel;
      h.ackKnown = true;
      h.dupAcks = 0;
    } else if (ackRel === h.lastAck && payload === 0 && !isSyn && !isFin && !isRst && r.highest > ackRel) {
      h.dupAcks++;
    }
  }

  if (payload > 0) {
    h.dataPackets++;
    h.dataBytes += payload;
    if (h.firstPayloadTime < 0) h.firstPayloadTime = t;
    h.lastPayloadTime = t;
    if (h.segmentMin < 0 || payload < h.segmentMin) h.segmentMin = payload;
    if (payload > h.segmentMax) h.segmentMax = payload;

    const highest = h.highest;
    const start = highest + ((d.seq - ((h.baseSeq + highest) >>> 0)) | 0);
    const end = start + payload;
    if (start >= highest) {
      if (start > highest) h.holes.add(highest, start);
      h.uniqueBytes += payload;
      // A FIN rides after the data and is acknowledged with it (ACK = end + 1).
      h.ring.push(start, isFin ? end + 1 : end, t, d.ipId);
      h.highest = end;
      h.highestTime = t;
      if (r.ackKnown) {
        const inflight = end - r.lastAck;
        if (h.inflightInitial < 0) h.inflightInitial = inflight;
        if (h.inflightMin < 0 || inflight < h.inflightMin) h.inflightMin = inflight;
        if (inflight > h.inflightMax) h.inflightMax = inflight;
      }
    } else if (!(payload === 1 && start === highest - 1 && end === highest && r.ackKnown && r.lastAck === highest)) {
      // Out of sequence (a one-byte segment just below an all-acknowledged highest byte is a keep-alive).
      events |= TcpEvent.OUT_OF_SEQUENCE;
      const recoveryTime = t - h.highestTime;
      const below = end <= highest ? end : highest;
      let fresh = h.holes.fill(start, below);
      if (end > highest) {
        fresh += end - highest;
        h.highest = end;
        h.highestTime = t;
      }
      h.uniqueBytes += fresh;
      if (fresh < payload) {
        h.retxPackets++;
        h.retxBytes += payload - fresh;
        events |= TcpEvent.RETRANSMISSION;
      } else {
        h.outOfSequencePackets++;
      }
      const copyTime = fresh === 0 ? h.ring.findCopy(start, end, d.ipId) : -1;
      const rttMin = h.rtt.count > 0 ? h.rtt.min : REORDER_FALLBACK_NS;
      const x = scratch;
      x.neverSeen = fresh === payload;
      x.sinceCopy = copyTime >= 0 ? t - copyTime : -1;
      x.recoveryTime = recoveryTime;
      x.alreadyAcked = r.ackKnown && end <= r.lastAck;
      x.dupAcks = r.dupAcks;
      x.receiverWindowZero = r.lastWindowZero;
      x.payloadLength = payload;
      x.rttMin = rttMin;
      x.rto = rtoOf(h);
      const cls = classifyOutOfSequence(x);
      h.classes[cls]!++;
      h.ring.markRetransmitted(start, end);
    }
  }
  return events;
}

/** True once both SYNs offered window scaling (tstat reports scaling per side regardless). */
export function windowScalingActive(a: TcpHalf, b: TcpHalf): boolean {
  return a.windowScale >= 0 && b.windowScale >= 0;
}

export { RetxClass };
