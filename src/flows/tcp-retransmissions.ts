/**
 * tstat 3.3's per-direction record of the sequence space, which decides retransmissions, out-of-order
 * segments, their causes and the RTT samples (tstat's rexmit.c, itself from tcptrace; the cause
 * rules are Mellia et al., "Passive analysis of TCP anomalies", Computer Networks 52(14), 2008).
 * Written from the rules, not translated: see docs/flows.md "Segment tracking" for the rules.
 *
 * The 32-bit sequence space is cut in four quadrants of 2^30 numbers; each quadrant keeps an ordered
 * list of segment records [first, last] (inclusive, a SYN or FIN counts one number) with the time the
 * record was last (re)sent, the IPv4 id, how many ACKs covered it, how often it was retransmitted
 * and the class of its last out-of-sequence copy. A quadrant holds at most `maxPerQuadrant` records
 * (tstat's MAX_SEG_PER_QUAD = 100; 0 = every record, tstat's track-all): past that the oldest
 * record is merged into the next one, so a hole between them counts as seen from then on and its
 * late fill as a retransmission. Records that are acknowledged and adjacent are merged.
 *
 * Storage: one Float64Array of nodes (doubly linked, free list) per direction, grown by doubling,
 * so accounting a packet allocates nothing.
 */

import { type RttStats, tstatAverage, tstatStdev } from "./tcp-rtt.ts";

/** Causes of out-of-sequence data segments, as tstat's log_tcp_complete columns (index = column order). */
export const RetxClass = {
  /** c_pkts_rto: retransmission after a timeout. */
  RTO: 0,
  /** c_pkts_fs: fast retransmission (the receiver had sent > 3 ACKs for the previous record). */
  FAST_RETRANSMIT: 1,
  /** c_pkts_reor: network reordering. */
  REORDERING: 2,
  /** c_pkts_dup: network duplicate (same IP id as the record). */
  NETWORK_DUPLICATE: 3,
  /** c_pkts_unrto: unnecessary retransmission after a timeout (the record was acknowledged). */
  UNNECESSARY_RTO: 4,
  /** c_pkts_unfs: unnecessary fast retransmission. */
  UNNECESSARY_FAST_RETRANSMIT: 5,
  /** c_pkts_fc: window probe (one byte while the receiver's window is zero). */
  FLOW_CONTROL: 6,
  /** c_pkts_unk: none of the above. */
  UNKNOWN: 7,
} as const;

// tstat's anomaly codes (low 4 bits) and flag bits stored on records.
const IN_SEQUENCE = 0;
const T_RTO = 1;
const T_FR = 2;
const T_REORDERING = 3;
const T_NET_DUP = 4;
const T_FLOW_CONTROL = 5;
const T_UNNEC_RTO = 6;
const T_UNNEC_FR = 7;
const T_DUP_LT_RTT = 8;
const T_DUP_LT_RTO = 9;
const T_OOO_LT_RTT = 10;
const T_OOO_LT_RTO = 11;
const T_UNNEC_LT_RTT = 12;
const T_UNNEC_LT_RTO = 13;
const T_UNKNOWN = 63;
const BATCH = 16;
const NO_RTT = 32;

/** The RetxClass column each anomaly code (low 4 bits) counts in; -1 for in-sequence segments. The *_LT_* codes are tstat's unknowns. */
const CLASS_OF_CODE = new Int8Array(BATCH).fill(RetxClass.UNKNOWN);
CLASS_OF_CODE[IN_SEQUENCE] = -1;
CLASS_OF_CODE[T_RTO] = RetxClass.RTO;
CLASS_OF_CODE[T_FR] = RetxClass.FAST_RETRANSMIT;
CLASS_OF_CODE[T_REORDERING] = RetxClass.REORDERING;
CLASS_OF_CODE[T_NET_DUP] = RetxClass.NETWORK_DUPLICATE;
CLASS_OF_CODE[T_FLOW_CONTROL] = RetxClass.FLOW_CONTROL;
CLASS_OF_CODE[T_UNNEC_FR] = RetxClass.UNNECESSARY_FAST_RETRANSMIT;
CLASS_OF_CODE[T_UNNEC_RTO] = RetxClass.UNNECESSARY_RTO;

/** RTO and minimum RTT floors and the values used before both directions have an RTT sample (µs). */
const RTO_MIN_US = 100_000;
const RTT_MIN_US = 1_000;
const INITIAL_RTO_US = 500_000;
const INITIAL_RTT_MIN_US = 5_000;

