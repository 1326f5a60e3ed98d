import { burstRatio, callQuality, EMODEL_CODECS, plcAssumption, rClampNote } from "../quality/index.ts";
import { formatJitterBuffer, type JitterBufferSpec } from "./jitter-buffer.ts";
import type { StreamState } from "./rtp-stream-state.ts";

export interface EstimateOptions {
  /** Jitter buffer the receiver is assumed to run (default none, as `rtp extract`'s default). */
  jitterBuffer?: JitterBufferSpec;
  /** Whether the receiver conceals loss with G.711 Appendix I (default false, as `rtp extract`'s default). */
  plc?: boolean;
  /** One-way network delay the capture cannot see (default 0 ms). */
  networkDelayMs?: number;
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

/**
 * The E-model's estimate for stream `s` (null when its codec has no E-model values) under the
 * receiver the options assume: loss = network loss + late discards of its jitter buffer.
 */
export function estimateStream(
  s: StreamState,
  expected: number,
  lost: number,
  ptime: number,
  assumed: Required<EstimateOptions>,
): RtpStreamEstimate | null {
  const codec = s.regPt === 0 ? "pcmu" : s.regPt === 8 ? "pcma" : (s.dynamic?.get(s.regPt)?.encoding ?? "");
  if (!EMODEL_CODECS.includes(codec.toLowerCase()) || expected <= 0) return null;
  const jb = s.jitterBuffer!;
  const discarded = Math.max(0, lost) + jb.late;
  const lossPercent = Math.min(100, (discarded / expected) * 100);
  const burst = burstRatio(s.lossRuns, s.receivedInOrder, s.lossRuns, s.lostInRuns);
  // Without a jitter buffer nothing waits for late packets: no buffer delay enters Ta.
  const bufferDelay = assumed.jitterBuffer.kind === "none" ? 0 : jb.meanBufferDelayMs();
  const delay = ptime + bufferDelay + assumed.networkDelayMs;
  const q = callQuality({ codec, plc: assumed.plc, lossPercent, burstRatio: burst, oneWayDelayMs: delay });
  return {
    R: q.R,
    mos: q.mos,
    codec: q.codec.codec,
    plc: assumed.plc,
    lossPercent,
    burstRatio: burst,
    jitterBuffer: formatJitterBuffer(assumed.jitterBuffer),
    jitterBufferLate: jb.late,
    oneWayDelayMs: delay,
    assumptions:
      `${plcAssumption(assumed.plc).text}; codec from PT ${s.regPt} (${q.codec.description}); loss = network loss + late discards of a ` +
      `${formatJitterBuffer(assumed.jitterBuffer)} jitter buffer; Ta = packetisation ${ptime} ms + jitter-buffer delay ` +
      `${bufferDelay.toFixed(1)} ms + assumed network delay ${assumed.networkDelayMs} ms; T = Ta, Tr = 2·Ta; ` +
      "other parameters G.107 defaults" +
      (rClampNote(q) ? `; ${rClampNote(q)}` : ""),
  };
}
