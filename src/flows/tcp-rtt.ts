/**
 * Data → ACK matching for RTT samples, per direction. The ring keeps the segments that advanced
 * the sequence space (so it is sorted by end sequence) with their capture time; an ACK whose
 * number equals a segment's end gives one sample (ACK time − segment time), unless that segment
 * was retransmitted or overlapped by a retransmission (Karn's rule: the ACK is ambiguous).
 * Entries at or below the cumulative ACK are dropped. Sequence numbers are unwrapped relative
 * values (doubles), so wrap-around needs no special case here.
 */

const FLAG_RETRANSMITTED = 1;
const MAX_CAPACITY = 1 << 16;

export class SegmentRing {
  private start = new Float64Array(16);
  private end = new Float64Array(16);
  private time = new Float64Array(16);
  private ipId = new Int32Array(16);
  private flags = new Uint8Array(16);
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
    const i = (this.head + this.count) & this.mask;
    this.start[i] = start;
    this.end[i] = end;
    this.time[i] = time;
    this.ipId[i] = ipId;
    this.flags[i] = 0;
    this.count++;
  }

  private grow(): void {
    const capacity = (this.mask + 1) * 2;
    const start = new Float64Array(capacity);
    const end = new Float64Array(capacity);
    const time = new Float64Array(capacity);
    const ipId = new Int32Array(capacity);
    const flags = new Uint8Array(capacity);
    for (let k = 0; k < this.count; k++) {
      const i = (this.head + k) & this.mask;
      start[k] = this.start[i]!;
      end[k] = this.end[i]!;
      time[k] = this.time[i]!;
      ipId[k] = this.ipId[i]!;
      flags[k] = this.flags[i]!;
    }
    this.start = start;
    this.end = end;
    this.time = time;
    this.ipId = ipId;
    this.flags = flags;
    this.head = 0;
    this.mask = capacity - 1;
  }

  /** Index (0-based from the oldest) of the first entry whose end is > `seq`, by binary search. */
  private firstEndAbove(seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.end[(this.head + mid) & this.mask]! > seq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Marks every stored segment overlapping [start, end) as retransmitted (no RTT sample from them). */
  markRetransmitted(start: number, end: number): void {
    for (let k = this.firstEndAbove(start); k < this.count; k++) {
      const i = (this.head + k) & this.mask;
      if (this.start[i]! >= end) break;
      this.flags[i]! |= FLAG_RETRANSMITTED;
    }
  }

  /**
   * Capture time of a stored first copy of exactly [start, end) carrying IP id `ipId`, or -1.
   * Used to recognise network duplicates.
   */
  findCopy(start: number, end: number, ipId: number): number {
    const k = this.firstEndAbove(end - 1);
    if (k >= this.count) return -1;
    const i = (this.head + k) & this.mask;
    if (this.start[i] === start && this.end[i] === end && this.ipId[i] === ipId) return this.time[i]!;
    return -1;
  }

  /**
   * Handles a cumulative ACK `ack` (relative) arriving at `time`: returns the RTT sample in the
   * time unit of the stored times, or -1 when the ACK matches no unambiguous segment end; drops the
   * acknowledged entries.
   */
  acknowledge(ack: number, time: number): number {
    let sample = -1;
    while (this.count > 0) {
      const i = this.head;
      const end = this.end[i]!;
      if (end > ack) break;
      if (end === ack && (this.flags[i]! & FLAG_RETRANSMITTED) === 0) sample = time - this.time[i]!;
      this.head = (this.head + 1) & this.mask;
      this.count--;
    }
    return sample;
  }
}