/** tstat's MAX_SEG_PER_QUAD default. */
export const TSTAT_MAX_SEGMENTS_PER_QUADRANT = 100;

/** What the classification reads of the two directions (TcpHalf implements it). */
export interface SegmentOwner {
  readonly rttStats: RttStats;
  syn: number;
  /** Last effective window this side advertised (tstat win_curr). */
  windowCurrent: number;
  /** Out-of-sequence segment counts by RetxClass. */
  readonly classes: Float64Array;
}

// Node layout.
const F_FIRST = 0;
const F_LAST = 1;
const F_TIME = 2;
const F_IPID = 3;
const F_ACKED = 4;
const F_RETRANS = 5;
const F_TYPE = 6;
const STRIDE = 8;
// Links (Int32Array, 2 words per node): previous and next node, -1 at the list ends.
const L_PREV = 0;
const L_NEXT = 1;

// Quadrant layout (Int32Array, 6 words per quadrant).
const Q_EXISTS = 0;
const Q_HEAD = 1;
const Q_TAIL = 2;
const Q_COUNT = 3;
const Q_PREV = 4;
const Q_NEXT = 5;
const Q_STRIDE = 6;

const QUAD_SIZE = 2 ** 30;

/** Result flags of `add`. */
export const SegmentResult = {
  /** The segment started before a record and ended before that record's end (tstat out_order). */
  OUT_OF_ORDER: 1,
} as const;

export class SegmentList {
  private nodes: Float64Array;
  private links: Int32Array;
  private capacity: number;
  private freeHead = -1;
  private used = 0;
  private readonly quads = new Int32Array(4 * Q_STRIDE);
  /** Flags of the last `add` (SegmentResult bits). */
  flags = 0;
  /** The quadrant whose neighbours `quadrantOf` linked last (-1: none yet). */
  private readyQuad = -1;

  constructor(
    /** Records kept per quadrant; 0 keeps every record. */
    readonly maxPerQuadrant: number,
    initialCapacity = 8,
  ) {
    this.capacity = initialCapacity;
    this.nodes = new Float64Array(initialCapacity * STRIDE);
    this.links = new Int32Array(initialCapacity * 2);
    for (let q = 0; q < 4; q++) this.resetQuad(q);
  }

  private resetQuad(q: number): void {
    const b = q * Q_STRIDE;
    this.quads[b + Q_EXISTS] = 0;
    this.quads[b + Q_HEAD] = -1;
    this.quads[b + Q_TAIL] = -1;
    this.quads[b + Q_COUNT] = 0;
    this.quads[b + Q_PREV] = -1;
    this.quads[b + Q_NEXT] = -1;
  }

  private alloc(): number {
    let n = this.freeHead;
    if (n >= 0) {
      this.freeHead = this.links[n * 2 + L_NEXT]!;
    } else {
      if (this.used === this.capacity) {
        const grown = new Float64Array(this.capacity * 2 * STRIDE);
        grown.set(this.nodes);
        this.nodes = grown;
        const links = new Int32Array(this.capacity * 2 * 2);
        links.set(this.links);
        this.links = links;
        this.capacity *= 2;
      }
      n = this.used++;
    }
    return n;
  }

  private release(n: number): void {
    this.links[n * 2 + L_NEXT] = this.freeHead;
    this.freeHead = n;
  }

  /** tstat whichquad: the quadrant of `seq`, creating it and its neighbours and dropping the opposite one. */
  private quadrantOf(seq: number): number {
    const q = seq >>> 30;
    // Only the quadrant set up last has both neighbours linked (setting up another unlinks it).
    if (q === this.readyQuad) return q;
    this.readyQuad = q;
    const Q = this.quads;
    const b = q * Q_STRIDE;
    const next = (q + 1) & 3;
    const opposite = (q + 2) & 3;
    const prev = (q + 3) & 3;
    Q[b + Q_EXISTS] = 1;
    Q[next * Q_STRIDE + Q_EXISTS] = 1;
    Q[prev * Q_STRIDE + Q_EXISTS] = 1;
    if (Q[opposite * Q_STRIDE + Q_EXISTS] === 1) {
      for (let n = Q[opposite * Q_STRIDE + Q_HEAD]!; n >= 0; ) {
        const following = this.links[n * 2 + L_NEXT]!;
        this.release(n);
        n = following;
      }
      this.resetQuad(opposite);
    }
    Q[b + Q_PREV] = prev;
    Q[b + Q_NEXT] = next;
    Q[next * Q_STRIDE + Q_PREV] = q;
    Q[prev * Q_STRIDE + Q_NEXT] = q;
    Q[next * Q_STRIDE + Q_NEXT] = -1;
    Q[prev * Q_STRIDE + Q_PREV] = -1;
    return q;
  }

