import { nextJitter } from "../common/index.ts";
import { type PacketRecord, type RtpHeaderView, staticPayloadType } from "../packet/index.ts";
import type { JitterBuffer } from "./jitter-buffer.ts";
import type { DynamicPayload } from "./sdp-endpoints.ts";

/**
 * Per-stream RTP analysis with the definitions of Wireshark's RTP Stream Analysis and
 * `tshark -q -z rtp,streams` (all times in ms, relative to the first packet of the capture):
 *
 * - delta: arrival time minus the previous in-order packet's arrival.
 * - jitter (RFC 3550 §6.4.1 estimator): D = |arrival − (previous arrival + nominal − previous nominal)|,
 *   J ← (15·J + D)/16, where a packet's nominal time is its RTP timestamp's distance from the
 *   stream's first timestamp (mod 2^32) over the rate in samples per ms as an integer (clock rate /
 *   1000, truncated). A packet is "in time sequence" when that distance is less than 2^31: a
 *   timestamp before the first one (not merely before the previous packet's) is out of sequence,
 *   as tshark 3.x–4.0 judge it. Only packets in time sequence move the arrival reference; only those
 *   with a clock rate move the nominal one, so telephone-events and payload types the signalling
 *   did not name (no clock rate) leave the jitter alone.
 * - skew: nominal time − arrival time since the first packet (positive when the sender's clock runs fast).
 * - min/max/mean delta and jitter over "regular" packets only: not the first, no marker bit, not
 *   comfort noise (PT 13/19) nor the packet after it, timestamp in order. The means are running
 *   means whose divisor is the count of packets seen before (so a stream with markers divides by
 *   more deltas than it averaged, exactly like Wireshark).
 * - lost = expected − received, expected = last seq − first seq + 1 + 65536·wraps (negative with
 *   duplicates); sequence errors count packets whose sequence number was not previous + 1.
 * - bandwidth: IP + UDP + RTP bytes of the packets in the last second (20 + 8 bytes of headers for
 *   IPv4, 48 for IPv6), in kbit/s.
 */

export const STAT_FLAG = {
  FIRST: 0x001,
  MARKER: 0x002,
  WRONG_SEQ: 0x004,
  PT_CHANGE: 0x008,
  PT_CN: 0x010,
  FOLLOW_PT_CN: 0x020,
  REG_PT_CHANGE: 0x040,
  WRONG_TIMESTAMP: 0x080,
  PT_T_EVENT: 0x100,
  DUPLICATE: 0x200,
} as const;

const PT_CN = 13;
const PT_CN_OLD = 19;
const MIN_HEURISTIC_PACKETS = 4;
const BW_RING = 4096;

export interface RtpPacketRow {
  /** 1-based frame number in the capture (as Wireshark counts). */
  frame: number;
  sequence: number;
  /** Arrival time, seconds relative to the capture's first packet. */
  time: number;
  deltaMs: number;
  jitterMs: number;
  skewMs: number;
  /** IP bandwidth of the last second, kbit/s. */
  bandwidthKbps: number;
  marker: boolean;
  payloadType: number;
  status: string;
}

/** The codec name tshark prints for a payload type. */
export function payloadName(pt: number, dynamic: Map<number, DynamicPayload> | undefined): string {
  if (pt >= 96) return dynamic?.get(pt)?.encoding ?? `PT=${pt}`;
  switch (pt) {
    case 0:
      return "g711U";
    case 8:
      return "g711A";
    case 9:
      return "g722";
    case 18:
      return "g729";
    case 13:
    case 19:
      return "CN";
  }
  return staticPayloadType(pt)?.encoding ?? `PT=${pt}`;
}

