import { readU32, TcpOptionKind } from "../packet/numbers/index.ts";

/**
 * Allocation-free reader of the TCP options the flow statistics need (RFC 9293 §3.1, RFC 7323,
 * RFC 2018): MSS, window scale, SACK-permitted, SACK blocks and timestamps. It walks only the
 * captured bytes, so a 96-byte snaplen that cuts the options simply leaves later ones unseen.
 */

/** Reused result of `parseTcpOptions`; fields are reset on every call. */
export class TcpOptions {
  /** Declared maximum segment size, -1 when absent. */
  mss = -1;
  /** Window scale shift count (0..14 after clamping), -1 when absent. */
  windowScale = -1;
  sackPermitted = false;
  /** Number of SACK blocks carried (0 when no SACK option). */
  sackBlocks = 0;
  /** Highest right edge of the SACK blocks (raw 32-bit sequence), valid when sackBlocks > 0. */
  sackRightEdge = 0;
  timestamps = false;
  tsVal = 0;
  tsEcr = 0;
  /** True when the option list was cut by the capture length or had an impossible length. */
  malformed = false;

  reset(): void {
    this.mss = -1;
    this.windowScale = -1;
    this.sackPermitted = false;
    this.sackBlocks = 0;
    this.sackRightEdge = 0;
    this.timestamps = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.malformed = false;
  }
}

/**
 * Parses the options of the TCP header at `tcpOffset` (header length `headerLength`), reading no
 * byte at or past `end` (end of captured bytes). Returns `out`.
 */
export function parseTcpOptions(
  buffer: Uint8Array,
  tcpOffset: number,
  headerLength: number,
  end: number,
  out: TcpOptions,
): TcpOptions {
  out.reset();
  const limit = Math.min(tcpOffset + headerLength, end);
  const headerEnd = tcpOffset + headerLength;
  let p = tcpOffset + 20;
  while (p < limit) {
    const kind = buffer[p]!;
    if (kind === TcpOptionKind.EOL) return out;
    if (kind === TcpOptionKind.NOP) {
      p++;
      continue;
    }
    if (p + 1 >= limit) {
      out.malformed = p + 1 >= headerEnd || out.malformed;
      return out;
    }
    const length = buffer[p + 1]!;
    if (length < 2 || p + length > headerEnd) {
      out.malformed = true;
      return out;
    }
    if (p + length > limit) return out; // cut by snaplen: not an error, just unseen
    switch (kind) {
      case TcpOptionKind.MSS:
        if (length === 4) out.mss = (buffer[p + 2]! << 8) | buffer[p + 3]!;
        break;
      case TcpOptionKind.WINDOW_SCALE:
        // RFC 7323 §2.3: a shift above 14 is used as 14.
        if (length === 3) out.windowScale = Math.min(buffer[p + 2]!, 14);
        break;
      case TcpOptionKind.SACK_PERMITTED:
        if (length === 2) out.sackPermitted = true;
        break;
      case TcpOptionKind.SACK: {
        const blocks = (length - 2) >> 3;
        out.sackBlocks = blocks;
        for (let i = 0; i < blocks; i++) {
          const right = readU32(buffer, p + 2 + i * 8 + 4);
          if (i === 0 || ((right - out.sackRightEdge) | 0) > 0) out.sackRightEdge = right;
        }
        break;
      }
      case TcpOptionKind.TIMESTAMPS:
        if (length === 10) {
          out.timestamps = true;
          out.tsVal = readU32(buffer, p + 2);
          out.tsEcr = readU32(buffer, p + 6);
        }
        break;
    }
    p += length;
  }
  return out;
}

/** True when the header's options carry a SACK option (cheap scan for non-SYN segments). */
export function hasSackOption(buffer: Uint8Array, tcpOffset: number, headerLength: number, end: number): boolean {
  const limit = Math.min(tcpOffset + headerLength, end);
  let p = tcpOffset + 20;
  while (p < limit) {
    const kind = buffer[p]!;
    if (kind === TcpOptionKind.EOL) return false;
    if (kind === TcpOptionKind.NOP) {
      p++;
      continue;
    }
    if (kind === TcpOptionKind.SACK) return true;
    if (p + 1 >= limit) return false;
    const length = buffer[p + 1]!;
    if (length < 2) return false;
    p += length;
  }
  return false;
}