  /** `firstIn`: the record's first sequence number as int32 (see `add`). */
  private create(firstIn: number, length: number, ipId: number, now: number): number {
    const first = firstIn >>> 0;
    const n = this.alloc();
    const e = this.nodes;
    const at = n * STRIDE;
    e[at + F_FIRST] = first;
    e[at + F_LAST] = first + length - 1;
    e[at + F_TIME] = now;
    e[at + F_IPID] = ipId;
    e[at + F_ACKED] = 0;
    e[at + F_RETRANS] = 0;
    e[at + F_TYPE] = IN_SEQUENCE;
    return n;
  }

  /** Links node `n` between `before` and `after` (-1 = list end) of quadrant `q`. */
  private insert(q: number, n: number, before: number, after: number): void {
    const l = this.links;
    const Q = this.quads;
    const b = q * Q_STRIDE;
    Q[b + Q_COUNT]!++;
    l[n * 2 + L_NEXT] = after;
    if (after >= 0) l[after * 2 + L_PREV] = n;
    else Q[b + Q_TAIL] = n;
    l[n * 2 + L_PREV] = before;
    if (before >= 0) l[before * 2 + L_NEXT] = n;
    else Q[b + Q_HEAD] = n;
  }

  /**
   * Accounts a segment of `length` sequence numbers (payload, +1 for SYN, +1 for FIN) starting at
   * `seq` (a 32-bit sequence number, signed or unsigned: callers pass `seq | 0`, since an unsigned
   * value above 2^31 crossing a call is a heap number), sent by `h` to `r` at `now` (µs). Returns
   * how many of its numbers had been recorded before (tstat's retransmitted bytes); `flags` tells
   * whether it was out of order. Classifies every out-of-sequence part into `h.classes`.
   */
  add(h: SegmentOwner, r: SegmentOwner, seqIn: number, length: number, ipId: number, now: number): number {
    this.flags = 0;
    const seq = seqIn >>> 0;
    const last = (seq + length - 1) >>> 0;
    const q = this.quadrantOf(seqIn);
    if (seq >>> 30 !== last >>> 30) {
      const firstLength = (q + 1) * QUAD_SIZE - seq;
      let retransmitted = this.addInQuadrant(h, r, q, seqIn, firstLength, ipId, now);
      const q2 = this.quads[q * Q_STRIDE + Q_NEXT]!;
      retransmitted += this.addInQuadrant(h, r, q2, (q2 * QUAD_SIZE) | 0, length - firstLength, ipId, now);
      return retransmitted;
    }
    return this.addInQuadrant(h, r, q, seqIn, length, ipId, now);
  }

