import { writeFile } from "node:fs/promises";
import { concealLosses, decodeG711Into, type G711Law, writeWav } from "../audio/index.ts";
import { QoelabError } from "../errors.ts";
import { forEachPacket, RtpHeaderView, readRtpHeader } from "../packet/index.ts";
import { createJitterBuffer, formatJitterBuffer, type JitterBufferSpec } from "./jitter-buffer.ts";
import { analyzeRtpStreams, orderStreams, type RtpStream } from "./rtp-streams.ts";
import { UdpDatagrams } from "./udp-datagrams.ts";

/**
 * RTP → 8 kHz PCM, like Wireshark's RTP Player: the chosen stream's G.711 payloads are decoded and
 * laid out on the RTP timeline; packets the jitter buffer finds late are discarded; holes (lost or
 * late packets) are filled with silence or G.711 Appendix I concealment.
 *
 * Comfort noise (PT 13) fills its period with noise at the level it signals (RFC 3389);
 * telephone-events are skipped, and neither counts as lost.
 *
 * Layout: the first played packet sits at sample 0. Each next packet (in extended sequence order)
 * sits after the previous one by its timestamp step, or by the sequence step × the previous
 * packet's length when that is larger — a sender whose timestamps did not advance for packets
 * it failed to send still gets its gaps where the missing sequence numbers were, while silence
 * suppression (a timestamp jump without a sequence gap) still leaves its silence.
 */

export interface ExtractOptions {
  /** Stream to extract; needed when the capture holds more than one G.711 stream. */
  ssrc?: number;
  /** UDP ports decoded as RTP whatever SDP or the heuristic say (`--rtp-port`). */
  rtpPorts?: readonly number[];
  /** The N-th stream (from 1) as `rtp streams` lists them; picks one of several streams sharing an SSRC. */
  stream?: number;
  /** Default none: every packet played at its timestamp (Wireshark's "RTP timestamp" mode). */
  jitterBuffer?: JitterBufferSpec;
  plc?: "none" | "g711";
}

export interface AudioGap {
  /** First missing sample and number of samples. */
  startSample: number;
  samples: number;
  /** Sequence numbers (16-bit) of the packets that would have filled it. */
  sequences: number[];
  reason: "lost" | "late" | "mixed";
}

export interface ExtractResult {
  stream: RtpStream;
  law: G711Law;
  sampleRate: 8000;
  samples: Int16Array;
  /** 1 for samples that came from packets, 0 for filled ones. */
  present: Uint8Array;
  packets: number;
  played: number;
  late: number;
  duplicates: number;
  /** Packets of other payload types than G.711 (comfort noise, filled as noise at its level; DTMF events) not decoded. */
  skipped: number;
  /** Sequence numbers never received, in order. */
  lostSequences: number[];
  lateSequences: number[];
  gaps: AudioGap[];
  jitterBuffer: string;
  plc: "none" | "g711";
}

interface Collected {
  extSeq: number;
  ext: number;
  arrivalMs: number;
  marker: boolean;
  pt: number;
  offset: number;
  length: number;
  late: boolean;
}

