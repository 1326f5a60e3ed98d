import { readU32, writeU32 } from "../../byte-order.ts";
import { badBody, failField, type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

/* XR (PT 207, RFC 3611): SSRC, report blocks (kept raw). */

export interface RtcpExtendedReport {
  kind: "xr";
  ssrc: number;
  blocks: Uint8Array;
}

export const extendedReportCodec: RtcpBodyCodec<RtcpExtendedReport> = {
  packetTypes: [RtcpPacketType.XR],
  kinds: ["xr"],
  decode(bytes, p, end, header, errors) {
    if (end - p < 4) return badBody(errors, header.packetType, `XR needs 4 bytes, ${end - p} present`);
    return { kind: "xr", ssrc: readU32(bytes, p), blocks: bytes.subarray(p + 4, end) };
  },
  encode(fields) {
    if (fields.blocks.length % 4 !== 0) failField("XR blocks", fields.blocks.length, "a multiple of 4 bytes");
    const body = new Uint8Array(4 + fields.blocks.length);
    writeU32(body, 0, fields.ssrc);
    body.set(fields.blocks, 4);
    return { packetType: RtcpPacketType.XR, count: 0, body };
  },
};
