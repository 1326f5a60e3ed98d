import { readU32, writeU32 } from "../../byte-order.ts";
import {
  RTCP_REPORT_BLOCK_SIZE,
  type RtcpReportBlock,
  readReports,
  reportsSize,
  writeReports,
} from "./report-block.ts";
import { badBody, type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

/* RR (PT 201, RFC 3550 §6.4.2): SSRC of the packet sender, then RC report blocks (report-block.ts). */

export interface RtcpReceiverReport {
  kind: "rr";
  ssrc: number;
  reports: RtcpReportBlock[];
  extension?: Uint8Array;
}

export const receiverReportCodec: RtcpBodyCodec<RtcpReceiverReport> = {
  packetTypes: [RtcpPacketType.RR],
  kinds: ["rr"],
  decode(bytes, p, end, header, errors) {
    const need = 4 + header.count * RTCP_REPORT_BLOCK_SIZE;
    if (end - p < need) {
      return badBody(errors, header.packetType, `${header.count} report blocks need ${need} bytes, ${end - p} present`);
    }
    return { kind: "rr", ssrc: readU32(bytes, p), ...readReports(bytes, p + 4, end, header.count) };
  },
  encode(fields) {
    const body = new Uint8Array(4 + reportsSize(fields.reports, fields.extension));
    writeU32(body, 0, fields.ssrc);
    writeReports(body, 4, fields.reports, fields.extension);
    return { packetType: RtcpPacketType.RR, count: fields.reports.length, body };
  },
};
