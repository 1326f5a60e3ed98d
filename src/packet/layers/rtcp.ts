import type { LayerAnomaly } from "../anomaly.ts";
import { type AppAnomaly, type AppDecodeInfo, appAnomaly } from "../app-anomaly.ts";
import { concatBytes, readU16, writeU16 } from "../byte-order.ts";
import { type AppPayload, type DecodeWalker, defineLayer, sameBytes } from "../layer-def.ts";
import { showHex } from "../show-format.ts";
import { appCodec, type RtcpApp } from "./rtcp/app.ts";
import { byeCodec, type RtcpBye } from "./rtcp/bye.ts";
import { extendedReportCodec, type RtcpExtendedReport } from "./rtcp/extended-report.ts";
import { feedbackCodec, type RtcpFeedback } from "./rtcp/feedback.ts";
import { type RtcpReceiverReport, receiverReportCodec } from "./rtcp/receiver-report.ts";
import {
  badBody,
  failField,
  RTCP_COMMON_HEADER_SIZE,
  type RtcpBodyCodec,
  type RtcpBodyErrors,
  type RtcpHeaderInfo,
  RtcpPacketType,
  rtcpTypeName,
} from "./rtcp/rtcp-common.ts";
import { type RtcpSdes, sdesCodec } from "./rtcp/sdes.ts";
import { type RtcpSenderReport, senderReportCodec } from "./rtcp/sender-report.ts";
import { mayBeRtpOrRtcp } from "./rtp.ts";

export * from "./rtcp/app.ts";
export * from "./rtcp/bye.ts";
export * from "./rtcp/extended-report.ts";
export * from "./rtcp/feedback.ts";
export * from "./rtcp/receiver-report.ts";
export * from "./rtcp/report-block.ts";
export { type RtcpHeaderInfo, RtcpPacketType, rtcpTypeName } from "./rtcp/rtcp-common.ts";
export * from "./rtcp/sdes.ts";
export * from "./rtcp/sender-report.ts";

/*
 * A compound RTCP packet (RFC 3550 §6.1): packets back to back, each with the common header
 * (rtcp/rtcp-common.ts) and a body whose codec is picked by PT: one file per packet type under
 * rtcp/. Padding (P = 1) is allowed on the last packet of a compound only: its last octet counts
 * the padding octets. A compound's first packet must be SR or RR; a single packet of another type
 * is accepted as reduced-size RTCP (RFC 5506).
 */

/** Any other packet type: header count and body kept raw. */
export interface RtcpUnknown {
  kind: "unknown";
  packetType: number;
  count: number;
  body: Uint8Array;
}

export type RtcpPacketFields =
  | RtcpSenderReport
  | RtcpReceiverReport
  | RtcpSdes
  | RtcpBye
  | RtcpApp
  | RtcpFeedback
  | RtcpExtendedReport
  | RtcpUnknown;

export type DecodedRtcpPacket = RtcpPacketFields & RtcpHeaderInfo;

export interface DecodedRtcp extends AppDecodeInfo {
  packets: DecodedRtcpPacket[];
  /** RFC 3550 §6.1 rules hold (first SR/RR in a compound, padding on the last only, lengths fit). */
  compoundValid: boolean;
}

/** The body codecs, one per file under rtcp/. */
const CODECS: readonly RtcpBodyCodec<RtcpPacketFields>[] = [
  senderReportCodec,
  receiverReportCodec,
  sdesCodec,
  byeCodec,
  appCodec,
  feedbackCodec,
  extendedReportCodec,
] as unknown as readonly RtcpBodyCodec<RtcpPacketFields>[];

const BY_TYPE = new Map<number, RtcpBodyCodec<RtcpPacketFields>>();
const BY_KIND = new Map<string, RtcpBodyCodec<RtcpPacketFields>>();
for (const codec of CODECS) {
  for (const type of codec.packetTypes) BY_TYPE.set(type, codec);
  for (const kind of codec.kinds) BY_KIND.set(kind, codec);
}

