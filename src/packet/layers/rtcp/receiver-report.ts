import { decodeReportsBody, encodeReportsBody, type RtcpReports } from "./report-block.ts";
import { type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

/* RR (PT 201, RFC 3550 §6.4.2): SSRC of the packet sender, then RC report blocks (report-block.ts). */

export interface RtcpReceiverReport extends RtcpReports {
  kind: "rr";
}

export const receiverReportCodec: RtcpBodyCodec<RtcpReceiverReport> = {
  packetTypes: [RtcpPacketType.RR],
  kinds: ["rr"],
  decode(bytes, p, end, header, errors) {
    const body = decodeReportsBody(bytes, p, end, header, errors, 0);
    return body && { kind: "rr", ...body };
  },
  encode: (fields) => encodeReportsBody(fields, 0, RtcpPacketType.RR),
};
