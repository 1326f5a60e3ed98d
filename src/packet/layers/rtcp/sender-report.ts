import { readU32, writeU32 } from "../../byte-order.ts";
import { decodeReportsBody, encodeReportsBody, type RtcpReports } from "./report-block.ts";
import { type RtcpBodyCodec, RtcpPacketType } from "./rtcp-common.ts";

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

export interface RtcpSenderReport extends RtcpReports {
  kind: "sr";
  sender: RtcpSenderInfo;
}

export const senderReportCodec: RtcpBodyCodec<RtcpSenderReport> = {
  packetTypes: [RtcpPacketType.SR],
  kinds: ["sr"],
  decode(bytes, p, end, header, errors) {
    const body = decodeReportsBody(bytes, p, end, header, errors, SENDER_INFO_SIZE);
    if (body === null) return null;
    const q = p + 4;
    const sender = {
      ntpSeconds: readU32(bytes, q),
      ntpFraction: readU32(bytes, q + 4),
      rtpTimestamp: readU32(bytes, q + 8),
      packetCount: readU32(bytes, q + 12),
      octetCount: readU32(bytes, q + 16),
    };
    const { ssrc, ...reports } = body;
    return { kind: "sr", ssrc, sender, ...reports };
  },
  encode(fields) {
    const out = encodeReportsBody(fields, SENDER_INFO_SIZE, RtcpPacketType.SR);
    const s = fields.sender;
    writeU32(out.body, 4, s.ntpSeconds);
    writeU32(out.body, 8, s.ntpFraction);
    writeU32(out.body, 12, s.rtpTimestamp);
    writeU32(out.body, 16, s.packetCount);
    writeU32(out.body, 20, s.octetCount);
    return out;
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
