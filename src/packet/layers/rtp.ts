import { QoelabError } from "../../errors.ts";
import { anomaly, type DecodeInfo, type LayerAnomaly } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import type { ShowRow } from "../layer.ts";
import { type AppPayload, type DecodeWalker, defineLayer } from "../layer-def.ts";
import { staticPayloadType } from "../rtp-payload-types.ts";
import { previewBytes, showHex } from "../show-format.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * RTP fixed header (RFC 3550 §5.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Header extension (§5.3.1), present when X = 1, after the CSRC list:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      defined by profile       |           length              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        header extension                       |
 * |                             ....                              |
 * `length` counts 32-bit words after this 4-byte word.
 *
 * Padding (P = 1): the last payload octet counts the padding octets, itself included.
 */

/** The fixed header; CSRCs and the extension follow it. */
const RTP = headerLayout({ vpxcc: 1, mpt: 1, sequence: 2, timestamp: 4, ssrc: 4 });
export const RTP_HEADER_SIZE = RTP.size;
const CSRC_SIZE = 4;
const EXTENSION_HEADER_SIZE = 4;
export const RTP_VERSION = 2;

/** Profile value of RFC 8285 one-byte header extensions. */
export const RTP_EXTENSION_ONE_BYTE_PROFILE = 0xbede;
/** RFC 8285 two-byte header extensions: 0x100 in the top 12 bits, 4 application bits below. */
export const RTP_EXTENSION_TWO_BYTE_PROFILE = 0x1000;

export interface RtpHeaderExtension {
  /** The 16 "defined by profile" bits (0xBEDE for RFC 8285 one-byte elements). */
  profile: number;
  /** Extension data (length × 4 bytes). A view into the packet when decoded. */
  data: Uint8Array;
}

export interface RtpFields {
  /** 2 for every RTP in use; encode writes what is given (default 2). */
  version?: number;
  marker: boolean;
  payloadType: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  csrc?: number[];
  extension?: RtpHeaderExtension | null;
  /** Padding octets after the payload (the count octet included); 0 = no padding. */
  paddingLength?: number;
  /**
   * The padding octets before the count octet, when they are not all zero (RFC 3550 §5.1 leaves
   * them free); encode writes zeros when undefined.
   */
  paddingData?: Uint8Array;
}

export interface DecodedRtp extends Required<Omit<RtpFields, "paddingData">>, DecodeInfo {
  paddingData?: Uint8Array;
  padding: boolean;
  /** X bit as read (an extension object is only present when it could be read). */
  hasExtension: boolean;
  csrcCount: number;
  /** Absolute offset of the payload in `bytes`, and its length without padding. */
  payloadOffset: number;
  payloadLength: number;
  /** View of the payload (padding excluded). */
  payload: Uint8Array;
}

/**
 * Decodes the RTP packet in `bytes[offset, offset + length)` (a UDP payload). Never throws: fields
 * that could not be read are 0, `complete` is false and `anomalies` says why.
 */
