import { QoelabError } from "../errors.ts";
import { pesqFiles, pesqVersionLabel, plcAssumption } from "../quality/index.ts";
import type { ExperimentEmodel, ExperimentPesq, ExperimentStream } from "../quality/report/index.ts";
import { extractRtpToWav } from "./rtp-extract.ts";
import { analyzeRtpStreams, type RtpStream } from "./rtp-streams.ts";

/*
 * Scoring one condition: the capture's RTP streams as `rtp streams` reports them, the caller →
 * callee audio extracted as Wireshark's RTP player would (no jitter buffer; silence in the gaps, or
 * G.711 Appendix I concealment with plc "g711"), the E-model of `rtp streams` with the same
 * assumptions as that extraction (PLC on or off, no jitter buffer, the configured one-way delay: so
 * `qoelab rtp streams CAPTURE --plc P --network-delay D` prints the same R), and PESQ P.862
 * narrowband of the reference against the extracted audio (PESQ does its own time alignment).
 */

export interface ConditionScores {
  streams: ExperimentStream[];
  /** The caller → callee stream (the one scored). */
  scored: RtpStream;
  received: string;
  emodel: ExperimentEmodel & { lossPercent: number; burstRatio: number; oneWayDelayMs: number };
  /** Loss of the scored stream measured on this (receiving) capture. */
  achievedLoss: { percent: number; lost: number; expected: number; received: number };
  pesq: ExperimentPesq | null;
  pesqError?: string;
  /** Lost sequence numbers found while extracting (gaps in the audio). */
  lostSequences: number[];
  extractedSamples: number;
}

const round = (v: number, digits: number) => Number(v.toFixed(digits));

export function experimentStream(stream: RtpStream, direction: string): ExperimentStream {
  return {
    ssrc: stream.ssrc,
    direction,
    codec: stream.payloadName,
    packets: stream.packets,
    expected: stream.expected,
    lost: stream.lost,
    lostPercent: round(stream.lostPercent, 4),
    meanJitterMs: round(stream.meanJitterMs, 4),
    maxJitterMs: round(stream.maxJitterMs, 4),
    meanDeltaMs: round(stream.meanDeltaMs, 4),
    maxDeltaMs: round(stream.maxDeltaMs, 4),
  };
}

export interface ScoreOptions {
  pcap: string;
  /** Where the extracted audio goes. */
  received: string;
  /** The speech that was sent (PESQ reference). */
  reference: string;
  callerAddress: string;
  /** Pick this SSRC as the caller's stream (replay mode), else the stream from callerAddress. */
  ssrc?: number;
  oneWayDelayMs: number;
  pesq: boolean;
  /** What the extraction does with lost packets (default none: silence); the E-model assumes the same. */
  plc?: "none" | "g711";
}

export async function scoreCondition(options: ScoreOptions): Promise<ConditionScores> {
  const plc = options.plc ?? "none";
  const streams = await analyzeRtpStreams(options.pcap, {
    heuristic: "auto",
    emodel: { jitterBuffer: { kind: "none" }, plc: plc === "g711", networkDelayMs: options.oneWayDelayMs },
  });
  const audio = streams.filter((s) => s.payloadType === 0 || s.payloadType === 8);
  const forward = audio
    .filter((s) => (options.ssrc !== undefined ? s.ssrc === options.ssrc : s.srcAddress === options.callerAddress))
    .sort((a, b) => b.packets - a.packets);
  const scored = forward[0];
  if (!scored) {
    throw new QoelabError(
      "EXPERIMENT_NO_STREAM",
      `${options.pcap}: no G.711 RTP stream from the caller (${options.callerAddress}) reached the callee (streams: ${streams.map((s) => `${s.srcAddress}:${s.srcPort}→${s.dstAddress}:${s.dstPort} ${s.payloadName}`).join("; ") || "none"})`,
      { file: options.pcap },
    );
  }
  const extracted = await extractRtpToWav(options.pcap, options.received, { ssrc: scored.ssrc, plc });
  const q = scored.estimate;
  if (!q) {
    throw new QoelabError(
      "EXPERIMENT_NO_STREAM",
      `${options.pcap}: no E-model estimate for SSRC 0x${scored.ssrc.toString(16)}`,
    );
  }
  const assumption = plcAssumption(q.plc);
  let pesq: ExperimentPesq | null = null;
  let pesqError: string | undefined;
  if (options.pesq) {
    try {
      const r = await pesqFiles(options.reference, options.received, { mode: "nb" });
      pesq = { raw: round(r.raw, 4), mosLqo: round(r.mosLqo, 4), version: pesqVersionLabel(r) };
    } catch (error) {
      pesqError = (error as Error).message;
    }
  }
  const direction = (s: RtpStream) =>
    s === scored || s.srcAddress === scored.srcAddress ? "caller→callee" : "callee→caller";
  return {
    streams: streams.map((s) => experimentStream(s, direction(s))),
    scored,
    received: options.received,
    emodel: {
      R: round(q.R, 3),
      mos: round(q.mos, 4),
      plc: q.plc,
      assumption: `${assumption.text}; no jitter buffer; Ta = ${round(q.oneWayDelayMs, 1)} ms (packetisation + ${options.oneWayDelayMs} ms link delay), as rtp streams --plc ${plc} --network-delay ${options.oneWayDelayMs}`,
      lossPercent: round(q.lossPercent, 4),
      burstRatio: round(q.burstRatio, 4),
      oneWayDelayMs: round(q.oneWayDelayMs, 3),
    },
    achievedLoss: {
      percent: round(scored.lostPercent, 4),
      lost: scored.lost,
      expected: scored.expected,
      received: scored.packets,
    },
    pesq,
    ...(pesqError ? { pesqError } : {}),
    lostSequences: extracted.lostSequences,
    extractedSamples: extracted.samples.length,
  };
}
