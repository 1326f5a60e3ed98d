import { readU32, writeU32 } from "../../byte-order.ts";
import {
  RTCP_REPORT_BLOCK_SIZE,
  type RtcpReportBlock,
  readReports,
  reportsSize,
  writeReports,
} from "./report-block.ts";
import { badBody, type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

/*
 * SR (PT 200, RFC 3550 §6.4.1): SSRC of sender, then sender info, then RC report blocks:
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |              NTP timestamp, most significant word             |
 * |             NTP timestamp, least significant word             |
 * |                         RTP timestamp                         |
 * |                     sender's packet count                     |
 * |                      sender's octet count                     |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */

const SENDER_INFO_SIZE = 20;
/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
export const NTP_UNIX_EPOCH_OFFSET = 2_208_988_800;

export interface RtcpSenderInfo {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtcpSenderReport {
  kind: "sr";
  ssrc: number;
  sender: RtcpSenderInfo;
  reports: RtcpReportBlock[];
  /** Profile-specific extension after the report blocks (usually empty). */
  extension?: Uint8Array;
}

export const senderReportCodec: RtcpBodyCodec<RtcpSenderReport> = {
  packetTypes: [RtcpPacketType.SR],
  kinds: ["sr"],
  decode(bytes, p, end, header, errors) {
    const need = 4 + SENDER_INFO_SIZE + header.count * RTCP_REPORT_BLOCK_SIZE;
    if (end - p < need) {
      return badBody(errors, header.packetType, `${header.count} report blocks need ${need} bytes, ${end - p} present`);
    }
    const q = p + 4;
    const sender = {
      ntpSeconds: readU32(bytes, q),
      ntpFraction: readU32(bytes, q + 4),
      rtpTimestamp: readU32(bytes, q + 8),
      packetCount: readU32(bytes, q + 12),
      octetCount: readU32(bytes, q + 16),
    };
    return {
      kind: "sr",
      ssrc: readU32(bytes, p),
      sender,
      ...readReports(bytes, q + SENDER_INFO_SIZE, end, header.count),
    };
  },
  encode(fields) {
    const body = new Uint8Array(4 + SENDER_INFO_SIZE + reportsSize(fields.reports, fields.extension));
    writeU32(body, 0, fields.ssrc);
    const s = fields.sender;
    writeU32(body, 4, s.ntpSeconds);
    writeU32(body, 8, s.ntpFraction);
    writeU32(body, 12, s.rtpTimestamp);
    writeU32(body, 16, s.packetCount);
    writeU32(body, 20, s.octetCount);
    writeReports(body, 4 + SENDER_INFO_SIZE, fields.reports, fields.extension);
    return { packetType: RtcpPacketType.SR, count: fields.reports.length, body };
  },
};

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