export async function extractRtpAudio(path: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const streams = await analyzeRtpStreams(path, {
    heuristic: "auto",
    ...(options.rtpPorts ? { rtpPorts: options.rtpPorts } : {}),
  });
  const stream = chooseStream(path, orderStreams(streams), options.ssrc, options.stream);
  const law: G711Law = stream.payloadType === 8 ? "alaw" : "ulaw";

  const src4 = v4Number(stream.srcAddress);
  const dst4 = v4Number(stream.dstAddress);
  // Second pass: keep this stream's packets (payload bytes pooled in one growing buffer).
  const datagrams = new UdpDatagrams();
  const d = datagrams.d;
  const rtp = new RtpHeaderView();
  const packets: Collected[] = [];
  let pool = new Uint8Array(1 << 16);
  let used = 0;
  let firstSec = -1;
  let firstNsec = 0;
  let lastSeq = -1;
  let extSeq = 0;
  let lastTs = 0;
  let ext = 0;
  await forEachPacket(path, (record) => {
    if (firstSec < 0) {
      firstSec = record.tsSec;
      firstNsec = record.tsNsec;
    }
    const bytes = datagrams.read(record);
    if (bytes === null || d.srcPort !== stream.srcPort) return;
    // IPv4: the stream's addresses too (one SSRC may go to two destinations from one port).
    if (d.ipVersion === 4 && src4 >= 0 && (d.src4 !== src4 || d.dst4 !== dst4)) return;
    if (d.dstPort !== stream.dstPort) return;
    if (!readRtpHeader(bytes, d.payloadOffset, d.capturedPayloadLength, rtp) || rtp.ssrc !== stream.ssrc) return;
    const b1 = bytes[d.payloadOffset + 1]!;
    if (b1 >= 200 && b1 <= 204) return;
    if (lastSeq < 0) {
      extSeq = rtp.sequence;
      ext = rtp.timestamp;
    } else {
      extSeq += ((rtp.sequence - lastSeq + 0x8000) & 0xffff) - 0x8000;
      ext += (rtp.timestamp - lastTs) | 0;
    }
    lastSeq = rtp.sequence;
    lastTs = rtp.timestamp;
    if (used + rtp.payloadLength > pool.length) {
      const bigger = new Uint8Array(Math.max(pool.length * 2, used + rtp.payloadLength));
      bigger.set(pool.subarray(0, used));
      pool = bigger;
    }
    pool.set(bytes.subarray(rtp.payloadOffset, rtp.payloadOffset + rtp.payloadLength), used);
    const arrivalMs = (record.tsSec - firstSec) * 1000 + (record.tsNsec - firstNsec) / 1e6;
    packets.push({
      extSeq,
      ext,
      arrivalMs,
      marker: rtp.marker,
      pt: rtp.payloadType,
      offset: used,
      length: rtp.payloadLength,
      late: false,
    });
    used += rtp.payloadLength;
  });

  const spec = options.jitterBuffer ?? { kind: "none" };
  const jb = createJitterBuffer(spec);
  let skipped = 0;
  // Audio (G.711) and comfort noise (PT 13, RFC 3389) are laid out on the timeline; other payload
  // types (telephone-events, RFC 4733) are skipped, their sequence numbers not counted as lost.
  const isAudio = (p: Collected) => p.pt === 0 || p.pt === 8;
  for (const p of packets) {
    if (!isAudio(p)) {
      skipped++;
      continue;
    }
    p.late = !jb.offer(p.arrivalMs, p.ext / 8, p.marker);
  }
  const audio = packets.filter(isAudio);
  if (audio.length === 0) {
    throw new QoelabError(
      "VOIP_UNSUPPORTED_CODEC",
      `${path}: stream SSRC 0x${hex(stream.ssrc)} carries ${stream.payloadName} (PT ${stream.payloadType}); only G.711 (PCMU/PCMA) can be extracted`,
      { file: path, ssrc: stream.ssrc, payloadType: stream.payloadType },
    );
  }
  const received = new Set(packets.map((p) => p.extSeq));
  // Sequence order; first copy of duplicates wins.
  const ordered = packets
    .filter((p) => isAudio(p) || p.pt === COMFORT_NOISE_PT)
    .sort((a, b) => a.extSeq - b.extSeq || a.arrivalMs - b.arrivalMs);
  const unique: Collected[] = [];
  let duplicates = 0;
  for (const p of ordered) {
    if (unique.length > 0 && unique[unique.length - 1]!.extSeq === p.extSeq) duplicates++;
    else unique.push(p);
  }
  // Samples a packet carries: G.711 one per byte; comfort noise none of its own (it lasts until the next packet).
  const samplesOf = (p: Collected) => (isAudio(p) ? p.length : 0);

  // Positions on the sample timeline. A sequence gap made only of skipped packets (events) is no
  // loss; a timestamp that goes backwards (a sender's reset) places the packet by its arrival time.
  const positions = new Float64Array(unique.length);
  const missingBefore: number[][] = [[]];
  let frame = samplesOf(unique[0]!) || 160;
  for (let i = 1; i < unique.length; i++) {
    const prev = unique[i - 1]!;
    const cur = unique[i]!;
    if (isAudio(prev)) frame = prev.length;
    const missing: number[] = [];
    for (let s = prev.extSeq + 1; s < cur.extSeq; s++) if (!received.has(s)) missing.push(s);
    missingBefore.push(missing);
    const byTimestamp = cur.ext - prev.ext;
    const bySequence = (missing.length + 1) * frame;
    let step: number;
    // A reset keeps the arrival timing (whole frames), at least the sequence step.
    if (byTimestamp < 0)
      step = Math.max(bySequence, Math.round(((cur.arrivalMs - prev.arrivalMs) * 8) / frame) * frame);
    else if (missing.length > 0) step = Math.max(byTimestamp, bySequence);
    else step = byTimestamp;
    positions[i] = positions[i - 1]! + step;
  }
  const last = unique.length - 1;
  const total = Math.max(0, positions[last]! + samplesOf(unique[last]!));
  const samples = new Int16Array(total);
  const present = new Uint8Array(total);
  const lostSequences: number[] = [];
  const lateSequences: number[] = [];
  const gaps: AudioGap[] = [];
  const noise = new ComfortNoise(stream.ssrc);
  let played = 0;
  let lateCount = 0;
  for (let i = 0; i < unique.length; i++) {
    const p = unique[i]!;
    const at = positions[i]!;
    if (i > 0) {
      const prev = unique[i - 1]!;
      const holeStart = positions[i - 1]! + samplesOf(prev);
      const missing = missingBefore[i]!.map((s) => s & 0xffff);
      lostSequences.push(...missing);
      if (missing.length > 0 && at > holeStart && isAudio(prev)) {
        gaps.push({ startSample: holeStart, samples: at - holeStart, sequences: missing, reason: "lost" });
      }
    }
    if (p.pt === COMFORT_NOISE_PT) {
      // RFC 3389: noise at the signalled level until the next packet (the first byte: level in −dBov).
      const end = i < last ? positions[i + 1]! : at;
      const level = p.length > 0 ? pool[p.offset]! & 0x7f : 127;
      noise.fill(samples, at, end, level);
      present.fill(1, at, end);
      continue;
    }
    if (p.late) {
      lateCount++;
      lateSequences.push(p.extSeq & 0xffff);
      const previous = gaps[gaps.length - 1];
      if (previous && previous.startSample + previous.samples === at) {
        previous.samples += p.length;
        previous.sequences.push(p.extSeq & 0xffff);
        if (previous.reason === "lost") previous.reason = "mixed";
      } else {
        gaps.push({ startSample: at, samples: p.length, sequences: [p.extSeq & 0xffff], reason: "late" });
      }
      continue;
    }
    played++;
    decodeG711Into(p.pt === 8 ? "alaw" : "ulaw", pool, p.offset, p.length, samples, at);
    present.fill(1, at, at + p.length);
  }
  const plc = options.plc ?? "none";
  const output = plc === "g711" ? concealLosses(samples, present) : samples;
  return {
    stream,
    law,
    sampleRate: 8000,
    samples: output,
    present,
    packets: packets.length,
    played,
    late: lateCount,
    duplicates,
    skipped,
    lostSequences,
    lateSequences,
    gaps,
    jitterBuffer: formatJitterBuffer(spec),
    plc,
  };
}

