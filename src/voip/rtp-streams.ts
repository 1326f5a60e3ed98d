import { ipv4Text, ipv6WordsText, nextJitter, parseIpv4Number, parseIpv6Groups } from "../common/index.ts";
import { QoelabError } from "../errors.ts";
import type { PacketRecord } from "../packet/index.ts";
import {
  Dissection,
  decodeSip,
  dissectReassembled,
  forEachPacket,
  IpProto,
  IpReassembler,
  RtpHeaderView,
  readRtpHeader,
  sipBodyText,
  sipContentType,
  staticPayloadType,
} from "../packet/index.ts";
import { burstRatio, callQuality, EMODEL_CODECS, plcAssumption, rClampNote } from "../quality/index.ts";
import { createJitterBuffer, formatJitterBuffer, type JitterBuffer, type JitterBufferSpec } from "./jitter-buffer.ts";
import { parseSdpMedia } from "./sdp-media.ts";

/**
 * Per-stream RTP analysis with the definitions of Wireshark's RTP Stream Analysis and
 * `tshark -q -z rtp,streams` (all times in ms, relative to the first packet of the capture):
 *
 * - delta: arrival time minus the previous in-order packet's arrival.
 * - jitter (RFC 3550 §6.4.1 estimator): D = |arrival − (previous arrival + (ts − previous ts)/rate)|,
 *   J ← (15·J + D)/16, with rate in samples per ms as an integer (clock rate / 1000, truncated).
 *   "In order" means the extended RTP timestamp did not go backwards. Packets without a clock rate
 *   (telephone-events) move the arrival reference but not the timestamp one (tshark's rule for
 *   streams mixing G.711 and events).
 * - skew: Σ timestamp steps − Σ arrival steps (positive when the sender's clock runs fast).
 * - min/max/mean delta and jitter over "regular" packets only: not the first, no marker bit, not
 *   comfort noise (PT 13/19) nor the packet after it, timestamp in order. The means are running
 *   means whose divisor is the count of packets seen before (so a stream with markers divides by
 *   more deltas than it averaged, exactly like Wireshark).
 * - lost = expected − received, expected = last seq − first seq + 1 + 65536·wraps (negative with
 *   duplicates); sequence errors count packets whose sequence number was not previous + 1.
 * - bandwidth: IP + UDP + RTP bytes of the packets in the last second (20 + 8 bytes of headers for
 *   IPv4, 48 for IPv6), in kbit/s.
 *
 * Streams (5-tuple + SSRC) are those whose address:port appears in SIP/SDP seen earlier in the
 * capture; captures without any SDP fall back to a heuristic (RTP v2, not an RTCP packet type,
 * ≥ MIN_HEURISTIC_PACKETS packets, and most sequence steps +1).
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

export interface RtpStreamEstimate {
  R: number;
  mos: number;
  codec: string;
  plc: boolean;
  /** Network loss plus jitter-buffer discards, percent. */
  lossPercent: number;
  burstRatio: number;
  jitterBuffer: string;
  jitterBufferLate: number;
  /** Ta used: packetisation + jitter-buffer delay + assumed network delay. */
  oneWayDelayMs: number;
  assumptions: string;
}

export interface RtpStream {
  ssrc: number;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  payloadType: number;
  /** Codec name as tshark prints it (g711U, g711A, …, or the SDP encoding name). */
  payloadName: string;
  clockRate: number;
  /** How the stream was found. */
  foundBy: "sdp" | "heuristic" | "port";
  packets: number;
  expected: number;
  lost: number;
  lostPercent: number;
  sequenceErrors: number;
  duplicates: number;
  minDeltaMs: number;
  meanDeltaMs: number;
  maxDeltaMs: number;
  /** Frame number of the packet with the largest delta. */
  maxDeltaFrame: number;
  minJitterMs: number;
  meanJitterMs: number;
  maxJitterMs: number;
  maxSkewMs: number;
  /** Seconds relative to the capture's first packet. */
  startTime: number;
  endTime: number;
  durationS: number;
  /** Wireshark's "Problems?" flag: a wrong sequence number or timestamp was seen. */
  problem: boolean;
  problems: string[];
  /** Packetisation (ms of media per packet, from timestamp steps); 0 when unknown. */
  packetizationMs: number;
  estimate: RtpStreamEstimate | null;
  /** Per-packet analysis when requested. */
  rows?: RtpPacketRow[];
}

