import { readU32, writeU32 } from "../../byte-order.ts";
import { badBody, failField, type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

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
  decode(bytes, p, end, header, errors) {
    if (end - p < 8) return badBody(errors, header.packetType, `feedback needs 8 bytes, ${end - p} present`);
    return {
      kind: header.packetType === RtcpPacketType.RTPFB ? "rtpfb" : "psfb",
      format: header.count,
      senderSsrc: readU32(bytes, p),
      mediaSsrc: readU32(bytes, p + 4),
      fci: bytes.subarray(p + 8, end),
    };
  },
  encode(fields) {
    if (fields.fci.length % 4 !== 0) failField("FCI", fields.fci.length, "a multiple of 4 bytes");
    const body = new Uint8Array(8 + fields.fci.length);
    writeU32(body, 0, fields.senderSsrc);
    writeU32(body, 4, fields.mediaSsrc);
    body.set(fields.fci, 8);
    const packetType = fields.kind === "rtpfb" ? RtcpPacketType.RTPFB : RtcpPacketType.PSFB;
    return { packetType, count: fields.format, body };
  },
};
