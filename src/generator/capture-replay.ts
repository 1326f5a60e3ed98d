import { createSocket } from "node:dgram";
import { isIP } from "node:net";
import { QoelabError } from "../errors.ts";
import {
  Dissection,
  dissect,
  forEachPacket,
  formatIpv6,
  IpProto,
  RtpHeaderView,
  readRtpHeader,
} from "../packet/index.ts";
import { createLossModel, type LossModelSpec } from "./loss-models.ts";
import { Random } from "./random.ts";
import { drained } from "./rtp-sender.ts";
import { runSchedule, type TimingReport } from "./scheduler.ts";
import { bindSocket } from "./udp-socket.ts";

/*
 * Re-sends the payloads of one flow of a capture with their original timing (scaled by `speed`):
 * an RTP stream (found by its headers: version 2, one SSRC, sequence numbers that mostly step by
 * one) or, in a capture without RTP, the largest UDP flow. The payload bytes go out unchanged, so a
 * replayed RTP stream keeps its SSRC, sequence numbers and timestamps (unless `ssrc` rewrites it).
 * Optional seeded generator-side loss: the same seed drops the same packets.
 */

export interface ReplayPacket {
  /** Capture time relative to the first packet of the flow, ms. */
  timeMs: number;
  payload: Uint8Array;
  /** RTP sequence number (RTP flows only). */
  sequence?: number;
}

export interface ReplaySource {
  file: string;
  kind: "rtp" | "udp";
  /** "10.77.0.2:40000 → 10.77.0.130:40002 SSRC 0x… PT 0" */
  description: string;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  ssrc?: number;
  payloadType?: number;
  packets: ReplayPacket[];
  /** RTP streams the capture held (for messages). */
  streams: ReplayStreamInfo[];
}

export interface ReplayStreamInfo {
  ssrc: number;
  payloadType: number;
  packets: number;
  description: string;
}

interface FlowAcc {
  key: string;
  srcAddress: string;
  srcPort: number;
  dstAddress: string;
  dstPort: number;
  ssrc: number;
  payloadType: number;
  rtp: boolean;
  lastSequence: number;
  steps: number;
  packets: ReplayPacket[];
  firstTimeMs: number;
}

