import { formatHex } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showHex, showNum } from "../show-format.ts";
import { codeTable } from "./code-table.ts";
import { headerExtent } from "./header-extent.ts";
import { decodePppProtocol } from "./ppp.ts";

/*
 * PPP over Ethernet (RFC 2516 §4). Discovery stage frames (EtherType 0x8863: PADI, PADO, PADR,
 * PADS, PADT) carry tags; session stage frames (0x8864, code 0) carry one PPP frame (ppp.ts):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  VER  | TYPE  |      CODE     |          SESSION_ID           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |            LENGTH             |           payload             ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * VER = TYPE = 1. LENGTH counts the payload (not the 6-byte header). A discovery payload is a
 * list of tags (RFC 2516 Appendix A):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          TAG_TYPE             |        TAG_LENGTH             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          TAG_VALUE ...                                        ~
 */

export const PPPOE_HEADER_SIZE = 6;
export const ETHERTYPE_PPPOE_DISCOVERY = 0x8863;
export const ETHERTYPE_PPPOE_SESSION = 0x8864;

const PPPOE_CODES = codeTable({
  SESSION: [0x00, "Session Data"],
  PADO: [0x07, "PADO (Active Discovery Offer)"],
  PADI: [0x09, "PADI (Active Discovery Initiation)"],
  PADR: [0x19, "PADR (Active Discovery Request)"],
  PADS: [0x65, "PADS (Active Discovery Session-confirmation)"],
  PADT: [0xa7, "PADT (Active Discovery Terminate)"],
});

export const PppoeCode = PPPOE_CODES.codes;

const tagNames = new Map<number, string>([
  [0x0000, "End-Of-List"],
  [0x0101, "Service-Name"],
  [0x0102, "AC-Name"],
  [0x0103, "Host-Uniq"],
  [0x0104, "AC-Cookie"],
  [0x0105, "Vendor-Specific"],
  [0x0110, "Relay-Session-Id"],
  [0x0120, "PPP-Max-Payload"],
  [0x0201, "Service-Name-Error"],
  [0x0202, "AC-System-Error"],
  [0x0203, "Generic-Error"],
]);

export function pppoeCodeName(code: number): string {
  return PPPOE_CODES.names.get(code) ?? "unknown";
}

export function pppoeTagName(type: number): string {
  return tagNames.get(type) ?? "unknown";
}

export interface PppoeTag {
  type: number;
  data: Uint8Array;
}

export interface PppoeFields {
  /** 1 (RFC 2516). */
  version: number;
  /** 1 (RFC 2516). */
  type: number;
  /** 0 = session data (EtherType 0x8864), else a discovery packet (0x8863). */
  code: number;
  session: number;
  /** Payload length; computed when undefined. */
  length?: number;
  /** Discovery tags (empty for session frames). */
  tags: PppoeTag[];
}

export interface DecodedPppoe extends PppoeFields, DecodeInfo {
  length: number;
}

/** Decodes the header; `discovery` also decodes the tags (the whole payload). */
export function decodePppoe(bytes: Uint8Array, offset: number, end: number, discovery: boolean): DecodedPppoe {
  const available = end - offset;
  const extent = headerExtent("PPPoE header", PPPOE_HEADER_SIZE, available);
  const anomalies = extent.anomalies;
  const first = bytes[offset] ?? 0;
  const length = readU16(bytes, offset + 4);
  const tags: PppoeTag[] = [];
  if (extent.complete) {
    if (first !== 0x11) anomalies.push(anomaly("bad-version", `PPPoE version ${first >> 4} type ${first & 0x0f}`));
    if (length > available - PPPOE_HEADER_SIZE) {
      anomalies.push(anomaly("truncated", `PPPoE length ${length}, ${available - PPPOE_HEADER_SIZE} bytes captured`));
    }
    if (discovery) {
      const limit = Math.min(end, offset + PPPOE_HEADER_SIZE + length);
      let at = offset + PPPOE_HEADER_SIZE;
      while (limit - at >= 4) {
        const type = readU16(bytes, at);
        const tagLength = readU16(bytes, at + 2);
        if (at + 4 + tagLength > limit) {
          anomalies.push(anomaly("bad-length", `PPPoE tag 0x${type.toString(16)} of ${tagLength} bytes overruns`));
          break;
        }
        tags.push({ type, data: bytes.slice(at + 4, at + 4 + tagLength) });
        at += 4 + tagLength;
      }
      extent.headerLength = at - offset;
    }
  }
  return {
    version: first >> 4,
    type: first & 0x0f,
    code: bytes[offset + 1] ?? 0,
    session: readU16(bytes, offset + 2),
    length,
    tags,
    ...extent,
  };
}

