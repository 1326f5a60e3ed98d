import { readU32 } from "../../byte-order.ts";
import { failField, type RtcpBodyCodec, RtcpPacketType, wordsThenData } from "./rtcp-common.ts";

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
  fixedPart: { name: "APP", size: 8 },
  decode(bytes, p, end, header) {
    let name = "";
    for (let i = 4; i < 8; i++) name += String.fromCharCode(bytes[p + i]!);
    return { kind: "app", subtype: header.count, ssrc: readU32(bytes, p), name, data: bytes.subarray(p + 8, end) };
  },
  encode(fields) {
    let name = 0; // four ASCII bytes, spaces where the name is shorter
    for (let i = 0; i < 4; i++) name = name * 256 + (fields.name.charCodeAt(i) & 0xff || 0x20);
    const body = wordsThenData("APP data", [fields.ssrc, name], fields.data);
    if (fields.subtype < 0 || fields.subtype > 31) failField("APP subtype", fields.subtype, "0..31");
    return { packetType: RtcpPacketType.APP, count: fields.subtype, body };
  },
};
