import { ipv4Text, ipv6WordsText, sameIpv6Words } from "../common/index.ts";
import { QoelabError } from "../errors.ts";
import {
  type Dissection,
  forEachPacket,
  IpProto,
  type PacketRecord,
  RtpHeaderView,
  readRtpHeader,
} from "../packet/index.ts";
import { createJitterBuffer } from "./jitter-buffer.ts";
import { type EstimateOptions, estimateStream, type RtpStreamEstimate } from "./rtp-stream-estimate.ts";
import {
  analysePacket,
  packetization,
  payloadName,
  plausible,
  type RtpPacketRow,
  StreamState,
  tsharkPayloadNames,
} from "./rtp-stream-state.ts";
import { type EndpointMedia, NOT_RTP, SdpEndpoints } from "./sdp-endpoints.ts";
import { SipTcpStreams } from "./sip-tcp-streams.ts";
import { UdpDatagrams } from "./udp-datagrams.ts";

export type { EstimateOptions, RtpStreamEstimate } from "./rtp-stream-estimate.ts";
export { type RtpPacketRow, STAT_FLAG, statusText } from "./rtp-stream-state.ts";

/**
 * The RTP streams of a capture, with the statistics of Wireshark's RTP Stream Analysis and
 * `tshark -q -z rtp,streams` (rtp-stream-state.ts) and an E-model estimate (rtp-stream-estimate.ts).
 * Streams (5-tuple + SSRC) are those whose address:port appears in SIP/SDP seen earlier in the
 * capture (sdp-endpoints.ts); captures without any SDP fall back to a heuristic (RTP v2, not an
 * RTCP packet type, enough packets, and most sequence steps +1: `plausible`).
 */

export interface RtpStream {
  ssrc: number;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  payloadType: number;
  /** Codec name as tshark prints it (g711U, g711A, …, or the SDP encoding name). */
  payloadName: string;
  /** Every payload type the stream carried, as tshark's Payload column lists them ("g711A, CN, RTPType-100"). */
  payloads: string;
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

/** Analyses every RTP stream in a capture file. */
export async function analyzeRtpStreams(path: string, options: AnalyzeOptions = {}): Promise<RtpStream[]> {
  const analyzer = new RtpStreamAnalyzer(options);
  await forEachPacket(path, (record) => {
    analyzer.packet(record);
  });
  return analyzer.finish(path);
}

export class RtpStreamAnalyzer {
  private readonly datagrams = new UdpDatagrams();
  private readonly rtp = new RtpHeaderView();
  private readonly endpoints = new SdpEndpoints();
  private readonly sipOverTcp = new SipTcpStreams();
  /** Streams chained by SSRC. */
  private readonly bySsrc = new Map<number, StreamState>();
  private readonly order: StreamState[] = [];
  private firstSec = -1;
  private firstNsec = 0;
  private packetsSeen = 0;
  private readonly keepRows: boolean;
  private readonly heuristic: "auto" | "always" | "never";
  private readonly rtpPorts: ReadonlySet<number>;
  /** The receiver the E-model estimates assume. */
  private readonly assumed: Required<EstimateOptions>;

  constructor(options: AnalyzeOptions = {}) {
    this.keepRows = options.packets ?? false;
    this.heuristic = options.heuristic ?? "auto";
    this.rtpPorts = new Set(options.rtpPorts ?? []);
    this.assumed = {
      jitterBuffer: options.emodel?.jitterBuffer ?? { kind: "none" },
      plc: options.emodel?.plc ?? false,
      networkDelayMs: options.emodel?.networkDelayMs ?? 0,
    };
  }