function tagBytes(tags: readonly PppoeTag[]): Uint8Array {
  const out = new Uint8Array(tags.reduce((n, t) => n + 4 + t.data.length, 0));
  let at = 0;
  for (const tag of tags) {
    writeU16(out, at, tag.type);
    writeU16(out, at + 2, tag.data.length);
    out.set(tag.data, at + 4);
    at += 4 + tag.data.length;
  }
  return out;
}

export function encodePppoe(fields: PppoeFields, payload: Uint8Array): Uint8Array {
  const tags = tagBytes(fields.tags);
  const out = new Uint8Array(PPPOE_HEADER_SIZE + tags.length + payload.length);
  out[0] = ((fields.version & 0x0f) << 4) | (fields.type & 0x0f);
  out[1] = fields.code;
  writeU16(out, 2, fields.session);
  writeU16(out, 4, fields.length ?? tags.length + payload.length);
  out.set(tags, PPPOE_HEADER_SIZE);
  out.set(payload, PPPOE_HEADER_SIZE + tags.length);
  return out;
}

/**
 * Fast read of a session frame: session id and PPP protocol (left in `out.etherType` for the
 * registry's PPP table). Discovery frames stop the walk with the network offset set.
 */
function fastPppoe(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (out.etherType !== ETHERTYPE_PPPOE_SESSION) {
    out.l3Offset = p;
    return -1;
  }
  const first = end - p > PPPOE_HEADER_SIZE ? buffer[p + PPPOE_HEADER_SIZE]! : 0;
  const pppSize = (first & 1) === 1 ? 1 : 2; // PPP protocol-field compression (RFC 1661 §6.5)
  if (end - p < PPPOE_HEADER_SIZE + pppSize) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.pppoeSession = (buffer[p + 2]! << 8) | buffer[p + 3]!;
  out.etherType = pppSize === 1 ? first : (first << 8) | buffer[p + PPPOE_HEADER_SIZE + 1]!;
  return p + PPPOE_HEADER_SIZE + pppSize;
}

export const pppoeLayer = defineLayer({
  type: "PPPoE",
  info: { title: "PPPoE", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_PPPOE_SESSION, ETHERTYPE_PPPOE_DISCOVERY],
  etherTypeFor: (layer) =>
    layer.fields.code === PppoeCode.SESSION ? ETHERTYPE_PPPOE_SESSION : ETHERTYPE_PPPOE_DISCOVERY,
  fast: fastPppoe,
  fastNext: "ppp",
  decodeNetwork(w, offset, end, depth) {
    const session = (w.bytes[offset + 1] ?? 0) === PppoeCode.SESSION;
    const d = decodePppoe(w.bytes, offset, end, !session);
    if (!pushHeader(w, "PPPoE", d, offset, end, false)) return end;
    const payloadEnd = Math.min(end, offset + PPPOE_HEADER_SIZE + d.length);
    if (!session) {
      w.raw(offset + d.headerLength, payloadEnd, false);
      return payloadEnd;
    }
    return decodePppProtocol(w, offset + PPPOE_HEADER_SIZE, payloadEnd, depth);
  },
  encode: (layer, payload) => encodePppoe(layer.fields, payload),
  size: (layer) => PPPOE_HEADER_SIZE + tagBytes(layer.fields.tags).length,
  rows({ fields: f }) {
    const rows: ShowRow[] = [
      ["version", String(f.version)],
      ["type", String(f.type)],
      ["code", showHex(f.code, 2), pppoeCodeName(f.code)],
      ["session", showHex(f.session, 4), String(f.session)],
      ["length", showNum(f.length)],
    ];
    f.tags.forEach((t, i) => {
      const text = t.type === 0x0101 || t.type === 0x0102 ? new TextDecoder().decode(t.data) : formatHex(t.data);
      rows.push([`tags[${i}]`, showHex(t.type, 4), `${pppoeTagName(t.type)}${t.data.length > 0 ? ` ${text}` : ""}`]);
    });
    return rows;
  },
  summary({ fields: f }) {
    if (f.code === PppoeCode.SESSION) return `PPPoE session=0x${f.session.toString(16).padStart(4, "0")}`;
    return `PPPoE ${pppoeCodeName(f.code).split(" ")[0]}${f.session ? ` session=0x${f.session.toString(16).padStart(4, "0")}` : ""}`;
  },
});