function decodeBody(
  bytes: Uint8Array,
  p: number,
  end: number,
  header: RtcpHeaderInfo,
  errors: RtcpBodyErrors,
): RtcpPacketFields | null {
  const codec = BY_TYPE.get(header.packetType);
  if (codec === undefined) {
    return { kind: "unknown", packetType: header.packetType, count: header.count, body: bytes.subarray(p, end) };
  }
  const fixed = codec.fixedPart;
  if (fixed !== undefined && end - p < fixed.size) {
    return badBody(errors, header.packetType, `${fixed.name} needs ${fixed.size} bytes, ${end - p} present`);
  }
  return codec.decode(bytes, p, end, header, errors);
}

function encodeBody(fields: RtcpPacketFields): { packetType: number; count: number; body: Uint8Array } {
  if (fields.kind === "unknown") {
    if (fields.body.length % 4 !== 0) failField("body", fields.body.length, "a multiple of 4 bytes");
    return { packetType: fields.packetType, count: fields.count, body: fields.body };
  }
  return BY_KIND.get(fields.kind)!.encode(fields);
}

/**
 * Decodes the compound RTCP packet in `bytes[offset, offset + length)`. Never throws: what could
 * be read is returned; broken length fields, truncation and compound-rule violations are anomalies.
 */
export function decodeRtcp(bytes: Uint8Array, offset: number, length: number = bytes.length - offset): DecodedRtcp {
  const end = offset + Math.max(0, length);
  const anomalies: AppAnomaly[] = [];
  const packets: DecodedRtcpPacket[] = [];
  let p = offset;
  let complete = true;
  let compoundValid = true;
  while (p < end) {
    const index = packets.length;
    if (end - p < RTCP_COMMON_HEADER_SIZE) {
      anomalies.push(appAnomaly("truncated", `RTCP packet ${index}: header needs 4 bytes, ${end - p} present`));
      complete = false;
      break;
    }
    const first = bytes[p]!;
    const version = first >> 6;
    const packetType = bytes[p + 1]!;
    const lengthWords = readU16(bytes, p + 2);
    const size = (lengthWords + 1) * 4;
    if (version !== 2) {
      anomalies.push(appAnomaly("bad-version", `RTCP packet ${index} at byte ${p - offset}: version ${version}`));
      complete = false;
      break;
    }
    if (size > end - p) {
      anomalies.push(
        appAnomaly("truncated", `RTCP packet ${index} (PT ${packetType}): length says ${size} bytes, ${end - p} left`),
      );
      complete = false;
      break;
    }
    let bodyEnd = p + size;
    let paddingLength = 0;
    if (first & 0x20) {
      const count = bytes[bodyEnd - 1]!;
      if (count === 0 || count > size - RTCP_COMMON_HEADER_SIZE) {
        anomalies.push(
          appAnomaly("bad-length", `RTCP packet ${index}: padding count ${count} in a ${size}-byte packet`),
        );
        compoundValid = false;
      } else {
        paddingLength = count;
        bodyEnd -= count;
      }
      if (p + size < end) {
        anomalies.push(appAnomaly("bad-compound", `RTCP packet ${index}: padding before the last packet`));
        compoundValid = false;
      }
    }
    const header: RtcpHeaderInfo = {
      version,
      packetType,
      count: first & 0x1f,
      lengthWords,
      paddingLength,
      offset: p,
      byteLength: size,
    };
    const fields = decodeBody(bytes, p + RTCP_COMMON_HEADER_SIZE, bodyEnd, header, { anomalies, index });
    if (fields === null) {
      compoundValid = false;
    } else {
      packets.push(Object.assign(fields, header));
    }
    p += size;
  }
  if (packets.length > 1) {
    const firstType = packets[0]!.packetType;
    if (firstType !== RtcpPacketType.SR && firstType !== RtcpPacketType.RR) {
      anomalies.push(appAnomaly("bad-compound", `RTCP compound starts with PT ${firstType}, not SR or RR`));
      compoundValid = false;
    }
  }
  if (packets.length === 0 && anomalies.length === 0) {
    anomalies.push(appAnomaly("truncated", "RTCP: no bytes"));
    complete = false;
  }
  if (!complete) compoundValid = false;
  return { packets, compoundValid, headerLength: p - offset, complete, anomalies };
}

