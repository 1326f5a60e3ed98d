import { readU32 } from "../../byte-order.ts";
import { type RtcpBodyCodec, RtcpPacketType, wordsThenData } from "./rtcp-common.ts";

/* RTPFB/PSFB (PT 205/206, RFC 4585 §6.1): sender SSRC, media SSRC, feedback control information. */

/** RTPFB (205) and PSFB (206) feedback (RFC 4585): FCI kept raw. */
export interface RtcpFeedback {
  kind: "rtpfb" | "psfb";
  /** FMT: 1 = generic NACK (RTPFB), 1 = PLI, 4 = FIR, 15 = application layer (PSFB), … */
  format: number;
  senderSsrc: number;
  mediaSsrc: number;
  fci: Uint8Array;
}

export const feedbackCodec: RtcpBodyCodec<RtcpFeedback> = {
  packetTypes: [RtcpPacketType.RTPFB, RtcpPacketType.PSFB],
  kinds: ["rtpfb", "psfb"],
  fixedPart: { name: "feedback", size: 8 },
  decode(bytes, p, end, header) {
    return {
      kind: header.packetType === RtcpPacketType.RTPFB ? "rtpfb" : "psfb",
      format: header.count,
      senderSsrc: readU32(bytes, p),
      mediaSsrc: readU32(bytes, p + 4),
      fci: bytes.subarray(p + 8, end),
    };
  },
  encode(fields) {
    const body = wordsThenData("FCI", [fields.senderSsrc, fields.mediaSsrc], fields.fci);
    const packetType = fields.kind === "rtpfb" ? RtcpPacketType.RTPFB : RtcpPacketType.PSFB;
    return { packetType, count: fields.format, body };
  },
};