export function decodeRtp(bytes: Uint8Array, offset: number, length: number = bytes.length - offset): DecodedRtp {
  const end = offset + length;
  const anomalies: LayerAnomaly[] = [];
  const first = length > 0 ? bytes[offset + RTP.vpxcc]! : 0;
  const version = first >> 6;
  const padding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const second = length > 1 ? bytes[offset + RTP.mpt]! : 0;
  const out: DecodedRtp = {
    version,
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequence: length >= 4 ? readU16(bytes, offset + RTP.sequence) : 0,
    timestamp: length >= 8 ? readU32(bytes, offset + RTP.timestamp) : 0,
    ssrc: length >= 12 ? readU32(bytes, offset + RTP.ssrc) : 0,
    csrc: [],
    extension: null,
    paddingLength: 0,
    padding,
    hasExtension,
    csrcCount,
    payloadOffset: end,
    payloadLength: 0,
    payload: bytes.subarray(end, end),
    headerLength: Math.max(0, Math.min(length, RTP_HEADER_SIZE)),
    complete: false,
    anomalies,
  };
  if (length < RTP_HEADER_SIZE) {
    anomalies.push(anomaly("truncated", `RTP header needs 12 bytes, ${Math.max(0, length)} present`));
    return out;
  }
  if (version !== RTP_VERSION) anomalies.push(anomaly("bad-version", `RTP version ${version}, expected 2`));
  let p = offset + RTP_HEADER_SIZE;
  if (end - p < csrcCount * CSRC_SIZE) {
    anomalies.push(
      anomaly("truncated", `RTP CSRC list of ${csrcCount} needs ${csrcCount * 4} bytes, ${end - p} present`),
    );
    out.headerLength = length;
    return out;
  }
  for (let i = 0; i < csrcCount; i++, p += CSRC_SIZE) out.csrc.push(readU32(bytes, p));
  if (hasExtension) {
    if (end - p < EXTENSION_HEADER_SIZE) {
      anomalies.push(anomaly("truncated", `RTP header extension needs 4 bytes, ${end - p} present`));
      out.headerLength = length;
      return out;
    }
    const profile = readU16(bytes, p);
    const dataLength = readU16(bytes, p + 2) * 4;
    p += EXTENSION_HEADER_SIZE;
    if (end - p < dataLength) {
      anomalies.push(anomaly("truncated", `RTP header extension claims ${dataLength} bytes, ${end - p} present`));
      out.headerLength = length;
      return out;
    }
    out.extension = { profile, data: bytes.subarray(p, p + dataLength) };
    p += dataLength;
  }
  out.headerLength = p - offset;
  let payloadEnd = end;
  if (padding) {
    const count = end > p ? bytes[end - 1]! : 0;
    if (count === 0 || count > end - p) {
      anomalies.push(anomaly("bad-length", `RTP padding count ${count} with ${end - p} bytes after the header`));
    } else {
      out.paddingLength = count;
      payloadEnd = end - count;
      const data = bytes.subarray(payloadEnd, end - 1);
      if (data.some((x) => x !== 0)) out.paddingData = data.slice();
    }
  }
  out.payloadOffset = p;
  out.payloadLength = payloadEnd - p;
  out.payload = bytes.subarray(p, payloadEnd);
  out.complete = true;
  return out;
}

/** Bytes of the header `fields` encode to (fixed header + CSRCs + extension). */
export function rtpHeaderSize(fields: RtpFields): number {
  return RTP_HEADER_SIZE + (fields.csrc?.length ?? 0) * CSRC_SIZE + extensionSize(fields.extension);
}

function extensionSize(extension: RtpHeaderExtension | null | undefined): number {
  return extension ? EXTENSION_HEADER_SIZE + extension.data.length : 0;
}

/** Encodes header + payload (+ padding). Throws `PACKET_BAD_FIELD` for values that cannot be encoded. */
export function encodeRtp(fields: RtpFields, payload: Uint8Array): Uint8Array {
  const csrc = fields.csrc ?? [];
  const extension = fields.extension ?? null;
  const paddingLength = fields.paddingLength ?? 0;
  const version = fields.version ?? RTP_VERSION;
  check(version >= 0 && version <= 3, "version", version, "0..3");
  check(csrc.length <= 15, "csrc", csrc.length, "at most 15 entries");
  check(fields.payloadType >= 0 && fields.payloadType <= 127, "payloadType", fields.payloadType, "0..127");
  check(paddingLength >= 0 && paddingLength <= 255, "paddingLength", paddingLength, "0..255");
  const paddingData = fields.paddingData;
  if (paddingData) {
    check(paddingData.length === paddingLength - 1, "paddingData", paddingData.length, "paddingLength − 1 bytes");
  }
  if (extension) {
    check(extension.data.length % 4 === 0, "extension.data", extension.data.length, "a multiple of 4 bytes");
    check(extension.data.length / 4 <= 0xffff, "extension.data", extension.data.length, "at most 65535 words");
  }
  const headerSize = rtpHeaderSize(fields);
  const out = new Uint8Array(headerSize + payload.length + paddingLength);
  out[RTP.vpxcc] = (version << 6) | (paddingLength > 0 ? 0x20 : 0) | (extension ? 0x10 : 0) | csrc.length;
  out[RTP.mpt] = (fields.marker ? 0x80 : 0) | fields.payloadType;
  writeU16(out, RTP.sequence, fields.sequence);
  writeU32(out, RTP.timestamp, fields.timestamp);
  writeU32(out, RTP.ssrc, fields.ssrc);
  let p = RTP_HEADER_SIZE;
  for (const source of csrc) {
    writeU32(out, p, source);
    p += CSRC_SIZE;
  }
  if (extension) {
    writeU16(out, p, extension.profile);
    writeU16(out, p + 2, extension.data.length / 4);
    out.set(extension.data, p + EXTENSION_HEADER_SIZE);
    p += EXTENSION_HEADER_SIZE + extension.data.length;
  }
  out.set(payload, p);
  if (paddingData) out.set(paddingData, out.length - paddingLength);
  if (paddingLength > 0) out[out.length - 1] = paddingLength;
  return out;
}