/** tshark's short name of a static payload type (its RTP dissector's table, as `-z rtp,streams` prints it). */
const TSHARK_STATIC_NAMES = [
  "g711U",
  "fs-1016",
  "g721",
  "GSM",
  "g723",
  "DVI4 8k",
  "DVI4 16k",
  "Exp. from Xerox PARC",
  "g711A",
  "g722",
  "16-bit audio, stereo",
  "16-bit audio, monaural",
  "Qualcomm",
  "CN",
  "MPEG-I/II Audio",
  "g728",
  "DVI4 11k",
  "DVI4 22k",
  "g729",
  "CN(old)",
];
const TSHARK_NAMED_VIDEO: Record<number, string> = {
  25: "CellB",
  26: "JPEG",
  28: "NV",
  31: "h261",
  32: "MPEG-I/II Video",
  33: "MPEG-II streams",
  34: "h263",
};

/**
 * The names tshark's Payload column lists for the payload types a stream carried, in payload-type
 * order: static types by tshark's short names, dynamic ones by their SDP encoding or "RTPType-N".
 */
export function tsharkPayloadNames(seen: readonly (Map<number, DynamicPayload> | null | undefined)[]): string {
  const names: string[] = [];
  for (let pt = 0; pt < seen.length; pt++) {
    const dynamic = seen[pt];
    if (dynamic === undefined) continue;
    if (pt >= 96) names.push(dynamic?.get(pt)?.encoding ?? `RTPType-${pt}`);
    else if (pt >= 72 && pt <= 76) names.push("Reserved for RTCP conflict avoidance");
    else names.push(TSHARK_STATIC_NAMES[pt] ?? TSHARK_NAMED_VIDEO[pt] ?? "Unassigned");
  }
  return names.join(", ");
}

/** Wireshark's clock-rate table: the static types plus 1016 (1), G721 (2) and old CN (19). */
export function clockRateOf(
  pt: number,
  dynamic: Map<number, DynamicPayload> | undefined,
): { rate: number; event: boolean } {
  if (pt < 96) {
    if (pt === 1 || pt === 2 || pt === 19) return { rate: 8000, event: false };
    return { rate: staticPayloadType(pt)?.clockRate ?? 0, event: false };
  }
  const dyn = dynamic?.get(pt);
  if (!dyn) return { rate: 0, event: false };
  if (dyn.encoding.toLowerCase().startsWith("telephone-event")) return { rate: 0, event: true };
  return { rate: dyn.clockRate, event: false };
}

/**
 * Min, max and mean of a per-packet quantity (delta, jitter) over the regular packets, as Wireshark
 * keeps them: min is -1 until the first value, and the mean's divisor is the stream's packet count
 * passed in, not the number of values added (see the file comment).
 */
export class RegularPacketStats {
  min = -1;
  max = 0;
  mean = 0;

  add(value: number, packetCount: number): void {
    if (value > this.max) this.max = value;
    if (this.min === -1 || value < this.min) this.min = value;
    this.mean = (this.mean * (packetCount - 1) + value) / packetCount;
  }
}

/** Wireshark's bandwidth column: the bytes of the packets that arrived in the last second, in kbit/s. */
export class BandwidthWindow {
  /** kbit/s after the last `add`. */
  kbps = 0;
  private readonly bytes = new Float64Array(BW_RING);
  private readonly times = new Float64Array(BW_RING);
  private start = 0;
  private index = 0;
  private total = 0;

  /** A packet of `bytes` arrived at `now` (ms). */
  add(now: number, bytes: number): void {
    this.bytes[this.index] = bytes;
    this.times[this.index] = now;
    while (this.start !== this.index && this.times[this.start]! + 1000 < now) {
      this.total -= this.bytes[this.start]!;
      this.start = (this.start + 1) % BW_RING;
    }
    this.total += bytes;
    this.kbps = (this.total * 8) / 1000;
    this.index = (this.index + 1) % BW_RING;
    if (this.index === this.start) this.start = (this.start + 1) % BW_RING;
  }
}

