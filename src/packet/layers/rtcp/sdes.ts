import { readU32 } from "../../byte-order.ts";
import { badBody, failField, pushU32, type RtcpBodyCodec, RtcpPacketType, utf8, utf8Encoder } from "./rtcp-common.ts";

/*
 * SDES (PT 202, RFC 3550 §6.5): SC chunks, each an SSRC/CSRC and items {type, length, text}, ended
 * by a zero octet (END) and zero-padded to a 32-bit boundary. PRIV (8) text starts with a prefix
 * length.
 */

export const SdesItemType = {
  END: 0,
  CNAME: 1,
  NAME: 2,
  EMAIL: 3,
  PHONE: 4,
  LOC: 5,
  TOOL: 6,
  NOTE: 7,
  PRIV: 8,
} as const;

export interface RtcpSdesItem {
  /** SdesItemType (1–8, other values kept as read). */
  type: number;
  /** Item text as UTF-8 (the value after the prefix for PRIV). */
  text: string;
  /** PRIV only: the prefix string. */
  prefix?: string;
}

export interface RtcpSdesChunk {
  source: number;
  items: RtcpSdesItem[];
}

export interface RtcpSdes {
  kind: "sdes";
  chunks: RtcpSdesChunk[];
}

export const sdesCodec: RtcpBodyCodec<RtcpSdes> = {
  packetTypes: [RtcpPacketType.SDES],
  kinds: ["sdes"],
  decode(bytes, p, end, header, errors) {
    const count = header.count;
    const type0 = header.packetType;
    const chunks: RtcpSdesChunk[] = [];
    let q = p;
    for (let c = 0; c < count; c++) {
      if (end - q < 4) return badBody(errors, type0, `SDES chunk ${c} of ${count} needs 4 bytes, ${end - q} present`);
      const chunk: RtcpSdesChunk = { source: readU32(bytes, q), items: [] };
      q += 4;
      for (;;) {
        if (q >= end) return badBody(errors, type0, `SDES chunk ${c} has no END item`);
        const type = bytes[q]!;
        if (type === SdesItemType.END) {
          // END, then zero padding up to the next 32-bit boundary (relative to the packet).
          q += 1;
          q += (4 - ((q - p) % 4)) % 4;
          break;
        }
        if (end - q < 2) return badBody(errors, type0, `SDES item ${type} lacks its length byte`);
        const itemLength = bytes[q + 1]!;
        if (end - q - 2 < itemLength) {
          return badBody(errors, type0, `SDES item ${type} claims ${itemLength} bytes, ${end - q - 2} left`);
        }
        const text = bytes.subarray(q + 2, q + 2 + itemLength);
        if (type === SdesItemType.PRIV) {
          const prefixLength = text[0] ?? 0;
          if (itemLength < 1 || prefixLength > itemLength - 1) {
            return badBody(errors, type0, `SDES PRIV prefix length ${prefixLength} in a ${itemLength}-byte item`);
          }
          chunk.items.push({
            type,
            prefix: utf8.decode(text.subarray(1, 1 + prefixLength)),
            text: utf8.decode(text.subarray(1 + prefixLength)),
          });
        } else {
          chunk.items.push({ type, text: utf8.decode(text) });
        }
        q += 2 + itemLength;
      }
      chunks.push(chunk);
    }
    if (q > end) return badBody(errors, type0, "SDES padding runs past the packet");
    return { kind: "sdes", chunks };
  },
  encode(fields) {
    const parts: number[] = [];
    for (const chunk of fields.chunks) {
      const start = parts.length;
      pushU32(parts, chunk.source);
      for (const item of chunk.items) {
        let text = utf8Encoder.encode(item.text);
        if (item.type === SdesItemType.PRIV) {
          const prefix = utf8Encoder.encode(item.prefix ?? "");
          if (prefix.length > 255) failField("PRIV prefix", prefix.length, "at most 255 bytes");
          const joined = new Uint8Array(1 + prefix.length + text.length);
          joined[0] = prefix.length;
          joined.set(prefix, 1);
          joined.set(text, 1 + prefix.length);
          text = joined;
        }
        if (item.type < 1 || item.type > 255) failField("SDES item type", item.type, "1..255");
        if (text.length > 255) failField("SDES item", text.length, "at most 255 bytes");
        parts.push(item.type, text.length, ...text);
      }
      // END plus padding to a 32-bit boundary: at least one zero octet.
      do parts.push(0);
      while ((parts.length - start) % 4 !== 0);
    }
    return { packetType: RtcpPacketType.SDES, count: fields.chunks.length, body: Uint8Array.from(parts) };
  },
};
