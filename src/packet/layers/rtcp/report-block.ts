import { readU32, writeU32 } from "../../byte-order.ts";
import { badBody, failField, type RtcpBodyErrors, type RtcpHeaderInfo } from "./rtcp-common.ts";

/*
 * Report block (in SR and RR, RFC 3550 §6.4.1, 24 bytes):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 SSRC_1 (SSRC of first source)                 |
 * | fraction lost |       cumulative number of packets lost       |
 * |           extended highest sequence number received           |
 * |                      interarrival jitter                      |
 * |                         last SR (LSR)                         |
 * |                   delay since last SR (DLSR)                  |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * Profile-specific extensions may follow the report blocks.
 */

export const RTCP_REPORT_BLOCK_SIZE = 24;

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

export function readReportBlock(bytes: Uint8Array, q: number): RtcpReportBlock {
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

export function writeReportBlock(out: Uint8Array, q: number, report: RtcpReportBlock): void {
  if (report.cumulativeLost < -0x800000 || report.cumulativeLost > 0x7fffff) {
    failField("cumulativeLost", report.cumulativeLost, "a signed 24-bit number");
  }
  writeU32(out, q, report.ssrc);
  writeU32(out, q + 4, ((report.fractionLost & 0xff) << 24) | (report.cumulativeLost & 0xffffff));
  writeU32(out, q + 8, report.extendedHighestSequence);
  writeU32(out, q + 12, report.jitter);
  writeU32(out, q + 16, report.lastSr);
  writeU32(out, q + 20, report.delaySinceLastSr);
}

/** What SR and RR share: the sender's SSRC, the report blocks and the profile extension. */
export interface RtcpReports {
  ssrc: number;
  reports: RtcpReportBlock[];
  /** Profile-specific extension after the report blocks (usually empty). */
  extension?: Uint8Array;
}

/**
 * The body SR and RR share (RFC 3550 §6.4): the sender's SSRC, `infoSize` bytes the caller reads
 * (SR's sender info, none in RR), `header.count` report blocks, then the extension up to `end`.
 */
export function decodeReportsBody(
  bytes: Uint8Array,
  p: number,
  end: number,
  header: RtcpHeaderInfo,
  errors: RtcpBodyErrors,
  infoSize: number,
): RtcpReports | null {
  const count = header.count;
  const need = 4 + infoSize + count * RTCP_REPORT_BLOCK_SIZE;
  if (end - p < need)
    return badBody(errors, header.packetType, `${count} report blocks need ${need} bytes, ${end - p} present`);
  const reports: RtcpReportBlock[] = [];
  let q = p + 4 + infoSize;
  for (let i = 0; i < count; i++, q += RTCP_REPORT_BLOCK_SIZE) reports.push(readReportBlock(bytes, q));
  const ssrc = readU32(bytes, p);
  return q < end ? { ssrc, reports, extension: bytes.subarray(q, end) } : { ssrc, reports };
}

/** Encodes that body, leaving `infoSize` zero bytes after the SSRC for the caller to fill. */
export function encodeReportsBody(
  fields: RtcpReports,
  infoSize: number,
  packetType: number,
): { packetType: number; count: number; body: Uint8Array } {
  const extra = fields.extension?.length ?? 0;
  if (extra % 4 !== 0) failField("extension", extra, "a multiple of 4 bytes");
  const body = new Uint8Array(4 + infoSize + fields.reports.length * RTCP_REPORT_BLOCK_SIZE + extra);
  writeU32(body, 0, fields.ssrc);
  let q = 4 + infoSize;
  for (const report of fields.reports) {
    writeReportBlock(body, q, report);
    q += RTCP_REPORT_BLOCK_SIZE;
  }
  if (fields.extension) body.set(fields.extension, q);
  return { packetType, count: fields.reports.length, body };
}

/**
 * Round-trip time in seconds from a report block received at `arrivalNtpMiddle32` (RFC 3550
 * §6.4.1: A − LSR − DLSR, in 1/65536 s); null when the block has no LSR.
 */
export function rtcpRoundTripSeconds(block: RtcpReportBlock, arrivalNtpMiddle32: number): number | null {
  if (block.lastSr === 0) return null;
  return (((arrivalNtpMiddle32 - block.lastSr - block.delaySinceLastSr) | 0) >>> 0) / 65536;
}
