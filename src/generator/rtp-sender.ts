import { createSocket, type Socket } from "node:dgram";
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import { channelsIdentical, encodeG711, type G711Law, readWav, resample, type WavAudio } from "../audio/index.ts";
import { QoelabError, unreadableFile } from "../errors.ts";
import { encodeRtcp, encodeRtp, type RtcpPacketFields, SdesItemType, unixSecondsToNtp } from "../packet/index.ts";
import { createLossModel, type LossModelSpec } from "./loss-models.ts";
import { Random } from "./random.ts";
import { runSchedule, type TimingReport } from "./scheduler.ts";
import { bindSocket } from "./udp-socket.ts";

/*
 * Real audio over RTP (RFC 3550, RFC 3551 static payload types 0/8): 8 kHz mono PCM is G.711-encoded
 * once up front, cut into ptime-long frames, and each packet is sent on its deadline by the deadline
 * scheduler. Optional RTCP on port+1: a first SR+SDES after half an interval, then every 5 s (the RFC
 * 3550 minimum), and SR+SDES+BYE at the end.
 */

export type RtpCodec = "pcmu" | "pcma";

export const RTP_CODECS: Readonly<Record<RtpCodec, { payloadType: number; law: G711Law; name: string }>> = {
  pcmu: { payloadType: 0, law: "ulaw", name: "PCMU" },
  pcma: { payloadType: 8, law: "alaw", name: "PCMA" },
};

export function parseRtpCodec(text: string): RtpCodec {
  const name = text.trim().toLowerCase();
  const alias: Record<string, RtpCodec> = {
    pcmu: "pcmu",
    ulaw: "pcmu",
    g711u: "pcmu",
    pcma: "pcma",
    alaw: "pcma",
    g711a: "pcma",
  };
  const codec = alias[name];
  if (!codec) {
    throw new QoelabError(
      "GEN_UNKNOWN_CODEC",
      `--codec "${text}": unknown; the RTP sender carries G.711 only: pcmu (µ-law, PT 0) or pcma (A-law, PT 8)`,
      { codec: text },
    );
  }
  return codec;
}

/** 8 kHz mono 16-bit PCM ready for G.711, and what was done to the input to get it. */
export interface TelephoneAudio {
  pcm: Int16Array;
  conversions: string[];
}

const SILENT_PEAK = 10 ** (-60 / 20);

function peak(samples: Float32Array): number {
  let max = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i]!);
    if (v > max) max = v;
  }
  return max;
}

function meanSquare(samples: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return samples.length ? sum / samples.length : 0;
}

/**
 * Telephone-band PCM (8 kHz, mono, 16-bit) from a decoded WAV, converting only when the result is
 * unambiguous, and saying what was converted:
 * - channels: identical channels → one of them; one channel with signal and the others silent → that
 *   channel; two different channels → their mean, unless the mean cancels (less than half the
 *   channels' energy: out-of-phase material, which channel is meant?) → refused; more than two
 *   different channels → refused;
 * - rate: anything but 8000 Hz is resampled (windowed-sinc low-pass at the new Nyquist);
 * - encoding: float, 8/24/32-bit PCM and G.711 WAVs are converted to 16-bit, clipping counted.
 */
