import { readU16, readU32 } from "./byte-order.ts";

/**
 * Allocation-free RTP header reader for per-packet stream analysis (the hot path): fills a reused
 * `RtpHeaderView` from the bytes, no objects, no strings. The full decoder with CSRC list and
 * extension objects is `decodeRtp` in rtp.ts.
 */
export class RtpHeaderView {
  /** False when the bytes are not a well-formed RTP v2 header (then other fields are unreliable). */
  valid = false;
  marker = false;
  payloadType = 0;
  sequence = 0;
  timestamp = 0;
  ssrc = 0;
  csrcCount = 0;
  hasExtension = false;
  /** Padding octets at the end (0 when P is clear). */
  paddingLength = 0;
  /** Absolute offset of the payload in the buffer, and its length without padding. */
  payloadOffset = 0;
  payloadLength = 0;
}

/**
 * Reads the RTP header in `bytes[offset, offset + length)` into `out`; returns `out.valid`.
 * Invalid when shorter than the header (CSRCs and extension included), version ≠ 2, or the
 * padding count is 0 or larger than what follows the header.
 */
export function readRtpHeader(bytes: Uint8Array, offset: number, length: number, out: RtpHeaderView): boolean {
  out.valid = false;
  if (length < 12) return false;
  const first = bytes[offset]!;
  const second = bytes[offset + 1]!;
  out.marker = (second & 0x80) !== 0;
  out.payloadType = second & 0x7f;
  out.sequence = readU16(bytes, offset + 2);
  out.timestamp = readU32(bytes, offset + 4);
  out.ssrc = readU32(bytes, offset + 8);
  out.csrcCount = first & 0x0f;
  out.hasExtension = (first & 0x10) !== 0;
  out.paddingLength = 0;
  if (first >> 6 !== 2) return false;
  let header = 12 + out.csrcCount * 4;
  if (out.hasExtension) {
    if (header + 4 > length) return false;
    header += 4 + readU16(bytes, offset + header + 2) * 4;
  }
  if (header > length) return false;
  let padding = 0;
  if (first & 0x20) {
    padding = bytes[offset + length - 1]!;
    if (padding === 0 || header + padding > length) return false;
  }
  out.paddingLength = padding;
  out.payloadOffset = offset + header;
  out.payloadLength = length - header - padding;
  out.valid = true;
  return true;
}
