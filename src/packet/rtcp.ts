import { QoelabError } from "../errors.ts";
import { type AppAnomaly, type AppDecodeInfo, appAnomaly } from "./app-anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "./byte-order.ts";

/*
 * RTCP (RFC 3550 §6). Every packet starts with the common header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  count  |      PT       |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * `length` is the packet size in 32-bit words minus one; `count` is RC (SR, RR), SC (SDES, BYE),
 * the subtype (APP) or FMT (RTPFB, PSFB).
 *
 * SR (PT 200, §6.4.1): SSRC of sender, then sender info, then RC report blocks:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              NTP timestamp, most significant word             |
 * |             NTP timestamp, least significant word             |
 * |                         RTP timestamp                         |
 * |                     sender's packet count                     |
 * |                      sender's octet count                     |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * Report block (SR and RR (PT 201, §6.4.2), 24 bytes):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 SSRC_1 (SSRC of first source)                 |
 * | fraction lost |       cumulative number of packets lost       |
 * |           extended highest sequence number received           |
 * |                      interarrival jitter                      |
 * |                         last SR (LSR)                         |
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * Profile-specific extensions may follow the report blocks.
 *
 * SDES (PT 202, §6.5): SC chunks, each an SSRC/CSRC and items {type, length, text}, ended by a
 * zero octet (END) and zero-padded to a 32-bit boundary. PRIV (8) text starts with a prefix length.
 * BYE (PT 203, §6.6): SC SSRC/CSRCs, then optionally {length, reason text}, padded.
 * APP (PT 204, §6.7): SSRC, 4 ASCII name bytes, application data (multiple of 32 bits).
 * RTPFB/PSFB (PT 205/206, RFC 4585 §6.1): sender SSRC, media SSRC, feedback control information.
 * XR (PT 207, RFC 3611): SSRC, report blocks (kept raw).
 *
 * Padding (P = 1) is allowed on the last packet of a compound only: its last octet counts the
 * padding octets. A compound's first packet must be SR or RR (§6.1); a single packet of another type
 * is accepted as reduced-size RTCP (RFC 5506).
 */

export const RtcpPacketType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const;

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

const COMMON_HEADER_SIZE = 4;
const SENDER_INFO_SIZE = 20;
export const RTCP_REPORT_BLOCK_SIZE = 24;
/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_EPOCH_OFFSET = 2_208_988_800;