const RTCP_FIRST = 200;
const RTCP_LAST = 204;
/** A stream counts as RTP when at least this many packets carry it … */
const MIN_RTP_PACKETS = 4;
/** … and most consecutive packets step the sequence number by one. */
const MIN_RTP_STEP_SHARE = 0.5;

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, "0")}`;
}

/** Reads the flow to replay from a capture; `ssrc` chooses an RTP stream when there are several. */
export async function readReplaySource(file: string, options: { ssrc?: number } = {}): Promise<ReplaySource> {
  const d = new Dissection();
  const rtp = new RtpHeaderView();
  const rtpFlows = new Map<string, FlowAcc>();
  const udpFlows = new Map<string, FlowAcc>();
  const src6 = new Uint8Array(16);
  const dst6 = new Uint8Array(16);
  const address = (v4: number, v6: Uint32Array, scratch: Uint8Array): string => {
    if (d.ipVersion === 4) return `${v4 >>> 24}.${(v4 >>> 16) & 255}.${(v4 >>> 8) & 255}.${v4 & 255}`;
    const view = new DataView(scratch.buffer);
    for (let i = 0; i < 4; i++) view.setUint32(i * 4, v6[i]!);
    return formatIpv6(scratch);
  };
  await forEachPacket(file, (record) => {
    dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
    if (d.ipProto !== IpProto.UDP || d.payloadOffset < 0 || d.isLaterFragment || d.moreFragments) return;
    const length = d.capturedPayloadLength;
    if (length <= 0) return;
    const timeMs = record.tsSec * 1000 + record.tsNsec / 1e6;
    const payload = record.buffer.slice(d.payloadOffset, d.payloadOffset + length);
    const srcAddress = address(d.src4, d.src6, src6);
    const dstAddress = address(d.dst4, d.dst6, dst6);
    const flowKey = `${srcAddress}|${d.srcPort}|${dstAddress}|${d.dstPort}`;
    const b1 = payload[1]!;
    const isRtcp = payload[0]! >> 6 === 2 && b1 >= RTCP_FIRST && b1 <= RTCP_LAST;
    if (!isRtcp && readRtpHeader(payload, 0, length, rtp) && !(rtp.payloadType >= 72 && rtp.payloadType <= 76)) {
      const key = `${flowKey}|${rtp.ssrc}`;
      let flow = rtpFlows.get(key);
      if (!flow) {
        flow = {
          key,
          srcAddress,
          srcPort: d.srcPort,
          dstAddress,
          dstPort: d.dstPort,
          ssrc: rtp.ssrc,
          payloadType: rtp.payloadType,
          rtp: true,
          lastSequence: -1,
          steps: 0,
          packets: [],
          firstTimeMs: timeMs,
        };
        rtpFlows.set(key, flow);
      }
      if (flow.lastSequence >= 0 && ((rtp.sequence - flow.lastSequence) & 0xffff) === 1) flow.steps++;
      flow.lastSequence = rtp.sequence;
      flow.packets.push({ timeMs: timeMs - flow.firstTimeMs, payload, sequence: rtp.sequence });
    }
    if (isRtcp) return;
    let flow = udpFlows.get(flowKey);
    if (!flow) {
      flow = {
        key: flowKey,
        srcAddress,
        srcPort: d.srcPort,
        dstAddress,
        dstPort: d.dstPort,
        ssrc: 0,
        payloadType: -1,
        rtp: false,
        lastSequence: -1,
        steps: 0,
        packets: [],
        firstTimeMs: timeMs,
      };
      udpFlows.set(flowKey, flow);
    }
    flow.packets.push({ timeMs: timeMs - flow.firstTimeMs, payload });
  });
  const streams = [...rtpFlows.values()].filter(
    (f) => f.packets.length >= MIN_RTP_PACKETS && f.steps >= MIN_RTP_STEP_SHARE * (f.packets.length - 1),
  );
  const describe = (f: FlowAcc) =>
    `${f.srcAddress}:${f.srcPort} → ${f.dstAddress}:${f.dstPort}${f.rtp ? ` SSRC ${hex(f.ssrc)} PT ${f.payloadType}` : ""} (${f.packets.length} packets)`;
  const infos: ReplayStreamInfo[] = streams.map((f) => ({
    ssrc: f.ssrc,
    payloadType: f.payloadType,
    packets: f.packets.length,
    description: describe(f),
  }));
  let chosen: FlowAcc | undefined;
  if (options.ssrc !== undefined) {
    const matching = streams.filter((f) => f.ssrc === options.ssrc);
    if (matching.length === 0) {
      throw new QoelabError(
        "REPLAY_NO_SUCH_STREAM",
        `${file}: no RTP stream with SSRC ${hex(options.ssrc)}${infos.length ? ` (streams: ${infos.map((s) => s.description).join("; ")})` : " (the capture holds no RTP)"}`,
        { file, ssrc: options.ssrc },
      );
    }
    chosen = matching.reduce((a, b) => (b.packets.length > a.packets.length ? b : a));
  } else if (streams.length === 1) chosen = streams[0];
  else if (streams.length > 1) {
    throw new QoelabError(
      "REPLAY_STREAM_AMBIGUOUS",
      `${file}: ${streams.length} RTP streams; choose one with --ssrc (${infos.map((s) => s.description).join("; ")})`,
      { file, ssrcs: infos.map((s) => s.ssrc) },
    );
  } else {
    chosen = [...udpFlows.values()].reduce<FlowAcc | undefined>(
      (a, b) => (!a || b.packets.length > a.packets.length ? b : a),
      undefined,
    );
  }
  if (!chosen) {
    throw new QoelabError("REPLAY_NO_MEDIA", `${file}: no RTP or UDP packets to replay (the capture holds none)`, {
      file,
    });
  }
  return {
    file,
    kind: chosen.rtp ? "rtp" : "udp",
    description: describe(chosen),
    srcAddress: chosen.srcAddress,
    srcPort: chosen.srcPort,
    dstAddress: chosen.dstAddress,
    dstPort: chosen.dstPort,
    ...(chosen.rtp ? { ssrc: chosen.ssrc, payloadType: chosen.payloadType } : {}),
    packets: chosen.packets,
    streams: infos,
  };
}

export interface ReplayOptions {
  source: ReplaySource;
  host: string;
  port: number;
  /** Time scale: 2 replays twice as fast (default 1). */
  speed?: number;
  /** Rewrite the SSRC of a replayed RTP stream. */
  setSsrc?: number;
  /** Generator-side loss (seeded): dropped packets are not sent. */
  loss?: LossModelSpec;
  seed?: number;
  bind?: string;
  bindPort?: number;
  spinMs?: number;
  signal?: AbortSignal;
}

export interface ReplayResult {
  file: string;
  kind: "rtp" | "udp";
  source: string;
  seed: number;
  speed: number;
  packets: number;
  sent: number;
  droppedByModel: number;
  /** Indexes (0-based, in the flow) of the packets the loss model dropped. */
  droppedIndexes: number[];
  /** RTP sequence numbers of the dropped packets (RTP only). */
  droppedSequences: number[];
  sendErrors: number;
  /** Original duration of the flow and the replay's scheduled duration, ms. */
  originalDurationMs: number;
  timing: TimingReport;
}

/** Re-sends the source's payloads to host:port on their original (scaled) schedule. */
export async function replayCapture(options: ReplayOptions): Promise<ReplayResult> {
  const { source } = options;
  const speed = options.speed ?? 1;
  if (!(speed > 0 && Number.isFinite(speed))) {
    throw new QoelabError("REPLAY_BAD_SPEED", `--speed ${speed}: must be a number greater than 0`);
  }
  if (!(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new QoelabError("GEN_BAD_PORT", `port ${options.port}: expected 1…65535`);
  }
  const family = isIP(options.host);
  if (family === 0) {
    throw new QoelabError("GEN_BAD_ADDRESS", `destination "${options.host}": expected an IPv4 or IPv6 address`);
  }
  const packets = source.packets;
  if (packets.length === 0) {
    throw new QoelabError("REPLAY_NO_MEDIA", `${source.file}: no packets to replay`, { file: source.file });
  }
  if (options.setSsrc !== undefined && source.kind === "rtp") {
    const ssrc = options.setSsrc >>> 0;
    for (const p of packets) {
      p.payload[8] = ssrc >>> 24;
      p.payload[9] = (ssrc >>> 16) & 255;
      p.payload[10] = (ssrc >>> 8) & 255;
      p.payload[11] = ssrc & 255;
    }
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const loss = createLossModel(options.loss ?? { kind: "none" }, new Random(seed));
  // Not connected: a host without a listener answers ICMP unreachable, which must not stop a replay.
  const socket = createSocket(family === 6 ? "udp6" : "udp4");
  let sendErrors = 0;
  socket.on("error", () => {
    sendErrors++;
  });
  await bindSocket(socket, options.bind, options.bindPort ?? 0);
  let next = 1;
  let sent = 0;
  const droppedIndexes: number[] = [];
  const droppedSequences: number[] = [];
  let inFlight = 0;
  const onSent = (error: Error | null) => {
    inFlight--;
    if (error) sendErrors++;
  };
  let timing: TimingReport;
  try {
    timing = await runSchedule({
      count: packets.length,
      nextIntervalMs: () => {
        const a = packets[next - 1]!;
        const b = packets[next]!;
        next++;
        return b ? Math.max(0, b.timeMs - a.timeMs) / speed : 0;
      },
      spinMs: options.spinMs,
      stopped: () => options.signal?.aborted === true,
      onEvent: (index) => {
        const packet = packets[index]!;
        if (loss.lose()) {
          droppedIndexes.push(index);
          if (packet.sequence !== undefined) droppedSequences.push(packet.sequence);
          return undefined;
        }
        try {
          inFlight++;
          socket.send(packet.payload, options.port, options.host, onSent);
        } catch {
          inFlight--;
          sendErrors++;
        }
        sent++;
        return undefined;
      },
    });
    await drained(() => inFlight);
  } finally {
    socket.close();
  }
  return {
    file: source.file,
    kind: source.kind,
    source: source.description,
    seed,
    speed,
    packets: timing.events,
    sent,
    droppedByModel: droppedIndexes.length,
    droppedIndexes,
    droppedSequences,
    sendErrors,
    originalDurationMs: packets[packets.length - 1]!.timeMs,
    timing,
  };
}