/** One stream's running statistics (5-tuple + SSRC). */
export class StreamState {
  next: StreamState | null = null;
  signalled = false;
  /** On a port named by rtpPorts (--rtp-port). */
  byPort = false;
  dynamic: Map<number, DynamicPayload> | undefined;
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  // Wireshark-defined statistics.
  first = true;
  flags = 0;
  startSeq = 0;
  stopSeq = 0;
  seqNum = 0;
  seqCycles = 0;
  under = false;
  /** Extended timestamp of the last packet in time sequence. */
  seqTimestamp = 0;
  /** Raw RTP timestamp of the stream's first packet: in-time-sequence and nominal times count from it. */
  firstRawTs = 0;
  /** Arrival (ms) of the last packet in time sequence. */
  time = 0;
  /** Nominal time (ms) of the last packet in time sequence with a clock rate. */
  lastNominal = 0;
  pt = 0;
  regPt = -1;
  delta = 0;
  jitter = 0;
  skew = 0;
  maxSkew = 0;
  readonly deltaStats = new RegularPacketStats();
  /** Frame number (1-based) of the largest regular delta. */
  maxDeltaFrame = 0;
  readonly jitterStats = new RegularPacketStats();
  totalNr = 0;
  sequenceErrors = 0;
  problem = false;
  clockRate = 0;
  // Extended timestamp.
  lastRawTs = 0;
  extTs = 0;
  readonly bandwidth = new BandwidthWindow();
  // Extras.
  packets = 0;
  firstMs = 0;
  lastMs = 0;
  duplicates = 0;
  readonly seen = new Uint8Array(8192);
  /** Loss-run counters for BurstR, from in-order sequence progress. */
  highestSeq = -1;
  receivedInOrder = 0;
  lostInRuns = 0;
  lossRuns = 0;
  firstExt = 0;
  jitterBuffer: JitterBuffer | null = null;
  rows: RtpPacketRow[] | null = null;
  wrongTimestamps = 0;
  payloadChanges = 0;
  /**
   * Per payload type seen (0–127): the SDP payload map in force at its last packet (null: none),
   * which names a dynamic type as tshark names it at that packet; undefined: not seen.
   */
  readonly payloadTypesSeen = new Array<Map<number, DynamicPayload> | null | undefined>(128).fill(undefined);

  constructor(
    readonly ssrc: number,
    readonly ipVersion: number,
    readonly src4: number,
    readonly dst4: number,
    readonly srcPort: number,
    readonly dstPort: number,
  ) {}
}

/**
 * Wireshark's per-packet analysis of one packet of stream `s` (see the file comment for the
 * definitions): `rtp` its header, `now` its arrival in ms from the capture's first packet.
 */
