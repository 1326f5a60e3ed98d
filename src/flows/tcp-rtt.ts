/**
 * Data → ACK matching for RTT samples, per direction. The ring keeps the segments that advanced
 * the sequence space (so it is sorted by end sequence) with their capture time; an ACK whose
 * number equals a segment's end gives one sample (ACK time − segment time), unless that segment
 * was retransmitted or overlapped by a retransmission (Karn's rule: the ACK is ambiguous).
 * Entries at or below the cumulative ACK are dropped. Sequence numbers are unwrapped relative
 * values (doubles), so wrap-around needs no special case here.
 */

const MAX_CAPACITY = 1 << 16;
/**
 * Words per entry in `entries`: start, end, time, ipId. The id is kept as a signed 32-bit value
 * (what an Int32Array holds) plus RETRANSMITTED once a retransmission overlapped the segment.
 */
const STRIDE = 4;
const START = 0;
const END = 1;
const TIME = 2;
const IP_ID = 3;
const RETRANSMITTED = 2 ** 40;

export class SegmentRing {
  /** Entries interleaved in one array (one cache line per entry pair, one allocation per ring). */
  private entries = new Float64Array(16 * STRIDE);
  private head = 0;
  count = 0;
  private mask = 15;

  /** Appends a segment that advanced the sequence space. Grows (up to 65 536) or drops the oldest. */
  push(start: number, end: number, time: number, ipId: number): void {
    if (this.count === this.mask + 1) {
      if (this.count < MAX_CAPACITY) this.grow();
      else {
        this.head = (this.head + 1) & this.mask;
        this.count--;
      }
    }
    const e = this.entries;
    const at = ((this.head + this.count) & this.mask) * STRIDE;
    e[at + START] = start;
    e[at + END] = end;
    e[at + TIME] = time;
    e[at + IP_ID] = ipId | 0;
    this.count++;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const entries = new Float64Array(capacity * STRIDE);
    for (let k = 0; k < this.count; k++) {
      const from = ((this.head + k) & this.mask) * STRIDE;
      entries.set(this.entries.subarray(from, from + STRIDE), k * STRIDE);
    }
    this.entries = entries;
    this.head = 0;
    this.mask = capacity - 1;
  }

  /** Index (0-based from the oldest) of the first entry whose end is > `seq`, by binary search. */
  private firstEndAbove(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[((this.head + mid) & this.mask) * STRIDE + END]! > seq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Marks every stored segment overlapping [start, end) as retransmitted (no RTT sample from them). */
  markRetransmitted(start: number, end: number): void {
    const e = this.entries;
    for (let k = this.firstEndAbove(start); k < this.count; k++) {
      const at = ((this.head + k) & this.mask) * STRIDE;
      if (e[at + START]! >= end) break;
      const id = e[at + IP_ID]!;
      if (id < RETRANSMITTED / 2) e[at + IP_ID] = id + RETRANSMITTED;
    }
  }

  /**
   * Capture time of a stored first copy of exactly [start, end) carrying IP id `ipId`, or -1.
   * Used to recognise network duplicates.
   */
  findCopy(start: number, end: number, ipId: number): number {
    const k = this.firstEndAbove(end - 1);
    if (k >= this.count) return -1;
    const e = this.entries;
    const at = ((this.head + k) & this.mask) * STRIDE;
    let id = e[at + IP_ID]!;
    if (id >= RETRANSMITTED / 2) id -= RETRANSMITTED; // marked retransmitted since: same stored id
    if (e[at + START] === start && e[at + END] === end && id === ipId) return e[at + TIME]!;
    return -1;
  }

  /**
   * Handles a cumulative ACK `ack` (relative) arriving at `time`: returns the RTT sample in the
   * time unit of the stored times, or -1 when the ACK matches no unambiguous segment end; drops the
   * acknowledged entries.
   */
  acknowledge(ack: number, time: number): number {
    let sample = -1;
    const e = this.entries;
    while (this.count > 0) {
      const at = this.head * STRIDE;
      const end = e[at + END]!;
      if (end > ack) break;
      if (end === ack && e[at + IP_ID]! < RETRANSMITTED / 2) sample = time - e[at + TIME]!;
      this.head = (this.head + 1) & this.mask;
      this.count--;
    }
    return sample;
  }
}