function check(ok: boolean, field: string, value: number, expected: string): void {
  if (!ok) throw new QoelabError("PACKET_BAD_FIELD", `RTP ${field} ${value}: must be ${expected}`, { field, value });
}

/**
 * Heuristic used when no signalling names a port as RTP: version 2, payload type outside the
 * RTCP range 72–76 (which the marker bit would alias, RFC 5761 §4), header and padding fit.
 */
export function looksLikeRtp(bytes: Uint8Array, offset: number, length: number): boolean {
  if (length < RTP_HEADER_SIZE) return false;
  const first = bytes[offset]!;
  if (first >> 6 !== RTP_VERSION) return false;
  const payloadType = bytes[offset + 1]! & 0x7f;
  if (payloadType >= 72 && payloadType <= 76) return false;
  let headerSize = RTP_HEADER_SIZE + (first & 0x0f) * CSRC_SIZE;
  if (headerSize > length) return false;
  if (first & 0x10) {
    if (headerSize + EXTENSION_HEADER_SIZE > length) return false;
    headerSize += EXTENSION_HEADER_SIZE + readU16(bytes, offset + headerSize + 2) * 4;
    if (headerSize > length) return false;
  }
  if (first & 0x20) {
    const count = bytes[offset + length - 1]!;
    if (count === 0 || headerSize + count > length) return false;
  }
  return true;
}

/** One RFC 8285 header extension element. */
export interface RtpExtensionElement {
  /** 1–14 (one-byte form) or 1–255 (two-byte form). */
  id: number;
  data: Uint8Array;
}

export interface RtpExtensionElements {
  form: "one-byte" | "two-byte";
  /** The 4 application bits of the two-byte form's profile (0 for one-byte). */
  appBits: number;
  elements: RtpExtensionElement[];
  anomalies: LayerAnomaly[];
}

/**
 * Splits an RFC 8285 header extension into its elements; null when the profile is neither the
 * one-byte (0xBEDE) nor the two-byte (0x100x) form. Element data are views into `extension.data`.
 */
export function parseRtpExtensionElements(extension: RtpHeaderExtension): RtpExtensionElements | null {
  const { profile, data } = extension;
  const oneByte = profile === RTP_EXTENSION_ONE_BYTE_PROFILE;
  if (!oneByte && profile >> 4 !== RTP_EXTENSION_TWO_BYTE_PROFILE >> 4) return null;
  const result: RtpExtensionElements = {
    form: oneByte ? "one-byte" : "two-byte",
    appBits: oneByte ? 0 : profile & 0x0f,
    elements: [],
    anomalies: [],
  };
  let p = 0;
  while (p < data.length) {
    const first = data[p]!;
    if (first === 0) {
      p++; // padding byte between or after elements
      continue;
    }
    let id: number;
    let size: number;
    if (oneByte) {
      id = first >> 4;
      // ID 15 is reserved: stop parsing the extension (RFC 8285 §4.2).
      if (id === 15) break;
      size = (first & 0x0f) + 1;
      p += 1;
    } else {
      if (p + 1 >= data.length) {
        result.anomalies.push(anomaly("truncated", `RTP extension element ${first} lacks its length byte`));
        break;
      }
      id = first;
      size = data[p + 1]!;
      p += 2;
    }
    if (p + size > data.length) {
      result.anomalies.push(
        anomaly("bad-length", `RTP extension element ${id} claims ${size} bytes, ${data.length - p} left`),
      );
      break;
    }
    result.elements.push({ id, data: data.subarray(p, p + size) });
    p += size;
  }
  return result;
}

/**
 * Builds an RFC 8285 header extension from elements (zero-padded to a 32-bit boundary). The
 * one-byte form takes ids 1–14 with 1–16 data bytes; the two-byte form ids 1–255 and 0–255 bytes.
 */