/**
 * Streams in the order `rtp streams` lists them (by source address:port, then SSRC); `rtp extract
 * --stream N` counts from 1 in this order. A stream is a 5-tuple and an SSRC: one SSRC a sender
 * reuses towards two destinations is two streams, as tshark counts them.
 */
export function orderStreams(streams: readonly RtpStream[]): RtpStream[] {
  const key = (s: RtpStream) => `${s.srcAddress}:${String(s.srcPort).padStart(5, "0")}`;
  const dst = (s: RtpStream) => `${s.dstAddress}:${String(s.dstPort).padStart(5, "0")}`;
  return [...streams].sort(
    (a, b) =>
      key(a).localeCompare(key(b)) || a.ssrc - b.ssrc || dst(a).localeCompare(dst(b)) || a.startTime - b.startTime,
  );
}

export interface AnalyzeOptions {
  /** Keep per-packet rows (`--packets`). */
  packets?: boolean;
  /** "auto" (default): heuristic only when the capture holds no SDP; "always"; "never". */
  heuristic?: "auto" | "always" | "never";
  /** UDP ports whose traffic is RTP whatever SDP or the heuristic say (as tshark's -d udp.port==P,rtp). */
  rtpPorts?: readonly number[];
  /** E-model assumptions. */
  emodel?: EstimateOptions;
}

export interface EstimateOptions {
  /** Jitter buffer the receiver is assumed to run (default none, as `rtp extract`'s default). */
  jitterBuffer?: JitterBufferSpec;
  /** Whether the receiver conceals loss with G.711 Appendix I (default false, as `rtp extract`'s default). */
  plc?: boolean;
  /** One-way network delay the capture cannot see (default 0 ms). */
  networkDelayMs?: number;
}

interface DynamicPayload {
  encoding: string;
  clockRate: number;
}

/** Media endpoints announced in SDP, keyed by a number (IPv4: address·65536 + port). */
class EndpointTable {
  private readonly v4 = new Map<number, Map<number, DynamicPayload>>();
  private readonly v6 = new Map<number, { words: Uint32Array; port: number; map: Map<number, DynamicPayload> }[]>();
  size = 0;

  add(address: string, port: number, map: Map<number, DynamicPayload>): void {
    if (port <= 0) return;
    const v4 = parseV4(address);
    if (v4 !== null) {
      this.v4.set(v4 * 65536 + port, map);
      this.size++;
      return;
    }
    const words = parseV6Words(address);
    if (!words) return;
    const key = v6Key(words, port);
    const list = this.v6.get(key) ?? [];
    list.push({ words, port, map });
    this.v6.set(key, list);
    this.size++;
  }

  lookup4(address: number, port: number): Map<number, DynamicPayload> | undefined {
    return this.v4.get(address * 65536 + port);
  }

  lookup6(words: Uint32Array, port: number): Map<number, DynamicPayload> | undefined {
    const list = this.v6.get(v6Key(words, port));
    if (!list) return undefined;
    for (const e of list) {
      if (e.port === port && e.words[0] === words[0] && e.words[1] === words[1] && e.words[2] === words[2]) {
        if (e.words[3] === words[3]) return e.map;
      }
    }
    return undefined;
  }
}

function v6Key(w: Uint32Array, port: number): number {
  return ((w[0]! ^ w[1]! ^ w[2]! ^ w[3]!) >>> 0) * 65536 + port;
}

function parseV4(text: string): number | null {
  return parseIpv4Number(text) ?? null;
}