/** Extracts and writes a mono 8 kHz 16-bit WAV. */
export async function extractRtpToWav(
  path: string,
  outPath: string,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const result = await extractRtpAudio(path, options);
  const floats = new Float32Array(result.samples.length);
  for (let i = 0; i < floats.length; i++) floats[i] = result.samples[i]! / 32768;
  await writeFile(outPath, writeWav([floats], 8000, "pcm16"));
  return result;
}

function describeStream(s: RtpStream, index: number): string {
  return `--stream ${index + 1}: 0x${hex(s.ssrc)} ${s.srcAddress}:${s.srcPort} → ${s.dstAddress}:${s.dstPort} ${s.payloadName} (${s.packets} packets)`;
}

function chooseStream(path: string, streams: RtpStream[], ssrc: number | undefined, index?: number): RtpStream {
  if (index !== undefined) {
    const found = streams[index - 1];
    if (!Number.isInteger(index) || !found) {
      throw new QoelabError(
        "VOIP_NO_SUCH_STREAM",
        `${path}: no stream ${index} (streams, as rtp streams lists them: ${streams.map(describeStream).join("; ")})`,
        { file: path, stream: index },
      );
    }
    if (ssrc !== undefined && found.ssrc !== ssrc) {
      throw new QoelabError(
        "VOIP_NO_SUCH_STREAM",
        `${path}: stream ${index} has SSRC 0x${hex(found.ssrc)}, not 0x${hex(ssrc)} (${describeStream(found, index - 1)})`,
        { file: path, stream: index, ssrc },
      );
    }
    return found;
  }
  if (ssrc !== undefined) {
    const matching = streams.filter((s) => s.ssrc === ssrc);
    const found = matching[0];
    if (!found) {
      throw new QoelabError(
        "VOIP_NO_SUCH_STREAM",
        `${path}: no RTP stream with SSRC 0x${hex(ssrc)} (streams: ${streams.map((s) => `0x${hex(s.ssrc)}`).join(", ")})`,
        { file: path, ssrc },
      );
    }
    if (matching.length > 1) {
      throw new QoelabError(
        "VOIP_STREAM_AMBIGUOUS",
        `${path}: SSRC 0x${hex(ssrc)} is used by ${matching.length} streams; choose one with --stream N (${streams
          .map((s, i) => (s.ssrc === ssrc ? describeStream(s, i) : ""))
          .filter(Boolean)
          .join("; ")})`,
        { file: path, ssrc },
      );
    }
    return found;
  }
  const g711 = streams.filter((s) => s.payloadType === 0 || s.payloadType === 8);
  if (g711.length === 1) return g711[0]!;
  if (g711.length === 0) {
    const s = streams[0]!;
    throw new QoelabError(
      "VOIP_UNSUPPORTED_CODEC",
      `${path}: no G.711 stream to extract (found ${streams.map((x) => `0x${hex(x.ssrc)} ${x.payloadName}`).join(", ")}); only PCMU/PCMA can be decoded`,
      { file: path, ssrc: s.ssrc, payloadType: s.payloadType },
    );
  }
  throw new QoelabError(
    "VOIP_STREAM_AMBIGUOUS",
    `${path}: ${g711.length} G.711 streams; choose one with --stream N or --ssrc (${streams
      .map((s, i) => (g711.includes(s) ? describeStream(s, i) : ""))
      .filter(Boolean)
      .join("; ")})`,
    { file: path, ssrcs: g711.map((s) => s.ssrc) },
  );
}

const COMFORT_NOISE_PT = 13;

/**
 * White noise at an RFC 3389 level (0–127 −dBov; 0 dBov = a full-scale 16-bit signal's RMS), from a
 * small seeded generator so an extraction is repeatable.
 */
class ComfortNoise {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  fill(out: Int16Array, from: number, to: number, levelDbov: number): void {
    const rms = 32767 * 10 ** (-levelDbov / 20);
    // Uniform on [−a, a] has RMS a/√3.
    const a = rms * Math.sqrt(3);
    for (let i = from; i < to && i < out.length; i++) {
      this.state ^= this.state << 13;
      this.state ^= this.state >>> 17;
      this.state ^= this.state << 5;
      const u = (this.state >>> 0) / 4294967296;
      out[i] = Math.max(-32768, Math.min(32767, Math.round((2 * u - 1) * a)));
    }
  }
}

/** An IPv4 address as an unsigned number, or -1 for anything else. */
function v4Number(text: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (!m) return -1;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(8, "0");
}