export function telephoneAudio(wav: WavAudio, name = "input.wav"): TelephoneAudio {
  const conversions: string[] = [];
  const channels = wav.channels;
  if (channels.length === 0 || channels[0]!.length === 0) {
    throw new QoelabError("AUDIO_EMPTY", `${name}: no audio samples`, { file: name });
  }
  let mono: Float32Array;
  if (channels.length === 1) mono = channels[0]!;
  else if (channelsIdentical(channels)) {
    mono = channels[0]!;
    conversions.push(`${channels.length} identical channels taken as mono`);
  } else {
    const voiced = channels.map((c, i) => ({ i, c })).filter(({ c }) => peak(c) > SILENT_PEAK);
    if (voiced.length === 1) {
      mono = voiced[0]!.c;
      conversions.push(`channel ${voiced[0]!.i + 1} of ${channels.length} taken (the others are silent)`);
    } else if (channels.length === 2) {
      const [a, b] = channels as [Float32Array, Float32Array];
      mono = new Float32Array(a.length);
      for (let i = 0; i < a.length; i++) mono[i] = (a[i]! + b[i]!) / 2;
      const kept = meanSquare(mono) / ((meanSquare(a) + meanSquare(b)) / 2);
      if (!(kept >= 0.25)) {
        throw new QoelabError(
          "AUDIO_AMBIGUOUS_CHANNELS",
          `${name}: 2 channels that cancel when mixed (the mix keeps ${(10 * Math.log10(kept || 1e-12)).toFixed(1)} dB of their energy); choose one channel first (sox ${name} -c 1 out.wav remix 1)`,
          { file: name, channels: 2 },
        );
      }
      conversions.push("2 channels mixed down to mono (mean of left and right)");
    } else {
      throw new QoelabError(
        "AUDIO_AMBIGUOUS_CHANNELS",
        `${name}: ${channels.length} different channels; G.711 carries one — choose it first (sox ${name} -c 1 out.wav remix 1)`,
        { file: name, channels: channels.length },
      );
    }
  }
  if (wav.sampleRate !== 8000) {
    mono = resample(mono, wav.sampleRate, 8000);
    conversions.push(`resampled ${wav.sampleRate} Hz → 8000 Hz`);
  }
  if (wav.encoding !== "pcm" || wav.bitsPerSample !== 16) {
    const what = wav.encoding === "pcm" ? `${wav.bitsPerSample}-bit PCM` : `${wav.encoding} ${wav.bitsPerSample}-bit`;
    conversions.push(`${what} converted to 16-bit linear PCM`);
  }
  const pcm = new Int16Array(mono.length);
  let clipped = 0;
  for (let i = 0; i < mono.length; i++) {
    const v = Math.round(mono[i]! * 32768);
    if (v > 32767 || v < -32768) clipped++;
    pcm[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  if (clipped > 0) conversions.push(`${clipped} samples clipped to 16-bit full scale`);
  return { pcm, conversions };
}

/** Reads a WAV file and makes it telephone-band PCM (see `telephoneAudio`). */
export async function readTelephoneWav(path: string): Promise<TelephoneAudio> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw unreadableFile("AUDIO_UNREADABLE", path, error);
  }
  return telephoneAudio(readWav(bytes, path), path);
}

export interface SendRtpOptions {
  /** Destination address (IPv4 or IPv6 literal) and RTP port. */
  host: string;
  port: number;
  /** 8 kHz mono PCM (see `telephoneAudio`). */
  pcm: Int16Array;
  codec: RtpCodec;
  /** Packetization time in ms (default 20): 8·ptime samples per packet. */
  ptimeMs?: number;
  /** SSRC (default: drawn from the seed). */
  ssrc?: number;
  /** Seeds the initial sequence number, timestamp, SSRC and the loss model. */
  seed?: number;
  /** Send RTCP SR/SDES during and SR/SDES/BYE at the end (to `rtcpPort`, default port + 1). */
  rtcp?: boolean;
  rtcpPort?: number;
  /** SDES CNAME (default qoelab@<ssrc>). */
  cname?: string;
  /** Local address and RTP port to send from (default any; RTCP goes from port + 1 when given). */
  bind?: string;
  bindPort?: number;
  /** Generator-side loss: the packet is not sent, its sequence number is used. */
  loss?: LossModelSpec;
  spinMs?: number;
  signal?: AbortSignal;
}

export interface SendRtpResult {
  codec: RtpCodec;
  payloadType: number;
  ptimeMs: number;
  ssrc: number;
  seed: number;
  firstSequence: number;
  firstTimestamp: number;
  /** Packets scheduled (sent + dropped by the loss model). */
  packets: number;
  sent: number;
  droppedByModel: number;
  /** RTP sequence numbers the loss model dropped. */
  droppedSequences: number[];
  rtcpPackets: number;
  sendErrors: number;
  /** Samples carried (the last frame padded with silence to a whole packet). */
  samples: number;
  paddedSamples: number;
  timing: TimingReport;
}

const RTCP_INTERVAL_MS = 5000;