export function analysePacket(
  s: StreamState,
  rtp: RtpHeaderView,
  record: PacketRecord,
  now: number,
  headerBytes: number,
  rtpLength: number,
): void {
  const seq = rtp.sequence;
  // Extended timestamp: follow 32-bit wraps by the signed step from the previous packet.
  if (s.packets === 0) s.extTs = rtp.timestamp;
  else s.extTs += (rtp.timestamp - s.lastRawTs) | 0;
  s.lastRawTs = rtp.timestamp;
  const ext = s.extTs;
  s.packets++;
  s.lastMs = now;
  s.payloadTypesSeen[rtp.payloadType] = s.dynamic ?? null;
  trackExtras(s, seq, ext, now, rtp.marker, rtp.payloadType);

  const bytes = rtpLength + headerBytes;
  if (s.first) {
    s.first = false;
    s.firstMs = now;
    s.firstExt = ext;
    s.startSeq = seq;
    s.stopSeq = seq;
    s.seqNum = seq;
    s.seqTimestamp = ext;
    s.firstRawTs = rtp.timestamp;
    s.time = now;
    s.pt = rtp.payloadType;
    s.regPt = rtp.payloadType;
    s.bandwidth.add(now, bytes);
    s.totalNr = 1;
    s.flags = STAT_FLAG.FIRST | (rtp.marker ? STAT_FLAG.MARKER : 0);
    s.clockRate = clockRateOf(rtp.payloadType, s.dynamic).rate;
    if (s.rows) s.rows.push(packetRow(record, s, seq, now, 0, 0, 0, rtp.marker, rtp.payloadType, s.flags));
    return;
  }
  let flags = 0;
  const sinceFirst = sinceFirstTimestamp(rtp.timestamp, s.firstRawTs);
  const inTimeSequence = sinceFirst < 0x80000000;
  if (!inTimeSequence) flags |= STAT_FLAG.WRONG_TIMESTAMP;

  if (seq < s.startSeq && inTimeSequence && !s.under) {
    s.seqCycles++;
    s.under = true;
  } else if (seq === 0 && s.stopSeq === 65535 && inTimeSequence && !s.under) {
    s.seqCycles++;
    s.under = true;
  } else if (seq > s.startSeq && inTimeSequence && s.under) {
    s.under = false;
  }

  if (inTimeSequence && s.seqNum + 1 === seq) {
    s.seqNum = seq;
  } else if (inTimeSequence && s.seqNum === 65535 && seq === 0) {
    s.seqNum = seq;
  } else if (inTimeSequence && (s.seqNum + 1 < seq || s.seqNum - seq > 0xff00)) {
    s.seqNum = seq;
    s.sequenceErrors++;
    flags |= STAT_FLAG.WRONG_SEQ;
  } else if (s.seqNum + 1 > seq) {
    s.sequenceErrors++;
    flags |= STAT_FLAG.WRONG_SEQ;
  }

  const pt = rtp.payloadType;
  if (pt === PT_CN || pt === PT_CN_OLD) flags |= STAT_FLAG.PT_CN;
  if (s.pt === PT_CN || s.pt === PT_CN_OLD) flags |= STAT_FLAG.FOLLOW_PT_CN;
  if (pt !== s.pt) flags |= STAT_FLAG.PT_CHANGE;
  s.pt = pt;

  const clock = clockRateOf(pt, s.dynamic);
  if (clock.event) flags |= STAT_FLAG.PT_T_EVENT;
  let currentJitter = 0;
  // Out of time sequence: delta, jitter and skew keep their values (the packet is not regular).
  if (inTimeSequence) {
    if (clock.rate !== 0) {
      s.clockRate = clock.rate;
      const nominal = sinceFirst / Math.floor(clock.rate / 1000);
      currentJitter = nextJitter(s.jitter, now - (s.time + nominal - s.lastNominal));
      s.delta = now - s.time;
      s.jitter = currentJitter;
      s.lastNominal = nominal;
      s.skew = nominal - (now - s.firstMs);
      if (Math.abs(s.skew) > Math.abs(s.maxSkew)) s.maxSkew = s.skew;
    } else {
      s.delta = now - s.time;
    }
  }

  s.bandwidth.add(now, bytes);

  if (rtp.marker) flags |= STAT_FLAG.MARKER;
  const regular =
    (flags &
      (STAT_FLAG.MARKER | STAT_FLAG.PT_CN | STAT_FLAG.WRONG_TIMESTAMP | STAT_FLAG.FOLLOW_PT_CN | STAT_FLAG.FIRST)) ===
    0;
  if (regular) {
    if (s.delta > s.deltaStats.max) s.maxDeltaFrame = record.index + 1;
    s.deltaStats.add(s.delta, s.totalNr);
    if (clock.rate !== 0) s.jitterStats.add(currentJitter, s.totalNr);
  }
  if ((flags & STAT_FLAG.PT_CN) === 0) {
    if (s.pt !== s.regPt && s.regPt !== -1) {
      flags |= STAT_FLAG.REG_PT_CHANGE;
      s.payloadChanges++;
    }
    s.regPt = s.pt;
  }
  if (flags & (STAT_FLAG.WRONG_SEQ | STAT_FLAG.WRONG_TIMESTAMP)) s.problem = true;
  if (flags & STAT_FLAG.WRONG_TIMESTAMP) s.wrongTimestamps++;
  if (inTimeSequence) {
    s.time = now;
    s.seqTimestamp = ext;
  }
  s.stopSeq = seq;
  s.totalNr++;
  s.flags = flags;
  if (s.rows) s.rows.push(packetRow(record, s, seq, now, s.delta, s.jitter, s.skew, rtp.marker, pt, flags));
}