export interface RtcpReportBlock {
  ssrc: number;
  /** Fraction lost since the previous report, in 1/256 (0–255). */
  fractionLost: number;
  /** Cumulative packets lost, signed 24-bit (duplicates can make it negative). */
  cumulativeLost: number;
  extendedHighestSequence: number;
  /** Interarrival jitter in RTP timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received (0 when none). */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export interface RtcpSenderInfo {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

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

export interface RtcpSenderReport {
  kind: "sr";
  ssrc: number;
  sender: RtcpSenderInfo;
  reports: RtcpReportBlock[];
  /** Profile-specific extension after the report blocks (usually empty). */
  extension?: Uint8Array;
}

export interface RtcpReceiverReport {
  kind: "rr";
  ssrc: number;
  reports: RtcpReportBlock[];
  extension?: Uint8Array;
}

export interface RtcpSdes {
  kind: "sdes";
  chunks: RtcpSdesChunk[];
}

export interface RtcpBye {
  kind: "bye";
  sources: number[];
  reason?: string | null;
}

export interface RtcpApp {
  kind: "app";
  subtype: number;
  ssrc: number;
  /** Four ASCII characters. */
  name: string;
  data: Uint8Array;
}

/** RTPFB (205) and PSFB (206) feedback (RFC 4585): FCI kept raw. */
export interface RtcpFeedback {
  kind: "rtpfb" | "psfb";
  /** FMT: 1 = generic NACK (RTPFB), 1 = PLI, 4 = FIR, 15 = application layer (PSFB), … */
  format: number;
  senderSsrc: number;
  mediaSsrc: number;
  fci: Uint8Array;
}

/** XR (207, RFC 3611): report blocks kept raw. */
export interface RtcpExtendedReport {
  kind: "xr";
  ssrc: number;
  blocks: Uint8Array;
}

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

/** What every decoded packet carries beside its fields. */
export interface RtcpHeaderInfo {
  version: number;
  packetType: number;
  /** The 5-bit count / subtype / FMT field. */
  count: number;
  /** Length field: 32-bit words minus one. */
  lengthWords: number;
  /** Padding octets at the end of this packet (0 when P is clear). */
  paddingLength: number;
  /** Absolute offset of the packet in the buffer, and its size in bytes. */
  offset: number;
  byteLength: number;
}

export type DecodedRtcpPacket = RtcpPacketFields & RtcpHeaderInfo;

export interface DecodedRtcp extends AppDecodeInfo {
  packets: DecodedRtcpPacket[];
  /** RFC 3550 §6.1 rules hold (first SR/RR in a compound, padding on the last only, lengths fit). */
  compoundValid: boolean;
}

const KIND_TYPES: Record<RtcpPacketFields["kind"], number> = {
  sr: RtcpPacketType.SR,
  rr: RtcpPacketType.RR,
  sdes: RtcpPacketType.SDES,
  bye: RtcpPacketType.BYE,
  app: RtcpPacketType.APP,
  rtpfb: RtcpPacketType.RTPFB,
  psfb: RtcpPacketType.PSFB,
  xr: RtcpPacketType.XR,
  unknown: 0,
};

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

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
    if (end - p < COMMON_HEADER_SIZE) {
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
      if (count === 0 || count > size - COMMON_HEADER_SIZE) {
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
    const fields = decodeBody(bytes, p + COMMON_HEADER_SIZE, bodyEnd, header, index, anomalies);
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

function decodeBody(
  bytes: Uint8Array,
  p: number,
  end: number,
  header: RtcpHeaderInfo,
  index: number,
  anomalies: AppAnomaly[],
): RtcpPacketFields | null {
  const count = header.count;
  switch (header.packetType) {
    case RtcpPacketType.SR:
    case RtcpPacketType.RR: {
      const isSr = header.packetType === RtcpPacketType.SR;
      const need = 4 + (isSr ? SENDER_INFO_SIZE : 0) + count * RTCP_REPORT_BLOCK_SIZE;
      if (end - p < need)
        return badBody(
          anomalies,
          index,
          header.packetType,
          `${count} report blocks need ${need} bytes, ${end - p} present`,
        );
      const ssrc = readU32(bytes, p);
      let q = p + 4;
      let sender: RtcpSenderInfo | undefined;
      if (isSr) {
        sender = {
          ntpSeconds: readU32(bytes, q),
          ntpFraction: readU32(bytes, q + 4),
          rtpTimestamp: readU32(bytes, q + 8),
          packetCount: readU32(bytes, q + 12),
          octetCount: readU32(bytes, q + 16),
        };
        q += SENDER_INFO_SIZE;
      }
      const reports: RtcpReportBlock[] = [];
      for (let i = 0; i < count; i++, q += RTCP_REPORT_BLOCK_SIZE) reports.push(readReportBlock(bytes, q));
      const extension = q < end ? bytes.subarray(q, end) : undefined;
      const base = extension ? { reports, extension } : { reports };
      return sender ? { kind: "sr", ssrc, sender, ...base } : { kind: "rr", ssrc, ...base };
    }
    case RtcpPacketType.SDES: {
      const chunks: RtcpSdesChunk[] = [];
      let q = p;
      for (let c = 0; c < count; c++) {
        if (end - q < 4)
          return badBody(
            anomalies,
            index,
            header.packetType,
            `SDES chunk ${c} of ${count} needs 4 bytes, ${end - q} present`,
          );
        const chunk: RtcpSdesChunk = { source: readU32(bytes, q), items: [] };
        q += 4;
        for (;;) {
          if (q >= end) return badBody(anomalies, index, header.packetType, `SDES chunk ${c} has no END item`);
          const type = bytes[q]!;
          if (type === SdesItemType.END) {
            // END, then zero padding up to the next 32-bit boundary (relative to the packet).
            q += 1;
            q += (4 - ((q - p) % 4)) % 4;
            break;
          }
          if (end - q < 2)
            return badBody(anomalies, index, header.packetType, `SDES item ${type} lacks its length byte`);
          const itemLength = bytes[q + 1]!;
          if (end - q - 2 < itemLength) {
            return badBody(
              anomalies,
              index,
              header.packetType,
              `SDES item ${type} claims ${itemLength} bytes, ${end - q - 2} left`,
            );
          }
          const text = bytes.subarray(q + 2, q + 2 + itemLength);
          if (type === SdesItemType.PRIV) {
            const prefixLength = text[0] ?? 0;
            if (itemLength < 1 || prefixLength > itemLength - 1) {
              return badBody(
                anomalies,
                index,
                header.packetType,
                `SDES PRIV prefix length ${prefixLength} in a ${itemLength}-byte item`,
              );
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
      if (q > end) return badBody(anomalies, index, header.packetType, "SDES padding runs past the packet");
      return { kind: "sdes", chunks };
    }
    case RtcpPacketType.BYE: {
      if (end - p < count * 4)
        return badBody(
          anomalies,
          index,
          header.packetType,
          `BYE with ${count} sources needs ${count * 4} bytes, ${end - p} present`,
        );
      const sources: number[] = [];
      let q = p;
      for (let i = 0; i < count; i++, q += 4) sources.push(readU32(bytes, q));
      let reason: string | null = null;
      if (q < end) {
        const reasonLength = bytes[q]!;
        if (reasonLength > end - q - 1)
          return badBody(
            anomalies,
            index,
            header.packetType,
            `BYE reason claims ${reasonLength} bytes, ${end - q - 1} left`,
          );
        reason = utf8.decode(bytes.subarray(q + 1, q + 1 + reasonLength));
      }
      return { kind: "bye", sources, reason };
    }
    case RtcpPacketType.APP: {
      if (end - p < 8) return badBody(anomalies, index, header.packetType, `APP needs 8 bytes, ${end - p} present`);
      let name = "";
      for (let i = 4; i < 8; i++) name += String.fromCharCode(bytes[p + i]!);
      return { kind: "app", subtype: count, ssrc: readU32(bytes, p), name, data: bytes.subarray(p + 8, end) };
    }
    case RtcpPacketType.RTPFB:
    case RtcpPacketType.PSFB: {
      if (end - p < 8)
        return badBody(anomalies, index, header.packetType, `feedback needs 8 bytes, ${end - p} present`);
      return {
        kind: header.packetType === RtcpPacketType.RTPFB ? "rtpfb" : "psfb",
        format: count,
        senderSsrc: readU32(bytes, p),
        mediaSsrc: readU32(bytes, p + 4),
        fci: bytes.subarray(p + 8, end),
      };
    }
    case RtcpPacketType.XR: {
      if (end - p < 4) return badBody(anomalies, index, header.packetType, `XR needs 4 bytes, ${end - p} present`);
      return { kind: "xr", ssrc: readU32(bytes, p), blocks: bytes.subarray(p + 4, end) };
    }
    default:
      return { kind: "unknown", packetType: header.packetType, count, body: bytes.subarray(p, end) };
  }
}

function badBody(anomalies: AppAnomaly[], index: number, packetType: number, what: string): null {
  anomalies.push(appAnomaly("bad-length", `RTCP packet ${index} (PT ${packetType}): ${what}`));
  return null;
}

function readReportBlock(bytes: Uint8Array, q: number): RtcpReportBlock {
  const lostWord = readU32(bytes, q + 4);
  const cumulative = lostWord & 0xffffff;
  return {
    ssrc: readU32(bytes, q),
    fractionLost: lostWord >>> 24,
    cumulativeLost: cumulative & 0x800000 ? cumulative - 0x1000000 : cumulative,
    extendedHighestSequence: readU32(bytes, q + 8),
    jitter: readU32(bytes, q + 12),
    lastSr: readU32(bytes, q + 16),
    delaySinceLastSr: readU32(bytes, q + 20),
  };
}

/** Encodes one RTCP packet; `paddingLength` (a multiple of 4, 4–252) sets P and pads. */
export function encodeRtcpPacket(fields: RtcpPacketFields, paddingLength = 0): Uint8Array {
  if (paddingLength !== 0 && (paddingLength % 4 !== 0 || paddingLength < 4 || paddingLength > 252)) {
    fail("paddingLength", paddingLength, "0 or a multiple of 4 in 4..252");
  }
  const { packetType, count, body } = encodeBody(fields);
  if (count > 31) fail("count", count, "at most 31 (report blocks, chunks or sources)");
  const size = COMMON_HEADER_SIZE + body.length + paddingLength;
  if (size / 4 - 1 > 0xffff) fail("length", size, "at most 262144 bytes");
  const out = new Uint8Array(size);
  out[0] = (2 << 6) | (paddingLength > 0 ? 0x20 : 0) | count;
  out[1] = packetType;
  writeU16(out, 2, size / 4 - 1);
  out.set(body, COMMON_HEADER_SIZE);
  if (paddingLength > 0) out[size - 1] = paddingLength;
  return out;
}

/** Encodes a compound packet: the packets back to back (padding, if any, on the last). */
export function encodeRtcp(packets: readonly RtcpPacketFields[], paddingLength = 0): Uint8Array {
  const parts = packets.map((packet, i) => encodeRtcpPacket(packet, i === packets.length - 1 ? paddingLength : 0));
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

function encodeBody(fields: RtcpPacketFields): { packetType: number; count: number; body: Uint8Array } {
  const packetType = fields.kind === "unknown" ? fields.packetType : KIND_TYPES[fields.kind];
  switch (fields.kind) {
    case "sr":
    case "rr": {
      const isSr = fields.kind === "sr";
      const extension = fields.extension ?? new Uint8Array(0);
      if (extension.length % 4 !== 0) fail("extension", extension.length, "a multiple of 4 bytes");
      const body = new Uint8Array(
        4 + (isSr ? SENDER_INFO_SIZE : 0) + fields.reports.length * RTCP_REPORT_BLOCK_SIZE + extension.length,
      );
      writeU32(body, 0, fields.ssrc);
      let q = 4;
      if (fields.kind === "sr") {
        const s = fields.sender;
        writeU32(body, q, s.ntpSeconds);
        writeU32(body, q + 4, s.ntpFraction);
        writeU32(body, q + 8, s.rtpTimestamp);
        writeU32(body, q + 12, s.packetCount);
        writeU32(body, q + 16, s.octetCount);
        q += SENDER_INFO_SIZE;
      }
      for (const report of fields.reports) {
        writeReportBlock(body, q, report);
        q += RTCP_REPORT_BLOCK_SIZE;
      }
      body.set(extension, q);
      return { packetType, count: fields.reports.length, body };
    }
    case "sdes": {
      const parts: number[] = [];
      for (const chunk of fields.chunks) {
        const start = parts.length;
        pushU32(parts, chunk.source);
        for (const item of chunk.items) {
          let text = utf8Encoder.encode(item.text);
          if (item.type === SdesItemType.PRIV) {
            const prefix = utf8Encoder.encode(item.prefix ?? "");
            if (prefix.length > 255) fail("PRIV prefix", prefix.length, "at most 255 bytes");
            const joined = new Uint8Array(1 + prefix.length + text.length);
            joined[0] = prefix.length;
            joined.set(prefix, 1);
            joined.set(text, 1 + prefix.length);
            text = joined;
          }
          if (item.type < 1 || item.type > 255) fail("SDES item type", item.type, "1..255");
          if (text.length > 255) fail("SDES item", text.length, "at most 255 bytes");
          parts.push(item.type, text.length, ...text);
        }
        // END plus padding to a 32-bit boundary: at least one zero octet.
        do parts.push(0);
        while ((parts.length - start) % 4 !== 0);
      }
      return { packetType, count: fields.chunks.length, body: Uint8Array.from(parts) };
    }
    case "bye": {
      const parts: number[] = [];
      for (const source of fields.sources) pushU32(parts, source);
      if (fields.reason != null) {
        const reason = utf8Encoder.encode(fields.reason);
        if (reason.length > 255) fail("BYE reason", reason.length, "at most 255 bytes");
        parts.push(reason.length, ...reason);
        while (parts.length % 4 !== 0) parts.push(0);
      }
      return { packetType, count: fields.sources.length, body: Uint8Array.from(parts) };
    }
    case "app": {
      if (fields.data.length % 4 !== 0) fail("APP data", fields.data.length, "a multiple of 4 bytes");
      if (fields.subtype < 0 || fields.subtype > 31) fail("APP subtype", fields.subtype, "0..31");
      const body = new Uint8Array(8 + fields.data.length);
      writeU32(body, 0, fields.ssrc);
      for (let i = 0; i < 4; i++) body[4 + i] = fields.name.charCodeAt(i) & 0xff || 0x20;
      body.set(fields.data, 8);
      return { packetType, count: fields.subtype, body };
    }
    case "rtpfb":
    case "psfb": {
      if (fields.fci.length % 4 !== 0) fail("FCI", fields.fci.length, "a multiple of 4 bytes");
      const body = new Uint8Array(8 + fields.fci.length);
      writeU32(body, 0, fields.senderSsrc);
      writeU32(body, 4, fields.mediaSsrc);
      body.set(fields.fci, 8);
      return { packetType, count: fields.format, body };
    }
    case "xr": {
      if (fields.blocks.length % 4 !== 0) fail("XR blocks", fields.blocks.length, "a multiple of 4 bytes");
      const body = new Uint8Array(4 + fields.blocks.length);
      writeU32(body, 0, fields.ssrc);
      body.set(fields.blocks, 4);
      return { packetType, count: 0, body };
    }
    case "unknown":
      if (fields.body.length % 4 !== 0) fail("body", fields.body.length, "a multiple of 4 bytes");
      return { packetType, count: fields.count, body: fields.body };
  }
}

function writeReportBlock(out: Uint8Array, q: number, report: RtcpReportBlock): void {
  if (report.cumulativeLost < -0x800000 || report.cumulativeLost > 0x7fffff) {
    fail("cumulativeLost", report.cumulativeLost, "a signed 24-bit number");
  }
  writeU32(out, q, report.ssrc);
  writeU32(out, q + 4, ((report.fractionLost & 0xff) << 24) | (report.cumulativeLost & 0xffffff));
  writeU32(out, q + 8, report.extendedHighestSequence);
  writeU32(out, q + 12, report.jitter);
  writeU32(out, q + 16, report.lastSr);
  writeU32(out, q + 20, report.delaySinceLastSr);
}

function pushU32(parts: number[], value: number): void {
  parts.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function fail(field: string, value: number, expected: string): never {
  throw new QoelabError("PACKET_BAD_FIELD", `RTCP ${field} ${value}: must be ${expected}`, { field, value });
}

/** Unix time in seconds of a 64-bit NTP timestamp. */
export function ntpToUnixSeconds(ntpSeconds: number, ntpFraction: number): number {
  return ntpSeconds - NTP_UNIX_EPOCH_OFFSET + ntpFraction / 2 ** 32;
}

/** 64-bit NTP timestamp (seconds, fraction) of a Unix time in seconds. */
export function unixSecondsToNtp(unixSeconds: number): { seconds: number; fraction: number } {
  const total = unixSeconds + NTP_UNIX_EPOCH_OFFSET;
  let seconds = Math.floor(total);
  let fraction = Math.round((total - seconds) * 2 ** 32);
  if (fraction >= 2 ** 32) {
    seconds += 1;
    fraction -= 2 ** 32;
  }
  return { seconds: seconds >>> 0, fraction: fraction >>> 0 };
}

/** The middle 32 bits of an NTP timestamp: what report blocks carry as LSR. */
export function ntpMiddle32(ntpSeconds: number, ntpFraction: number): number {
  return (((ntpSeconds & 0xffff) << 16) | (ntpFraction >>> 16)) >>> 0;
}

/**
 * Round-trip time in seconds from a report block received at `arrivalNtpMiddle32` (RFC 3550
 * §6.4.1: A − LSR − DLSR, in 1/65536 s); null when the block has no LSR.
 */
export function rtcpRoundTripSeconds(block: RtcpReportBlock, arrivalNtpMiddle32: number): number | null {
  if (block.lastSr === 0) return null;
  return (((arrivalNtpMiddle32 - block.lastSr - block.delaySinceLastSr) | 0) >>> 0) / 65536;
}

/** Short name of a packet type as tshark prints it (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR). */
export function rtcpTypeName(packetType: number): string {
  for (const [name, value] of Object.entries(RtcpPacketType)) if (value === packetType) return name;
  return `PT${packetType}`;
}
