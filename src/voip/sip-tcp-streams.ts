import { ipv4Text, ipv6WordsText } from "../common/index.ts";
import { type Dissection, decodeSip, TcpFlag } from "../packet/index.ts";

/**
 * SIP over TCP (RFC 3261 §18.3): each direction's payload bytes taken in sequence order, cut into
 * messages by their Content-Length (none: no body) as tshark's desegmentation does, so a message
 * split over segments, or several in one segment, are each one message at the segment that
 * completes it. Retransmitted bytes are taken once; after a gap (a segment the capture missed) the
 * direction starts again at the next segment that begins with a SIP start line. Not a hot path: a
 * direction is keyed by its address text, and only directions that began with SIP are kept.
 */

/**
 * Bounds on anyone's file: bytes a direction may hold waiting for the end of a message (beyond,
 * it is dropped), and directions followed at once (beyond, the one followed longest is dropped).
 */
const MAX_PENDING = 64 * 1024;
const MAX_DIRECTIONS = 1024;

interface Direction {
  /** Sequence number of the next byte expected (unsigned 32-bit). */
  next: number;
  pending: Uint8Array;
  used: number;
}

export class SipTcpStreams {
  private readonly directions = new Map<string, Direction>();

  /**
   * One TCP segment: `d` its dissection, `bytes` the buffer holding its payload. Calls `onMessage`
   * with a copy of each whole SIP message it completes.
   */
  segment(d: Dissection, bytes: Uint8Array, onMessage: (message: Uint8Array) => void): void {
    const length = d.capturedPayloadLength;
    // Most TCP of a capture is not SIP: no key is built unless SIP could be there.
    if (this.directions.size === 0 && (length <= 0 || !startsSipLine(bytes[d.payloadOffset]!))) return;
    const key = directionKey(d);
    let direction = this.directions.get(key);
    if (d.tcpFlags & TcpFlag.RST) {
      this.directions.delete(key);
      return;
    }
    if (length <= 0) return;
    let from = d.payloadOffset;
    let count = length;
    if (length < d.payloadLength) {
      // The capture cut this segment short: what follows cannot be framed.
      this.directions.delete(key);
      return;
    }
    if (direction) {
      const ahead = (d.seq - direction.next) | 0;
      if (ahead < 0) {
        if (-ahead >= length) return; // a retransmission of bytes already taken
        from -= ahead;
        count += ahead;
      } else if (ahead > 0) {
        direction = undefined; // a gap: start again if this segment begins a message
      }
    }
    if (!direction) {
      if (!startsSipLine(bytes[from]!)) {
        this.directions.delete(key);
        return;
      }
      direction = { next: d.seq, pending: new Uint8Array(4096), used: 0 };
      this.directions.delete(key);
      if (this.directions.size >= MAX_DIRECTIONS) this.directions.delete(this.directions.keys().next().value!);
      this.directions.set(key, direction);
    }
    append(direction, bytes, from, count);
    direction.next = (d.seq + length) >>> 0;
    this.takeMessages(key, direction, onMessage);
  }

  private takeMessages(key: string, direction: Direction, onMessage: (message: Uint8Array) => void): void {
    let start = 0;
    while (start < direction.used) {
      const decoded = decodeSip(direction.pending, start, direction.used - start, { transport: "stream" });
      if (!decoded.complete) {
        if (decoded.message === null && startLineEnded(direction.pending, start, direction.used)) {
          this.directions.delete(key); // a whole first line that is not SIP: stop following this direction
          return;
        }
        break; // the rest of the message is still to come
      }
      if (decoded.message !== null) onMessage(direction.pending.slice(start, start + decoded.messageLength));
      start += decoded.messageLength;
    }
    direction.pending.copyWithin(0, start, direction.used);
    direction.used -= start;
    if (direction.used > MAX_PENDING) this.directions.delete(key);
  }
}

function append(direction: Direction, bytes: Uint8Array, from: number, count: number): void {
  if (direction.used + count > direction.pending.length) {
    const grown = new Uint8Array(Math.max(direction.pending.length * 2, direction.used + count));
    grown.set(direction.pending.subarray(0, direction.used));
    direction.pending = grown;
  }
  direction.pending.set(bytes.subarray(from, from + count), direction.used);
  direction.used += count;
}

/** The first line after any CRLF keep-alives is there in full. */
function startLineEnded(bytes: Uint8Array, start: number, end: number): boolean {
  let p = start;
  while (p < end && (bytes[p] === 0x0d || bytes[p] === 0x0a)) p++;
  return bytes.subarray(p, end).includes(0x0a);
}

/** A SIP start line begins with a method or "SIP/2.0": an uppercase letter (CRLF keep-alives too). */
function startsSipLine(byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || byte === 0x0d || byte === 0x0a;
}

function directionKey(d: Dissection): string {
  const src = d.ipVersion === 6 ? ipv6WordsText(d.src6) : ipv4Text(d.src4);
  const dst = d.ipVersion === 6 ? ipv6WordsText(d.dst6) : ipv4Text(d.dst4);
  return `${src} ${d.srcPort} ${dst} ${d.dstPort}`;
}