/** RTP timestamp distance from `first`, mod 2^32 (tshark's reading: a wrap counts forward). */
function sinceFirstTimestamp(timestamp: number, first: number): number {
  return (timestamp - first) >>> 0;
}

/** Duplicates, loss runs (BurstR), packetisation and the assumed receiver's jitter buffer. */
function trackExtras(s: StreamState, seq: number, ext: number, now: number, marker: boolean, pt: number): void {
  const byte = seq >> 3;
  const bit = 1 << (seq & 7);
  if (s.seen[byte]! & bit) s.duplicates++;
  s.seen[byte]! |= bit;
  // Forget the half of the sequence space behind us so that wrapped numbers are new again.
  const far = (seq + 32768) & 0xffff;
  s.seen[far >> 3]! &= ~(1 << (far & 7));
  if (s.highestSeq < 0) {
    s.highestSeq = seq;
    s.receivedInOrder = 1;
  } else {
    const step = (seq - s.highestSeq) & 0xffff;
    if (step > 0 && step < 0x8000) {
      if (step > 1) {
        s.lossRuns++;
        s.lostInRuns += step - 1;
      }
      s.highestSeq = seq;
      s.receivedInOrder++;
    }
  }
  const rate = clockRateOf(pt, s.dynamic).rate;
  if (rate > 0 && s.jitterBuffer) s.jitterBuffer.offer(now, (ext / rate) * 1000, marker);
}

function packetRow(
  record: PacketRecord,
  s: StreamState,
  seq: number,
  now: number,
  delta: number,
  jitter: number,
  skew: number,
  marker: boolean,
  pt: number,
  flags: number,
): RtpPacketRow {
  return {
    frame: record.index + 1,
    sequence: seq,
    time: now / 1000,
    deltaMs: delta,
    jitterMs: jitter,
    skewMs: skew,
    bandwidthKbps: s.bandwidth.kbps,
    marker,
    payloadType: pt,
    status: statusText(flags, pt),
  };
}

/** Media per packet (ms, to 0.1 ms): timestamp span over the sequence-number span. */
export function packetization(s: StreamState): number {
  const steps = s.receivedInOrder - 1 + s.lostInRuns;
  if (s.clockRate <= 0 || steps <= 0) return 0;
  return Math.round(((s.seqTimestamp - s.firstExt) / steps / s.clockRate) * 10000) / 10;
}

/** RTP by the heuristic: at least MIN_HEURISTIC_PACKETS packets, most sequence steps +1. */
export function plausible(s: StreamState): boolean {
  return s.packets >= MIN_HEURISTIC_PACKETS && s.sequenceErrors * 2 <= s.packets;
}

/** The status text of Wireshark's RTP Stream Analysis for a packet's flags. */
export function statusText(flags: number, pt: number): string {
  if (flags & STAT_FLAG.WRONG_SEQ) return "Wrong sequence number";
  if (flags & STAT_FLAG.REG_PT_CHANGE)
    return `Payload changed to PT=${pt}${flags & STAT_FLAG.PT_T_EVENT ? " telephone/event" : ""}`;
  if (flags & STAT_FLAG.WRONG_TIMESTAMP) return "Incorrect timestamp";
  if (
    flags & STAT_FLAG.PT_CHANGE &&
    !(flags & STAT_FLAG.FIRST) &&
    !(flags & STAT_FLAG.PT_CN) &&
    flags & STAT_FLAG.FOLLOW_PT_CN &&
    !(flags & STAT_FLAG.MARKER)
  ) {
    return "Marker missing?";
  }
  if (flags & STAT_FLAG.PT_T_EVENT) return `PT=${pt} telephone/event`;
  return "[ Ok ]";
}