  packet(record: PacketRecord): void {
    this.packetsSeen++;
    if (this.firstSec < 0) {
      this.firstSec = record.tsSec;
      this.firstNsec = record.tsNsec;
    }
    const bytes = this.datagrams.readTransport(record);
    if (bytes === null) return;
    const d = this.datagrams.d;
    if (d.ipProto === IpProto.TCP) {
      // SIP over TCP announces media too.
      this.sipOverTcp.segment(d, bytes, (message) => this.endpoints.sniff(message, 0, message.length));
      return;
    }
    if (d.ipProto !== IpProto.UDP) return;
    const length = d.capturedPayloadLength;
    if (length < 12) return;
    const p = d.payloadOffset;
    if (bytes[p]! >> 6 !== 2) {
      this.endpoints.sniff(bytes, p, length);
      return;
    }
    const b1 = bytes[p + 1]!;
    if (b1 >= 200 && b1 <= 204) return; // RTCP SR/RR/SDES/BYE/APP (RFC 5761 §4)
    if (!readRtpHeader(bytes, p, length, this.rtp)) return;
    let dynamic: EndpointMedia | undefined;
    if (this.endpoints.size > 0) {
      // The destination's announcement first, then the source's (tshark's conversation lookup).
      if (d.ipVersion === 4) {
        dynamic = this.endpoints.lookup4(d.dst4, d.dstPort);
        if (dynamic === undefined) dynamic = this.endpoints.lookup4(d.src4, d.srcPort);
      } else {
        dynamic = this.endpoints.lookup6(d.dst6, d.dstPort);
        if (dynamic === undefined) dynamic = this.endpoints.lookup6(d.src6, d.srcPort);
      }
      // SDP moved the endpoint to T.38: tshark decodes its packets as T.38, not RTP.
      if (dynamic === NOT_RTP) return;
    }
    const stream = this.streamFor(d, this.rtp.ssrc);
    if (this.rtpPorts.size > 0 && (this.rtpPorts.has(d.dstPort) || this.rtpPorts.has(d.srcPort))) stream.byPort = true;
    if (dynamic) {
      stream.signalled = true;
      stream.dynamic = dynamic;
    }
    let dsec = record.tsSec - this.firstSec;
    let dns = record.tsNsec - this.firstNsec;
    if (dns < 0) {
      dsec--;
      dns += 1e9;
    }
    const now = dsec * 1000 + dns / 1e6;
    analysePacket(stream, this.rtp, record, now, d.ipVersion === 6 ? 48 : 28, length);
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
        (d.ipVersion !== 6 || (sameIpv6Words(s.src6, d.src6) && sameIpv6Words(s.dst6, d.dst6)))
      ) {
        return s;
      }
      s = s.next;
    }
    const created = new StreamState(ssrc, d.ipVersion, d.src4, d.dst4, d.srcPort, d.dstPort);
    created.src6.set(d.src6);
    created.dst6.set(d.dst6);
    created.next = head;
    created.jitterBuffer = createJitterBuffer(this.assumed.jitterBuffer);
    if (this.keepRows) created.rows = [];
    this.bySsrc.set(ssrc, created);
    this.order.push(created);
    return created;
  }

  finish(name = "capture"): RtpStream[] {
    const useHeuristic = this.heuristic === "always" || (this.heuristic === "auto" && !this.endpoints.sdpSeen);
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
        `${name}: no RTP streams found in ${this.packetsSeen} packets${this.endpoints.sdpSeen ? " (SDP seen, but no RTP on its ports)" : ""}`,
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
      srcAddress: s.ipVersion === 6 ? ipv6WordsText(s.src6) : ipv4Text(s.src4),
      srcPort: s.srcPort,
      dstAddress: s.ipVersion === 6 ? ipv6WordsText(s.dst6) : ipv4Text(s.dst4),
      dstPort: s.dstPort,
      payloadType: s.regPt,
      payloadName: payloadName(s.regPt, s.dynamic),
      payloads: tsharkPayloadNames(s.payloadTypesSeen),
      clockRate: s.clockRate,
      foundBy,
      packets: s.packets,
      expected,
      lost,
      lostPercent: expected > 0 ? (lost / expected) * 100 : 0,
      sequenceErrors: s.sequenceErrors,
      duplicates: s.duplicates,
      minDeltaMs: s.deltaStats.min,
      meanDeltaMs: s.deltaStats.mean,
      maxDeltaMs: s.deltaStats.max,
      maxDeltaFrame: s.maxDeltaFrame,
      minJitterMs: s.jitterStats.min,
      meanJitterMs: s.jitterStats.mean,
      maxJitterMs: s.jitterStats.max,
      maxSkewMs: s.maxSkew,
      startTime: s.firstMs / 1000,
      endTime: s.lastMs / 1000,
      durationS: (s.lastMs - s.firstMs) / 1000,
      problem: s.problem,
      problems,
      packetizationMs: ptime,
      estimate: estimateStream(s, expected, lost, ptime, this.assumed),
    };
    if (s.rows) stream.rows = s.rows;
    return stream;
  }
}
