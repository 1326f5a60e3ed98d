import { readU32, writeU32 } from "../../byte-order.ts";
import { badBody, failField, type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

/* APP (PT 204, RFC 3550 §6.7): SSRC, 4 ASCII name bytes, application data (multiple of 32 bits). */

export interface RtcpApp {
  kind: "app";
  subtype: number;
  ssrc: number;
  /** Four ASCII characters. */
  name: string;
  data: Uint8Array;
}

export const appCodec: RtcpBodyCodec<RtcpApp> = {
  packetTypes: [RtcpPacketType.APP],
  kinds: ["app"],
  decode(bytes, p, end, header, errors) {
    if (end - p < 8) return badBody(errors, header.packetType, `APP needs 8 bytes, ${end - p} present`);
    let name = "";
    for (let i = 4; i < 8; i++) name += String.fromCharCode(bytes[p + i]!);
    return { kind: "app", subtype: header.count, ssrc: readU32(bytes, p), name, data: bytes.subarray(p + 8, end) };
  },
  encode(fields) {
    if (fields.data.length % 4 !== 0) failField("APP data", fields.data.length, "a multiple of 4 bytes");
    if (fields.subtype < 0 || fields.subtype > 31) failField("APP subtype", fields.subtype, "0..31");
    const body = new Uint8Array(8 + fields.data.length);
    writeU32(body, 0, fields.ssrc);
    for (let i = 0; i < 4; i++) body[4 + i] = fields.name.charCodeAt(i) & 0xff || 0x20;
    body.set(fields.data, 8);
    return { packetType: RtcpPacketType.APP, count: fields.subtype, body };
  },
};
