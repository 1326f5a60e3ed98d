import { QoelabError } from "../errors.ts";
import { analyzeRtpStreams, type RtpStream } from "./rtp-streams.ts";
import { analyzeSipCalls } from "./sip-calls.ts";

/**
 * The stream of a recorded call that `experiment voip --replay` re-sends: the one named by SSRC,
 * the only G.711 stream, or the caller's (the one sent from the address and port the INVITE's SDP
 * offered, i.e. by whoever placed the call).
 */
export async function chooseReplayStream(capture: string, ssrc?: number): Promise<RtpStream & { description: string }> {
  const streams = await analyzeRtpStreams(capture, { heuristic: "auto" });
  const g711 = streams.filter((s) => s.payloadType === 0 || s.payloadType === 8);
  const describe = (s: RtpStream) =>
    `SSRC 0x${s.ssrc.toString(16).padStart(8, "0")} ${s.srcAddress}:${s.srcPort} → ${s.dstAddress}:${s.dstPort} ${s.payloadName} (${s.packets} packets)`;
  const pick = (s: RtpStream) => ({ ...s, description: describe(s) });
  if (g711.length === 0) {
    throw new QoelabError(
      "EXPERIMENT_NO_STREAM",
      `${capture}: no G.711 RTP stream to replay${streams.length ? ` (found ${streams.map(describe).join("; ")})` : " (the capture holds no RTP)"}`,
      { file: capture },
    );
  }
  if (ssrc !== undefined) {
    const found = g711.find((s) => s.ssrc === ssrc);
    if (!found) {
      throw new QoelabError(
        "EXPERIMENT_NO_STREAM",
        `${capture}: no G.711 stream with SSRC 0x${ssrc.toString(16)} (streams: ${g711.map(describe).join("; ")})`,
        { file: capture, ssrc },
      );
    }
    return pick(found);
  }
  if (g711.length === 1) return pick(g711[0]!);
  const calls = await analyzeSipCalls(capture);
  const offer = calls[0]?.media[0];
  const caller = offer && g711.find((s) => s.srcAddress === offer.address && s.srcPort === offer.port);
  if (caller) return pick(caller);
  throw new QoelabError(
    "EXPERIMENT_STREAM_AMBIGUOUS",
    `${capture}: ${g711.length} G.711 streams and no SIP offer to tell the caller's; choose one with --replay-ssrc (${g711.map(describe).join("; ")})`,
    { file: capture },
  );
}
