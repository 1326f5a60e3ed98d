import { readU32 } from "../../byte-order.ts";
import { badBody, failField, pushU32, type RtcpBodyCodec, RtcpPacketType, utf8, utf8Encoder } from "./rtcp-common.ts";

/* BYE (PT 203, RFC 3550 §6.6): SC SSRC/CSRCs, then optionally {length, reason text}, padded. */

export interface RtcpBye {
  kind: "bye";
  sources: number[];
  reason?: string | null;
}

export const byeCodec: RtcpBodyCodec<RtcpBye> = {
  packetTypes: [RtcpPacketType.BYE],
  kinds: ["bye"],
  decode(bytes, p, end, header, errors) {
    const count = header.count;
    if (end - p < count * 4) {
      return badBody(
        errors,
        header.packetType,
        `BYE with ${count} sources needs ${count * 4} bytes, ${end - p} present`,
      );
    }
    const sources: number[] = [];
    let q = p;
    for (let i = 0; i < count; i++, q += 4) sources.push(readU32(bytes, q));
    let reason: string | null = null;
    if (q < end) {
      const reasonLength = bytes[q]!;
      if (reasonLength > end - q - 1) {
        return badBody(errors, header.packetType, `BYE reason claims ${reasonLength} bytes, ${end - q - 1} left`);
      }
      reason = utf8.decode(bytes.subarray(q + 1, q + 1 + reasonLength));
    }
    return { kind: "bye", sources, reason };
  },
  encode(fields) {
    const parts: number[] = [];
    for (const source of fields.sources) pushU32(parts, source);
    if (fields.reason != null) {
      const reason = utf8Encoder.encode(fields.reason);
      if (reason.length > 255) failField("BYE reason", reason.length, "at most 255 bytes");
      parts.push(reason.length, ...reason);
      while (parts.length % 4 !== 0) parts.push(0);
    }
    return { packetType: RtcpPacketType.BYE, count: fields.sources.length, body: Uint8Array.from(parts) };
  },
};