/** Encodes one RTCP packet; `paddingLength` (a multiple of 4, 4–252) sets P and pads. */
export function encodeRtcpPacket(fields: RtcpPacketFields, paddingLength = 0): Uint8Array {
  if (paddingLength !== 0 && (paddingLength % 4 !== 0 || paddingLength < 4 || paddingLength > 252)) {
    failField("paddingLength", paddingLength, "0 or a multiple of 4 in 4..252");
  }
  const { packetType, count, body } = encodeBody(fields);
  if (count > 31) failField("count", count, "at most 31 (report blocks, chunks or sources)");
  const size = RTCP_COMMON_HEADER_SIZE + body.length + paddingLength;
  if (size / 4 - 1 > 0xffff) failField("length", size, "at most 262144 bytes");
  const out = new Uint8Array(size);
  out[0] = (2 << 6) | (paddingLength > 0 ? 0x20 : 0) | count;
  out[1] = packetType;
  writeU16(out, 2, size / 4 - 1);
  out.set(body, RTCP_COMMON_HEADER_SIZE);
  if (paddingLength > 0) out[size - 1] = paddingLength;
  return out;
}

/** Encodes a compound packet: the packets back to back (padding, if any, on the last). */
export function encodeRtcp(packets: readonly RtcpPacketFields[], paddingLength = 0): Uint8Array {
  const parts = packets.map((packet, i) => encodeRtcpPacket(packet, i === packets.length - 1 ? paddingLength : 0));
  return concatBytes(...parts);
}

/** RTCP when the second byte is an RTCP packet type (200–207) and the compound re-encodes byte for byte. */
function decodeRtcpApp(w: DecodeWalker, payload: AppPayload): boolean {
  if (!mayBeRtpOrRtcp(payload)) return false;
  const { bytes: b, offset, end } = payload;
  const second = b[offset + 1]!;
  if (second < 200 || second > 207) return false;
  const length = end - offset;
  const d = decodeRtcp(b, offset, length);
  if (!d.complete) return false;
  const packets = d.packets.map((p) => {
    const { version, packetType, count, lengthWords, paddingLength, offset: at, byteLength, ...fields } = p;
    void [version, packetType, count, lengthWords, paddingLength, at, byteLength];
    return fields as unknown as (typeof d.packets)[number];
  });
  const paddingLength = d.packets.at(-1)?.paddingLength ?? 0;
  // Taken only when it re-encodes byte for byte (bytes() of a decoded packet stays exact).
  if (!sameBytes(encodeRtcp(packets, paddingLength), b, offset, end)) return false;
  w.push(
    { type: "RTCP", fields: { packets, paddingLength } },
    { anomalies: d.anomalies as LayerAnomaly[], headerLength: length },
    offset,
    false,
  );
  return true;
}

function describeRtcpPacket(p: RtcpPacketFields): string {
  const ssrc = "ssrc" in p && typeof p.ssrc === "number" ? ` ssrc ${showHex(p.ssrc, 8)}` : "";
  const type = p.kind === "unknown" ? p.packetType : undefined;
  return `${type === undefined ? p.kind.toUpperCase() : rtcpTypeName(type)}${ssrc}`;
}

export const rtcpLayer = defineLayer({
  type: "RTCP",
  info: { title: "RTCP", tcpip: "application", osi: 7 },
  decodeApp: decodeRtcpApp,
  encode: (layer, payload) => concatBytes(encodeRtcp(layer.fields.packets, layer.fields.paddingLength ?? 0), payload),
  size: (layer) => encodeRtcp(layer.fields.packets, layer.fields.paddingLength ?? 0).length,
  rows: (layer) => layer.fields.packets.map((p, i) => [`packets[${i}]`, p.kind, describeRtcpPacket(p)] as const),
  summary: (layer) => `RTCP ${layer.fields.packets.map((p) => p.kind.toUpperCase()).join(", ")}`,
});