/** Sends `pcm` as G.711 RTP on ptime deadlines; resolves when the last packet (and BYE) is out. */
export async function sendRtp(options: SendRtpOptions): Promise<SendRtpResult> {
  const ptimeMs = options.ptimeMs ?? 20;
  if (!(Number.isInteger(ptimeMs) && ptimeMs >= 5 && ptimeMs <= 200)) {
    throw new QoelabError("GEN_BAD_PTIME", `--ptime ${ptimeMs}: expected a whole number of ms in 5…200`, {
      ptimeMs,
    });
  }
  if (!(Number.isInteger(options.port) && options.port > 0 && options.port < 65536)) {
    throw new QoelabError("GEN_BAD_PORT", `port ${options.port}: expected 1…65535`);
  }
  const family = isIP(options.host);
  if (family === 0) {
    throw new QoelabError("GEN_BAD_ADDRESS", `destination "${options.host}": expected an IPv4 or IPv6 address`);
  }
  if (options.pcm.length === 0) throw new QoelabError("AUDIO_EMPTY", "gen rtp: no audio samples to send");
  const codec = RTP_CODECS[options.codec];
  if (!codec) parseRtpCodec(String(options.codec));
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = new Random(seed);
  const ssrc = options.ssrc !== undefined ? options.ssrc >>> 0 : rng.nextU32();
  const firstSequence = rng.nextU32() & 0xffff;
  const firstTimestamp = rng.nextU32();
  const loss = createLossModel(options.loss ?? { kind: "none" }, new Random(seed ^ 0x2f6b_1d3c));

  // Every packet is built before the first deadline: nothing is allocated on the send path.
  const frame = 8 * ptimeMs;
  const count = Math.ceil(options.pcm.length / frame);
  const padded = new Int16Array(count * frame);
  padded.set(options.pcm);
  const payload = encodeG711(codec.law, padded);
  const packets: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    packets[i] = encodeRtp(
      {
        marker: i === 0,
        payloadType: codec.payloadType,
        sequence: (firstSequence + i) & 0xffff,
        timestamp: (firstTimestamp + i * frame) >>> 0,
        ssrc,
      },
      payload.subarray(i * frame, (i + 1) * frame),
    );
  }

  const socket = createSocket(family === 6 ? "udp6" : "udp4");
  let sendErrors = 0;
  socket.on("error", () => {
    sendErrors++;
  });
  await bindSocket(socket, options.bind, options.bindPort ?? 0);
  let rtcpSocket: Socket | undefined;
  if (options.rtcp) {
    rtcpSocket = createSocket(family === 6 ? "udp6" : "udp4");
    rtcpSocket.on("error", () => {
      sendErrors++;
    });
    await bindSocket(rtcpSocket, options.bind, options.bindPort ? options.bindPort + 1 : 0);
  }
  const rtcpPort = options.rtcpPort ?? options.port + 1;
  const cname = options.cname ?? `qoelab@${ssrc.toString(16).padStart(8, "0")}`;
  let sent = 0;
  let octets = 0;
  let rtcpPackets = 0;
  let startMs = 0;
  let nextRtcpMs = RTCP_INTERVAL_MS / 2;
  const droppedSequences: number[] = [];
  // Sends still in flight (an address lookup precedes the kernel queue): closing early would drop them.
  let inFlight = 0;
  const onSent = (error: Error | null) => {
    inFlight--;
    if (error) sendErrors++;
  };
  const rtcpCompound = (elapsedMs: number, bye: boolean): Uint8Array => {
    const ntp = unixSecondsToNtp(Date.now() / 1000);
    const parts: RtcpPacketFields[] = [
      {
        kind: "sr",
        ssrc,
        sender: {
          ntpSeconds: ntp.seconds,
          ntpFraction: ntp.fraction,
          rtpTimestamp: (firstTimestamp + Math.round(elapsedMs * 8)) >>> 0,
          packetCount: sent,
          octetCount: octets,
        },
        reports: [],
      },
      { kind: "sdes", chunks: [{ source: ssrc, items: [{ type: SdesItemType.CNAME, text: cname }] }] },
    ];
    if (bye) parts.push({ kind: "bye", sources: [ssrc], reason: null });
    return encodeRtcp(parts);
  };
  let timing: TimingReport;
  try {
    timing = await runSchedule({
      count,
      nextIntervalMs: () => ptimeMs,
      spinMs: options.spinMs,
      stopped: () => options.signal?.aborted === true,
      onEvent: (index, scheduled) => {
        if (index === 0) startMs = scheduled;
        if (loss.lose()) {
          droppedSequences.push((firstSequence + index) & 0xffff);
        } else {
          const packet = packets[index]!;
          try {
            inFlight++;
            socket.send(packet, options.port, options.host, onSent);
          } catch {
            inFlight--;
            sendErrors++;
          }
          sent++;
          octets += packet.length - 12;
        }
        if (rtcpSocket && scheduled - startMs >= nextRtcpMs) {
          nextRtcpMs += RTCP_INTERVAL_MS;
          inFlight++;
          rtcpSocket.send(rtcpCompound(scheduled - startMs, false), rtcpPort, options.host, onSent);
          rtcpPackets++;
        }
        return undefined;
      },
    });
    if (rtcpSocket) {
      inFlight++;
      rtcpSocket.send(rtcpCompound(count * ptimeMs, true), rtcpPort, options.host, onSent);
      rtcpPackets++;
    }
    await drained(() => inFlight);
  } finally {
    socket.close();
    rtcpSocket?.close();
  }
  return {
    codec: options.codec,
    payloadType: codec.payloadType,
    ptimeMs,
    ssrc,
    seed,
    firstSequence,
    firstTimestamp,
    packets: timing.events,
    sent,
    droppedByModel: droppedSequences.length,
    droppedSequences,
    rtcpPackets,
    sendErrors,
    samples: padded.length,
    paddedSamples: padded.length - options.pcm.length,
    timing,
  };
}

/** Resolves once every send has called back. */
export function drained(inFlight: () => number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (inFlight() <= 0 ? resolve() : setImmediate(check));
    check();
  });
}
