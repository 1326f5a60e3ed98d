/**
 * Out-of-sequence segments and their causes, after tstat's classification (Mellia, Meo,
 * Muscariello, Rossi, "Passive analysis of TCP anomalies", Computer Networks 52(14), 2008):
 * a data segment whose sequence number is below the highest one already seen in its direction is
 * an anomaly, classified with the recovery time ΔT (time since the segment that carried the
 * highest sequence number), the sender's RTO estimate, the minimum RTT and the duplicate ACKs the
 * receiver sent. See docs/flows.md for the decision order.
 */

/** Sequence ranges below the highest sequence seen that were never observed (lost before the probe, or reordered). */
export class HoleSet {
  /** Pairs [start, end) sorted by start; at most MAX_HOLES, the lowest dropped on overflow. */
  static readonly MAX_HOLES = 64;
  private readonly ranges = new Float64Array(HoleSet.MAX_HOLES * 2);
  count = 0;

  /** Records the never-seen range [start, end) above every existing hole. */
  add(start: number, end: number): void {
    if (end <= start) return;
    if (this.count === HoleSet.MAX_HOLES) {
      this.ranges.copyWithin(0, 2, this.count * 2);
      this.count--;
    }
    this.ranges[this.count * 2] = start;
    this.ranges[this.count * 2 + 1] = end;
    this.count++;
  }

  /** Removes [start, end) from the holes; returns how many of its bytes were holes (first seen now). */
  fill(start: number, end: number): number {
    let filled = 0;
    const r = this.ranges;
    for (let k = 0; k < this.count; k++) {
      const hs = r[k * 2]!;
      const he = r[k * 2 + 1]!;
      if (he <= start) continue;
      if (hs >= end) break;
      const os = hs > start ? hs : start;
      const oe = he < end ? he : end;
      filled += oe - os;
      if (os === hs && oe === he) {
        r.copyWithin(k * 2, k * 2 + 2, this.count * 2);
        this.count--;
        k--;
      } else if (os === hs) {
        r[k * 2] = oe;
      } else if (oe === he) {
        r[k * 2 + 1] = os;
      } else {
        // Split: keep [hs, os) here and insert [oe, he) after it.
        if (this.count === HoleSet.MAX_HOLES) {
          r.copyWithin(0, 2, this.count * 2);
          this.count--;
          k--;
        }
        r.copyWithin(k * 2 + 4, k * 2 + 2, this.count * 2);
        r[k * 2 + 1] = os;
        r[k * 2 + 2] = oe;
        r[k * 2 + 3] = he;
        this.count++;
        k++;
      }
    }
    return filled;
  }

  reset(): void {
    this.count = 0;
  }
}

/** Causes of out-of-sequence data segments (each such segment gets exactly one). */
export const RetxClass = {
  /** Retransmission after the retransmission timeout expired (ΔT > RTO). */
  RTO: 0,
  /** Fast retransmission: the receiver had sent ≥ 3 duplicate ACKs. */
  FAST_RETRANSMIT: 1,
  /** Never-seen data arriving within the minimum RTT of the highest segment: network reordering. */
  REORDERING: 2,
  /** An identical copy (same sequence range and IP id) seen less than the minimum RTT ago. */
  NETWORK_DUPLICATE: 3,
  /** Retransmission of data the receiver had already acknowledged, sender in timeout recovery. */
  UNNECESSARY_RTO: 4,
  /** Retransmission of already-acknowledged data after ≥ 3 duplicate ACKs. */
  UNNECESSARY_FAST_RETRANSMIT: 5,
  /** A window probe: at most one byte sent while the receiver advertised a zero window. */
  FLOW_CONTROL: 6,
  /** None of the above. */
  UNKNOWN: 7,
} as const;

export interface ClassifyInput {
  /** True when none of the segment's bytes had been seen before (it filled a hole). */
  neverSeen: boolean;
  /** Time since the first copy, when this is an identical copy of a stored segment; -1 otherwise. */
  sinceCopy: number;
  /** ΔT: time since the segment that carried the highest sequence number. */
  recoveryTime: number;
  /** True when the segment's end is at or below the receiver's cumulative ACK. */
  alreadyAcked: boolean;
  /** Duplicate ACKs the receiver has sent for the current cumulative ACK. */
  dupAcks: number;
  /** True when the receiver's last advertised window was zero. */
  receiverWindowZero: boolean;
  payloadLength: number;
  /** Minimum RTT of this direction (same unit as the times). */
  rttMin: number;
  /** Sender's retransmission timeout estimate (same unit). */
  rto: number;
}

/** tstat's decision order, see docs/flows.md "Retransmission classes". */
export function classifyOutOfSequence(x: ClassifyInput): number {
  if (x.sinceCopy >= 0 && x.sinceCopy < x.rttMin) return RetxClass.NETWORK_DUPLICATE;
  if (x.receiverWindowZero && x.payloadLength <= 1) return RetxClass.FLOW_CONTROL;
  if (x.alreadyAcked) {
    return x.dupAcks >= 3 ? RetxClass.UNNECESSARY_FAST_RETRANSMIT : RetxClass.UNNECESSARY_RTO;
  }
  if (x.neverSeen && x.recoveryTime < x.rttMin) return RetxClass.REORDERING;
  if (x.recoveryTime > x.rto) return RetxClass.RTO;
  if (x.dupAcks >= 3) return RetxClass.FAST_RETRANSMIT;
  return RetxClass.UNKNOWN;
}