export function buildRtpExtension(
  elements: readonly RtpExtensionElement[],
  form: "one-byte" | "two-byte" = "one-byte",
  appBits = 0,
): RtpHeaderExtension {
  const oneByte = form === "one-byte";
  let size = 0;
  for (const element of elements) {
    const n = element.data.length;
    if (oneByte) {
      if (element.id < 1 || element.id > 14 || n < 1 || n > 16) {
        throw new QoelabError(
          "PACKET_BAD_FIELD",
          `RTP one-byte extension element id ${element.id} with ${n} bytes: ids 1–14, 1–16 bytes`,
          { id: element.id, size: n },
        );
      }
      size += 1 + n;
    } else {
      if (element.id < 1 || element.id > 255 || n > 255) {
        throw new QoelabError(
          "PACKET_BAD_FIELD",
          `RTP two-byte extension element id ${element.id} with ${n} bytes: ids 1–255, 0–255 bytes`,
          { id: element.id, size: n },
        );
      }
      size += 2 + n;
    }
  }
  const data = new Uint8Array(Math.ceil(size / 4) * 4);
  let p = 0;
  for (const element of elements) {
    if (oneByte) {
      data[p++] = (element.id << 4) | (element.data.length - 1);
    } else {
      data[p++] = element.id;
      data[p++] = element.data.length;
    }
    data.set(element.data, p);
    p += element.data.length;
  }
  return {
    profile: oneByte ? RTP_EXTENSION_ONE_BYTE_PROFILE : RTP_EXTENSION_TWO_BYTE_PROFILE | (appBits & 0x0f),
    data,
  };
}

/**
 * What RTP and RTCP on a UDP payload both need: unprivileged ports on both sides, 8 bytes, and
 * version 2 in the first byte (RFC 3550 §5.1, §6.4).
 */
export function mayBeRtpOrRtcp(payload: AppPayload): boolean {
  const { bytes: b, offset, end, sport, dport } = payload;
  return (
    payload.transport === "UDP" && sport >= 1024 && dport >= 1024 && end - offset >= 8 && (b[offset]! & 0xc0) === 0x80
  );
}

/** RTP by heuristic (RTCP packet types 200–207 in the second byte are left to rtcp). */
function decodeRtpApp(w: DecodeWalker, payload: AppPayload): boolean {
  if (!mayBeRtpOrRtcp(payload)) return false;
  const { bytes: b, offset, end } = payload;
  const second = b[offset + 1]!;
  if (second >= 200 && second <= 207) return false;
  const length = end - offset;
  if (!looksLikeRtp(b, offset, length)) return false;
  const d = decodeRtp(b, offset, length);
  if (!d.complete) return false;
  const fields = {
    version: d.version,
    marker: d.marker,
    payloadType: d.payloadType,
    sequence: d.sequence,
    timestamp: d.timestamp,
    ssrc: d.ssrc,
    csrc: d.csrc,
    extension: d.extension,
    paddingLength: d.paddingLength,
    ...(d.paddingData ? { paddingData: d.paddingData } : {}),
  };
  w.push({ type: "RTP", fields }, d, offset, false);
  w.raw(d.payloadOffset, d.payloadOffset + d.payloadLength, false);
  return true;
}

export const rtpLayer = defineLayer({
  type: "RTP",
  info: { title: "RTP", tcpip: "application", osi: 7 },
  decodeApp: decodeRtpApp,
  encode: (layer, payload) => encodeRtp(layer.fields, payload),
  size: (layer) => rtpHeaderSize(layer.fields),
  rows({ fields: f }) {
    const pt = staticPayloadType(f.payloadType);
    return [
      ["version", String(f.version ?? 2)],
      ["marker", String(f.marker)],
      ["payloadType", String(f.payloadType), pt === undefined ? "dynamic" : pt.encoding],
      ["sequence", String(f.sequence)],
      ["timestamp", String(f.timestamp)],
      ["ssrc", showHex(f.ssrc, 8)],
      ["csrc", (f.csrc ?? []).map((c) => showHex(c, 8)).join(" ") || "none"],
      [
        "extension",
        f.extension ? `profile ${showHex(f.extension.profile, 4)}` : "none",
        f.extension ? `${f.extension.data.length} bytes` : undefined,
      ],
      ["paddingLength", String(f.paddingLength ?? 0)],
      ...(f.paddingData
        ? [["paddingData", previewBytes(f.paddingData), "padding octets before the count"] as ShowRow]
        : []),
    ];
  },
  summary({ fields: f }) {
    const pt = staticPayloadType(f.payloadType);
    return `RTP pt=${f.payloadType}${pt ? ` (${pt.encoding})` : ""} seq=${f.sequence} ts=${f.timestamp} ssrc=${showHex(f.ssrc, 8)}${f.marker ? " M" : ""}`;
  },
});