  private addInQuadrant(
    h: SegmentOwner,
    r: SegmentOwner,
    q: number,
    firstIn: number,
    lengthIn: number,
    ipId: number,
    now: number,
  ): number {
    const e = this.nodes;
    const l = this.links;
    const Q = this.quads;
    const b = q * Q_STRIDE;
    let first = firstIn >>> 0;
    let length = lengthIn;
    const last = first + length - 1;
    let retransmitted = 0;
    let split = false;
    let recovery = 0;
    let p = Q[b + Q_HEAD]!;
    const tail = Q[b + Q_TAIL]!;
    // The usual case: beyond every record, append.
    if (tail >= 0 && first > e[tail * STRIDE + F_LAST]!) p = -1;
    while (p >= 0) {
      const pa = p * STRIDE;
      if (first > e[pa + F_LAST]!) {
        p = l[p * 2 + L_NEXT]!;
        continue;
      }
      if (first < e[pa + F_FIRST]!) {
        // Starts before this record: a never-seen part, out of order when it also ends before the record's end.
        if (last < e[pa + F_LAST]!) this.flags |= SegmentResult.OUT_OF_ORDER;
        const n = this.create(first | 0, length, ipId, now);
        this.insert(q, n, l[p * 2 + L_PREV]!, p);
        if (last <= e[pa + F_FIRST]!) {
          this.classify(h, r, p, length, ipId, false, recovery, now);
          return retransmitted;
        }
        // Overlaps the record: keep the part before it as new, go on with the rest.
        e[n * STRIDE + F_LAST] = e[pa + F_FIRST]! - 1;
        this.classify(h, r, p, e[n * STRIDE + F_LAST]! - e[n * STRIDE + F_FIRST]!, ipId, false, recovery, now);
        first = e[pa + F_FIRST]!;
        length = last - first + 1;
      }
      // Starts within this record: (partly) a retransmission.
      e[pa + F_RETRANS]!++;
      recovery = now - e[pa + F_TIME]!;
      if (!split) e[pa + F_TIME] = now;
      if (last <= e[pa + F_LAST]!) {
        retransmitted += length;
        this.classify(h, r, p, length, ipId, true, recovery, now);
        return retransmitted;
      }
      split = true;
      retransmitted += e[pa + F_LAST]! - first + 1;
      first = e[pa + F_LAST]! + 1;
      this.classify(h, r, p, retransmitted, ipId, true, recovery, now);
      length = last - first + 1;
      p = l[p * 2 + L_NEXT]!;
    }
    const n = this.create(first | 0, length, ipId, now);
    this.insert(q, n, Q[b + Q_TAIL]!, -1);
    if (this.maxPerQuadrant > 0 && Q[b + Q_COUNT]! > this.maxPerQuadrant) {
      // Too many records: the oldest is merged into the next (its hole, if any, counts as seen).
      const oldest = Q[b + Q_HEAD]!;
      const next = l[oldest * 2 + L_NEXT]!;
      l[next * 2 + L_PREV] = -1;
      Q[b + Q_HEAD] = next;
      e[next * STRIDE + F_FIRST] = e[oldest * STRIDE + F_FIRST]!;
      this.release(oldest);
      Q[b + Q_COUNT]!--;
    }
    return retransmitted;
  }

  /**
   * tstat's cause rules for an out-of-sequence part. `p` is the record retransmitted (alreadySeen)
   * or the record the new part was inserted before (its predecessor is the new record).
   */
  private classify(
    h: SegmentOwner,
    r: SegmentOwner,
    p: number,
    length: number,
    ipId: number,
    alreadySeen: boolean,
    recoveryIn: number,
    now: number,
  ): void {
    const e = this.nodes;
    const pa = p * STRIDE;
    const hs = h.rttStats;
    const rs = r.rttStats;
    const meanRtt = tstatAverage(hs.sum, hs.count) + tstatAverage(rs.sum, rs.count);
    let rto = meanRtt + 4 * tstatStdev(hs.sum + rs.sum, hs.sum2 + rs.sum2, hs.count + rs.count);
    let rttMin = hs.min + rs.min;
    const validRtt = hs.count !== 0 && rs.count !== 0;
    if (rto < RTO_MIN_US) rto = RTO_MIN_US;
    if (rttMin < RTT_MIN_US) rttMin = RTT_MIN_US;
    const prev = this.links[p * 2 + L_PREV]!;
    const prevPrev = prev >= 0 ? this.links[prev * 2 + L_PREV]! : -1;
    let recovery = recoveryIn;
    if (!alreadySeen) recovery = prevPrev >= 0 ? now - e[prevPrev * STRIDE + F_TIME]! : -1;
    let prevType = IN_SEQUENCE;
    if (prev >= 0) {
      if (alreadySeen) prevType = e[prev * STRIDE + F_TYPE]!;
      else if (prevPrev >= 0) prevType = e[prevPrev * STRIDE + F_TYPE]!;
    }
    if (!validRtt) {
      rttMin = INITIAL_RTT_MIN_US;
      rto = INITIAL_RTO_US;
      if (recovery === -1) recovery = now - e[pa + F_TIME]!;
    }
    const otherId = e[pa + F_IPID]! !== ipId;
    const afterRto = recovery > rto;
    const withinRtt = recovery < meanRtt;
    const before = alreadySeen ? prev : prevPrev;
    const fastRetx = before >= 0 ? e[before * STRIDE + F_ACKED]! > 3 && recovery < rto : false;
    const recent = now - e[pa + F_TIME]! < rttMin;
    const noRtt = validRtt ? 0 : NO_RTT;
    let type: number;
    if (length === 1 && r.windowCurrent === 0 && h.syn !== 0 && r.syn !== 0) type = T_FLOW_CONTROL;
    else if (withinRtt && prevType !== IN_SEQUENCE) type = prevType | BATCH;
    else if (e[pa + F_ACKED] === 0) {
      if (alreadySeen) {
        if (!otherId) type = T_NET_DUP;
        else if (afterRto || fastRetx) type = fastRetx ? T_FR : T_RTO;
        else if (withinRtt) type = T_DUP_LT_RTT;
        else type = T_DUP_LT_RTO;
      } else if (afterRto || fastRetx) type = fastRetx ? T_FR : T_RTO;
      else if (recent) type = T_REORDERING;
      else if (withinRtt) type = T_OOO_LT_RTT;
      else type = T_OOO_LT_RTO;
      type |= noRtt;
    } else {
      if (!otherId) type = T_NET_DUP;
      else if (afterRto || fastRetx) type = fastRetx ? T_UNNEC_FR : T_UNNEC_RTO;
      else if (withinRtt) type = T_UNNEC_LT_RTT;
      else type = T_UNNEC_LT_RTO;
      type |= noRtt;
    }
    e[(alreadySeen ? p : prev) * STRIDE + F_TYPE] = type;
    const counted = CLASS_OF_CODE[type & (BATCH - 1)]!;
    if (counted >= 0) h.classes[counted]!++;
    void T_UNKNOWN;
  }

