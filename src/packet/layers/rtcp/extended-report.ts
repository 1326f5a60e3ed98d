import { readU32 } from "../../byte-order.ts";
import { type RtcpBodyCodec, RtcpPacketType, wordsThenData } from "./rtcp-common.ts";

/* XR (PT 207, RFC 3611): SSRC, report blocks (kept raw). */

export interface RtcpExtendedReport {
  kind: "xr";
  ssrc: number;
  blocks: Uint8Array;
}

export const extendedReportCodec: RtcpBodyCodec<RtcpExtendedReport> = {
  packetTypes: [RtcpPacketType.XR],
  kinds: ["xr"],
  fixedPart: { name: "XR", size: 4 },
  decode(bytes, p, end) {
    return { kind: "xr", ssrc: readU32(bytes, p), blocks: bytes.subarray(p + 4, end) };
  },
  encode(fields) {
    const body = wordsThenData("XR blocks", [fields.ssrc], fields.blocks);
    return { packetType: RtcpPacketType.XR, count: 0, body };
  },
};