function parseV6Words(text: string): Uint32Array | null {
  const groups = parseIpv6Groups(text);
  if (!groups) return null;
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

const formatV4 = ipv4Text;
const formatV6 = ipv6WordsText;

function payloadName(pt: number, dynamic: Map<number, DynamicPayload> | undefined): string {
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

/** Wireshark's clock-rate table: the static types plus 1016 (1), G721 (2) and old CN (19). */
function clockRateOf(pt: number, dynamic: Map<number, DynamicPayload> | undefined): { rate: number; event: boolean } {
  if (pt < 96) {
    if (pt === 1 || pt === 2 || pt === 19) return { rate: 8000, event: false };
    return { rate: staticPayloadType(pt)?.clockRate ?? 0, event: false };
  }
  const dyn = dynamic?.get(pt);
  if (!dyn) return { rate: 0, event: false };
  if (dyn.encoding.toLowerCase().startsWith("telephone-event")) return { rate: 0, event: true };
  return { rate: dyn.clockRate, event: false };
}

class StreamState {
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
  seqTimestamp = 0;
  /** Extended timestamp of the last packet with a clock rate (telephone-events have none). */
  rateTimestamp = 0;
  time = 0;
  lastNominal = 0;
  lastArrival = 0;
  pt = 0;
  regPt = -1;
  delta = 0;
  jitter = 0;
  skew = 0;
  maxSkew = 0;
  minDelta = -1;
  maxDelta = 0;
  maxDeltaFrame = 0;
  meanDelta = 0;
  minJitter = -1;
  maxJitter = 0;
  meanJitter = 0;
  totalNr = 0;
  sequenceErrors = 0;
  problem = false;
  clockRate = 0;
  // Extended timestamp.
  lastRawTs = 0;
  extTs = 0;
  // Bandwidth window.
  readonly bwBytes = new Float64Array(BW_RING);
  readonly bwTime = new Float64Array(BW_RING);
  bwStart = 0;
  bwIndex = 0;
  totalBytes = 0;
  bandwidth = 0;
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

  constructor(
    readonly ssrc: number,
    readonly ipVersion: number,
    readonly src4: number,
    readonly dst4: number,
    readonly srcPort: number,
    readonly dstPort: number,
  ) {}
}

/** Analyses every RTP stream in a capture file. */
export async function analyzeRtpStreams(path: string, options: AnalyzeOptions = {}): Promise<RtpStream[]> {
  const analyzer = new RtpStreamAnalyzer(options);
  await forEachPacket(path, (record) => {
    analyzer.packet(record);
  });
  return analyzer.finish(path);
}

export class RtpStreamAnalyzer {
  private readonly d = new Dissection();
  private readonly reassembler = new IpReassembler();
  private readonly rtp = new RtpHeaderView();
  private readonly endpoints = new EndpointTable();
  /** Streams chained by SSRC. */
  private readonly bySsrc = new Map<number, StreamState>();
  private readonly order: StreamState[] = [];
  private firstSec = -1;
  private firstNsec = 0;
  private sdpSeen = false;
  private packetsSeen = 0;
  private readonly keepRows: boolean;
  private readonly heuristic: "auto" | "always" | "never";
  private readonly rtpPorts: ReadonlySet<number>;
  private readonly jbSpec: JitterBufferSpec;
  private readonly plc: boolean;
  private readonly networkDelayMs: number;

  constructor(options: AnalyzeOptions = {}) {
    this.keepRows = options.packets ?? false;
    this.heuristic = options.heuristic ?? "auto";
    this.rtpPorts = new Set(options.rtpPorts ?? []);
    this.jbSpec = options.emodel?.jitterBuffer ?? { kind: "none" };
    this.plc = options.emodel?.plc ?? false;
    this.networkDelayMs = options.emodel?.networkDelayMs ?? 0;
  }

  packet(record: PacketRecord): void {
    this.packetsSeen++;
    if (this.firstSec < 0) {
      this.firstSec = record.tsSec;
      this.firstNsec = record.tsNsec;
    }
    const d = this.d;
    const whole = dissectReassembled(record, d, this.reassembler);
    if (!whole) return;
    if (d.ipProto !== IpProto.UDP || d.payloadOffset < 0) return;
    const length = d.capturedPayloadLength;
    if (length < 12) return;
    const bytes = whole.buffer;
    const p = d.payloadOffset;
    const b0 = bytes[p]!;
    if (b0 >> 6 !== 2) {
      if (isSipStart(b0) && this.sip(bytes, p, length)) return;
      // MGCP (RFC 3435) commands (CRCX, MDCX, …) and responses ("200 …") carry SDP too.
      if (isSipStart(b0) || (b0 >= 0x30 && b0 <= 0x39)) this.mgcp(bytes, p, length);
      return;
    }
    const b1 = bytes[p + 1]!;
    if (b1 >= 200 && b1 <= 204) return; // RTCP SR/RR/SDES/BYE/APP (RFC 5761 §4)
    if (!readRtpHeader(bytes, p, length, this.rtp)) return;
    let dynamic: Map<number, DynamicPayload> | undefined;
    let signalled = false;
    if (this.endpoints.size > 0) {
      if (d.ipVersion === 4) {
        dynamic = this.endpoints.lookup4(d.dst4, d.dstPort) ?? this.endpoints.lookup4(d.src4, d.srcPort);
      } else {
        dynamic = this.endpoints.lookup6(d.dst6, d.dstPort) ?? this.endpoints.lookup6(d.src6, d.srcPort);
      }
      signalled = dynamic !== undefined;
    }
    const stream = this.streamFor(d, this.rtp.ssrc);
    if (this.rtpPorts.size > 0 && (this.rtpPorts.has(d.dstPort) || this.rtpPorts.has(d.srcPort))) stream.byPort = true;
    if (signalled) {
      stream.signalled = true;
      stream.dynamic = dynamic;
    }
    this.analyse(stream, record, d.ipVersion === 6 ? 48 : 28, length);
  }

  /** True when the payload was a SIP message (its SDP, if any, recorded). */
  private sip(bytes: Uint8Array, offset: number, length: number): boolean {
    const decoded = decodeSip(bytes, offset, length);
    const message = decoded.message;
    if (!message) return false;
    if (message.body.length === 0) return true;
    if (!(sipContentType(message) ?? "").toLowerCase().includes("application/sdp")) return true;
    this.sdpBody(sipBodyText(message));
    return true;
  }

  /** An MGCP command or response: its SDP follows the first empty line (RFC 3435 §3.1). */
  private mgcp(bytes: Uint8Array, offset: number, length: number): void {
    const text = latin1.decode(bytes.subarray(offset, offset + Math.min(length, 4096)));
    if (!/^(?:[A-Z][A-Z0-9]{3} \d+ \S+ MGCP \d|\d{3} \d+)/.test(text)) return;
    const blank = /\r?\n\r?\n/.exec(text);
    if (!blank) return;
    const body = text.slice(blank.index + blank[0].length);
    if (!/^v=0/m.test(body)) return;
    this.sdpBody(body);
  }

  private sdpBody(body: string): void {
    for (const media of parseSdpMedia(body)) {
      if (media.port === 0 || !media.protocol.toUpperCase().startsWith("RTP")) continue;
      const map = new Map<number, DynamicPayload>();
      for (const [pt, info] of media.rtpmap) map.set(pt, { encoding: info.encoding, clockRate: info.clockRate });
      this.endpoints.add(media.address, media.port, map);
      this.sdpSeen = true;
    }
  }

  private streamFor(d: Dissection, ssrc: number): StreamState {
    let s = this.bySsrc.get(ssrc) ?? null;
    const head = s;
    while (s) {
      if (
        s.ipVersion === d.ipVersion &&
        s.srcPort === d.srcPort &&
        s.dstPort === d.dstPort &&
        s.src4 === d.src4 &&
        s.dst4 === d.dst4 &&
        (d.ipVersion !== 6 || (sameWords(s.src6, d.src6) && sameWords(s.dst6, d.dst6)))
      ) {
        return s;
      }
      s = s.next;
    }
    const created = new StreamState(ssrc, d.ipVersion, d.src4, d.dst4, d.srcPort, d.dstPort);
    created.src6.set(d.src6);
    created.dst6.set(d.dst6);
    created.next = head;
    created.jitterBuffer = createJitterBuffer(this.jbSpec);
    if (this.keepRows) created.rows = [];
    this.bySsrc.set(ssrc, created);
    this.order.push(created);
    return created;
  }

  /** Wireshark's per-packet analysis (see the file comment for the definitions). */
  private analyse(s: StreamState, record: PacketRecord, headerBytes: number, rtpLength: number): void {
    const rtp = this.rtp;
    let dsec = record.tsSec - this.firstSec;
    let dns = record.tsNsec - this.firstNsec;
    if (dns < 0) {
      dsec--;
      dns += 1e9;
    }
    const now = dsec * 1000 + dns / 1e6;
    const seq = rtp.sequence;
    // Extended timestamp: follow 32-bit wraps by the signed step from the previous packet.
    if (s.packets === 0) s.extTs = rtp.timestamp;
    else s.extTs += (rtp.timestamp - s.lastRawTs) | 0;
    s.lastRawTs = rtp.timestamp;
    const ext = s.extTs;
    s.packets++;
    s.lastMs = now;
    this.trackExtras(s, seq, ext, now, rtp.marker, rtp.payloadType);

    const bytes = rtpLength + headerBytes;
    if (s.first) {
      s.first = false;
      s.firstMs = now;
      s.firstExt = ext;
      s.startSeq = seq;
      s.stopSeq = seq;
      s.seqNum = seq;
      s.seqTimestamp = ext;
      s.rateTimestamp = ext;
      s.time = now;
      s.pt = rtp.payloadType;
      s.regPt = rtp.payloadType;
      s.bwBytes[0] = bytes;
      s.bwTime[0] = now;
      s.bwIndex = 1;
      s.totalBytes = bytes;
      s.bandwidth = (s.totalBytes * 8) / 1000;
      s.totalNr = 1;
      s.flags = STAT_FLAG.FIRST | (rtp.marker ? STAT_FLAG.MARKER : 0);
      s.clockRate = clockRateOf(rtp.payloadType, s.dynamic).rate;
      if (s.rows) s.rows.push(this.row(record, s, seq, now, 0, 0, 0, rtp.marker, rtp.payloadType, s.flags));
      return;
    }
    let flags = 0;
    const inTimeSequence = s.seqTimestamp <= ext;
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
    // As tshark: the expected arrival steps from the last packet that had a clock rate (a
    // telephone-event's timestamp stays at the event's start), from the last in-order arrival.
    let nominalDiff = ext - s.rateTimestamp;
    if (clock.rate !== 0) {
      s.rateTimestamp = ext;
      s.clockRate = clock.rate;
      nominalDiff /= Math.floor(clock.rate / 1000);
      const expected = s.time + nominalDiff;
      currentJitter = nextJitter(s.jitter, now - expected);
      s.delta = now - s.time;
      s.jitter = currentJitter;
      const nominal = s.lastNominal + nominalDiff;
      const arrival = s.lastArrival + s.delta;
      s.skew = nominal - arrival;
      if (Math.abs(s.skew) > Math.abs(s.maxSkew)) s.maxSkew = s.skew;
      s.lastNominal = nominal;
      s.lastArrival = arrival;
    } else {
      s.delta = now - s.time;
    }

    // Bandwidth over the last second.
    s.bwBytes[s.bwIndex] = bytes;
    s.bwTime[s.bwIndex] = now;
    while (s.bwStart !== s.bwIndex && s.bwTime[s.bwStart]! + 1000 < now) {
      s.totalBytes -= s.bwBytes[s.bwStart]!;
      s.bwStart = (s.bwStart + 1) % BW_RING;
    }
    s.totalBytes += bytes;
    s.bandwidth = (s.totalBytes * 8) / 1000;
    s.bwIndex = (s.bwIndex + 1) % BW_RING;
    if (s.bwIndex === s.bwStart) s.bwStart = (s.bwStart + 1) % BW_RING;

    if (rtp.marker) flags |= STAT_FLAG.MARKER;
    const regular =
      (flags &
        (STAT_FLAG.MARKER | STAT_FLAG.PT_CN | STAT_FLAG.WRONG_TIMESTAMP | STAT_FLAG.FOLLOW_PT_CN | STAT_FLAG.FIRST)) ===
      0;
    if (regular) {
      if (s.delta > s.maxDelta) {
        s.maxDelta = s.delta;
        s.maxDeltaFrame = record.index + 1;
      }
      if (s.minDelta === -1 || s.delta < s.minDelta) s.minDelta = s.delta;
      s.meanDelta = (s.meanDelta * (s.totalNr - 1) + s.delta) / s.totalNr;
      if (clock.rate !== 0) {
        if (s.jitter > s.maxJitter) s.maxJitter = s.jitter;
        s.meanJitter = (s.meanJitter * (s.totalNr - 1) + currentJitter) / s.totalNr;
        if (s.minJitter === -1 || s.jitter < s.minJitter) s.minJitter = s.jitter;
      }
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
    if (s.rows) s.rows.push(this.row(record, s, seq, now, s.delta, s.jitter, s.skew, rtp.marker, pt, flags));
  }

  /** Duplicates, loss runs (BurstR), packetisation and the assumed receiver's jitter buffer. */
  private trackExtras(s: StreamState, seq: number, ext: number, now: number, marker: boolean, pt: number): void {
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

  private row(
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
      bandwidthKbps: s.bandwidth,
      marker,
      payloadType: pt,
      status: statusText(flags, pt),
    };
  }

  finish(name = "capture"): RtpStream[] {
    const useHeuristic = this.heuristic === "always" || (this.heuristic === "auto" && !this.sdpSeen);
    const out: RtpStream[] = [];
    for (const s of this.order) {
      let foundBy: RtpStream["foundBy"];
      if (s.signalled) foundBy = "sdp";
      else if (s.byPort) foundBy = "port";
      else if (useHeuristic && plausible(s)) foundBy = "heuristic";
      else continue;
      out.push(this.summary(s, foundBy));
    }
    if (out.length === 0) {
      throw new QoelabError(
        "VOIP_NO_RTP",
        `${name}: no RTP streams found in ${this.packetsSeen} packets${this.sdpSeen ? " (SDP seen, but no RTP on its ports)" : ""}`,
        { file: name, packets: this.packetsSeen },
      );
    }
    return out;
  }

  private summary(s: StreamState, foundBy: RtpStream["foundBy"]): RtpStream {
    const expected = s.stopSeq + s.seqCycles * 65536 - s.startSeq + 1;
    const lost = expected - s.packets;
    const ptime = packetization(s);
    const problems: string[] = [];
    if (lost > 0) problems.push(`${lost} lost`);
    if (lost < 0) problems.push(`${-lost} more packets than expected`);
    if (s.sequenceErrors > 0) problems.push(`${s.sequenceErrors} sequence errors`);
    if (s.duplicates > 0) problems.push(`${s.duplicates} duplicates`);
    if (s.wrongTimestamps > 0) problems.push(`${s.wrongTimestamps} timestamps out of order`);
    if (s.payloadChanges > 0) problems.push(`${s.payloadChanges} payload type changes`);
    const stream: RtpStream = {
      ssrc: s.ssrc,
      srcAddress: s.ipVersion === 6 ? formatV6(s.src6) : formatV4(s.src4),
      srcPort: s.srcPort,
      dstAddress: s.ipVersion === 6 ? formatV6(s.dst6) : formatV4(s.dst4),
      dstPort: s.dstPort,
      payloadType: s.regPt,
      payloadName: payloadName(s.regPt, s.dynamic),
      clockRate: s.clockRate,
      foundBy,
      packets: s.packets,
      expected,
      lost,
      lostPercent: expected > 0 ? (lost / expected) * 100 : 0,
      sequenceErrors: s.sequenceErrors,
      duplicates: s.duplicates,
      minDeltaMs: s.minDelta,
      meanDeltaMs: s.meanDelta,
      maxDeltaMs: s.maxDelta,
      maxDeltaFrame: s.maxDeltaFrame,
      minJitterMs: s.minJitter,
      meanJitterMs: s.meanJitter,
      maxJitterMs: s.maxJitter,
      maxSkewMs: s.maxSkew,
      startTime: s.firstMs / 1000,
      endTime: s.lastMs / 1000,
      durationS: (s.lastMs - s.firstMs) / 1000,
      problem: s.problem,
      problems,
      packetizationMs: ptime,
      estimate: this.estimate(s, expected, lost, ptime),
    };
    if (s.rows) stream.rows = s.rows;
    return stream;
  }

  private estimate(s: StreamState, expected: number, lost: number, ptime: number): RtpStreamEstimate | null {
    const codec = s.regPt === 0 ? "pcmu" : s.regPt === 8 ? "pcma" : (s.dynamic?.get(s.regPt)?.encoding ?? "");
    if (!EMODEL_CODECS.includes(codec.toLowerCase()) || expected <= 0) return null;
    const jb = s.jitterBuffer!;
    const discarded = Math.max(0, lost) + jb.late;
    const lossPercent = Math.min(100, (discarded / expected) * 100);
    const burst = burstRatio(s.lossRuns, s.receivedInOrder, s.lossRuns, s.lostInRuns);
    const delay = ptime + jb.meanBufferDelayMs() + this.networkDelayMs;
    const q = callQuality({ codec, plc: this.plc, lossPercent, burstRatio: burst, oneWayDelayMs: delay });
    return {
      R: q.R,
      mos: q.mos,
      codec: q.codec.codec,
      plc: this.plc,
      lossPercent,
      burstRatio: burst,
      jitterBuffer: formatJitterBuffer(this.jbSpec),
      jitterBufferLate: jb.late,
      oneWayDelayMs: delay,
      assumptions:
        `${plcAssumption(this.plc).text}; codec from PT ${s.regPt} (${q.codec.description}); loss = network loss + late discards of a ` +
        `${formatJitterBuffer(this.jbSpec)} jitter buffer; Ta = packetisation ${ptime} ms + jitter-buffer delay ` +
        `${jb.meanBufferDelayMs().toFixed(1)} ms + assumed network delay ${this.networkDelayMs} ms; T = Ta, Tr = 2·Ta; ` +
        "other parameters G.107 defaults" +
        (rClampNote(q) ? `; ${rClampNote(q)}` : ""),
    };
  }
}

/** Media per packet (ms, to 0.1 ms): timestamp span over the sequence-number span. */
function packetization(s: StreamState): number {
  const steps = s.receivedInOrder - 1 + s.lostInRuns;
  if (s.clockRate <= 0 || steps <= 0) return 0;
  return Math.round(((s.seqTimestamp - s.firstExt) / steps / s.clockRate) * 10000) / 10;
}

function plausible(s: StreamState): boolean {
  return s.packets >= MIN_HEURISTIC_PACKETS && s.sequenceErrors * 2 <= s.packets;
}

function sameWords(a: Uint32Array, b: Uint32Array): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** First byte of a SIP request method or "SIP/2.0" (uppercase ASCII letters). */
const latin1 = new TextDecoder("latin1");

function isSipStart(b0: number): boolean {
  return b0 >= 0x41 && b0 <= 0x5a;
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