  /**
   * A cumulative ACK `ackIn` (32-bit, signed or unsigned as for `add`) for this direction's data arrives at `now` (µs): marks
   * the covered records, merges acknowledged adjacent ones, and returns the RTT sample (µs) when
   * the ACK ends exactly at a record never retransmitted and sent after every record before it;
   * -1 otherwise. The sample is added to `rtt`.
   */
  acknowledge(ackIn: number, now: number, rtt: RttStats): number {
    const ack = ackIn >>> 0;
    const e = this.nodes;
    const l = this.links;
    const Q = this.quads;
    const q = this.quadrantOf(ackIn);
    const qp = Q[q * Q_STRIDE + Q_PREV]!;
    let newest = 0;
    let changed = false;
    let sample = -1;
    for (let s = Q[qp * Q_STRIDE + Q_COUNT] === 0 ? -1 : Q[qp * Q_STRIDE + Q_HEAD]!; s >= 0; s = l[s * 2 + L_NEXT]!) {
      const sa = s * STRIDE;
      if (e[sa + F_ACKED] === 0) {
        e[sa + F_ACKED] = 1;
        changed = true;
        if (e[sa + F_TIME]! > newest) newest = e[sa + F_TIME]!;
      }
    }
    if (changed) this.collapse(qp);
    changed = false;
    for (let s = Q[q * Q_STRIDE + Q_HEAD]!; s >= 0; s = l[s * 2 + L_NEXT]!) {
      const sa = s * STRIDE;
      if (ack <= e[sa + F_FIRST]!) break;
      const sent = e[sa + F_TIME]!;
      if (sent > newest) newest = sent;
      if (e[sa + F_ACKED]! > 0) {
        e[sa + F_ACKED]!++;
        continue;
      }
      e[sa + F_ACKED] = 1;
      changed = true;
      if (ack === e[sa + F_LAST]! + 1 && newest <= sent && e[sa + F_RETRANS] === 0) {
        sample = now > sent ? now - sent : 0;
        rtt.add(sample);
      }
    }
    if (changed) this.collapse(q);
    return sample;
  }

  /** Merges acknowledged adjacent records from the head of quadrant `q`. */
  private collapse(q: number): void {
    const e = this.nodes;
    const l = this.links;
    const Q = this.quads;
    const b = q * Q_STRIDE;
    let s = Q[b + Q_HEAD]!;
    while (s >= 0) {
      const sa = s * STRIDE;
      const n = l[s * 2 + L_NEXT]!;
      if (n < 0) break;
      if (e[sa + F_ACKED] === 0) break;
      const na = n * STRIDE;
      if (e[na + F_ACKED]! > 0 && e[sa + F_LAST]! + 1 === e[na + F_FIRST]) {
        e[sa + F_LAST] = e[na + F_LAST]!;
        e[sa + F_ACKED] = e[na + F_ACKED]!;
        if (e[na + F_TIME]! > e[sa + F_TIME]!) {
          e[sa + F_TIME] = e[na + F_TIME]!;
          e[sa + F_IPID] = e[na + F_IPID]!;
          e[sa + F_TYPE] = e[na + F_TYPE]!;
        }
        const after = l[n * 2 + L_NEXT]!;
        l[s * 2 + L_NEXT] = after;
        if (after >= 0) l[after * 2 + L_PREV] = s;
        if (Q[b + Q_TAIL] === n) Q[b + Q_TAIL] = s;
        this.release(n);
        Q[b + Q_COUNT]!--;
      } else s = n;
    }
  }
}
