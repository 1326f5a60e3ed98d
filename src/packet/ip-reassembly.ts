import { internetChecksum } from "./checksum.ts";
import { dissect } from "./dissect.ts";
import type { Dissection } from "./dissection.ts";
import { IpProto } from "./protocol-numbers.ts";
import { createRecord, type PacketRecord } from "./record.ts";

/**
 * IPv4 (RFC 791 §3.2) and IPv6 (RFC 8200 §4.5) fragment reassembly in capture time, so that flows,
 * RTP/SIP analysis and flow filters see the transport header of fragmented datagrams as tshark does
 * (ip.defragment / ipv6.defragment, on by default).
 *
 * Rules (those of Linux ≥ 4.19 for both families, i.e. RFC 5722 extended to IPv4):
 * - a datagram is keyed by (version, source, destination, identification, and for IPv4 the protocol);
 * - a fragment that repeats an earlier one exactly (same offset and length) is ignored;
 * - any other overlap discards the whole datagram, and fragments of it that arrive later are
 *   discarded too until its timeout (RFC 5722 §4);
 * - a datagram not complete `timeoutSeconds` (default 60, as Linux and tshark) of capture time
 *   after its first fragment is dropped;
 * - memory is bounded: at most `maxDatagrams` (default 1024) datagrams and `maxBytes` (default
 *   4 MiB, Linux's ipfrag_high_thresh) of fragment data are held; beyond them the oldest datagram
 *   is dropped; a datagram longer than 65 535 bytes is dropped.
 *
 * The completed datagram is handed out as a packet record (reused, valid until the next `push`):
 * the link header and IP header of the offset-0 fragment (IPv4: total length set, MF and offset
 * cleared, checksum recomputed; IPv6: the Fragment header removed, payload length set), then the
 * reassembled payload, stamped with the completing fragment's time. Only fragments allocate.
 */

export interface ReassemblyOptions {
  timeoutSeconds?: number;
  maxDatagrams?: number;
  maxBytes?: number;
}

export interface ReassemblyStats {
  fragments: number;
  reassembled: number;
  /** Datagrams discarded for an overlap (and fragments arriving for them afterwards). */
  overlaps: number;
  duplicates: number;
  timedOut: number;
  /** Datagrams dropped to stay within the datagram / byte caps, or for exceeding 65 535 bytes. */
  evicted: number;
}

interface Piece {
  offset: number;
  end: number;
  data: Uint8Array;
}

interface Datagram {
  firstNs: number;
  pieces: Piece[];
  bytes: number;
  /** Payload length once the last fragment (MF = 0) was seen, else -1. */
  total: number;
  /** Copy of the offset-0 fragment's bytes from the link header to the end of the IP header
   * (IPv6: to the end of the unfragmentable part); null until seen. */
  head: Uint8Array | null;
  /** IPv6: offset in `head` of the next-header byte that named the Fragment header, and its next header. */
  nextHeaderAt: number;
  nextHeader: number;
  l3: number;
  linkType: number;
  discarded: boolean;
}

const MAX_DATAGRAM = 65535;

export class IpReassembler {
  readonly stats: ReassemblyStats = {
    fragments: 0,
    reassembled: 0,
    overlaps: 0,
    duplicates: 0,
    timedOut: 0,
    evicted: 0,
  };
  /** The reassembled packet after `push` returned true. */
  readonly output: PacketRecord = createRecord();
  private readonly datagrams = new Map<string, Datagram>();
  private bytes = 0;
  private buffer = new Uint8Array(2048);
  private readonly timeoutNs: number;
  private readonly maxDatagrams: number;
  private readonly maxBytes: number;

  constructor(options: ReassemblyOptions = {}) {
    this.timeoutNs = (options.timeoutSeconds ?? 60) * 1e9;
    this.maxDatagrams = options.maxDatagrams ?? 1024;
    this.maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  }

  /** Datagrams waiting for fragments now. */
  get pending(): number {
    return this.datagrams.size;
  }

  /** True when `d` (a dissected packet) is an IP fragment this reassembler takes. */
  static isFragment(d: Dissection): boolean {
    return (d.moreFragments || d.fragmentOffset > 0) && d.l3Offset >= 0 && (d.ipVersion === 4 || d.ipVersion === 6);
  }

  /**
   * True when all of the fragment's bytes were captured. One cut by the snaplen cannot be
   * reassembled; as tshark does, a first IPv4 fragment is then read as it stands (its transport
   * header is there: `readAsItStands`), any other carries no transport header (tshark decodes no
   * transport in a first IPv6 fragment it could not reassemble).
   */
  static capturedWhole(d: Dissection): boolean {
    return d.end >= d.l3Offset + d.ipTotalLength;
  }

  /** A first IPv4 fragment cut by the snaplen: read as an unfragmented packet (see `capturedWhole`). */
  static readAsItStands(d: Dissection): boolean {
    return d.ipVersion === 4 && d.fragmentOffset === 0 && !IpReassembler.capturedWhole(d);
  }

  /**
   * Takes one fragment (`isFragment(d)` and `capturedWhole(d)`). Returns true when it completed a datagram: `output` then
   * holds the reassembled packet (and `d` is NOT updated: dissect `output` for its transport).
   */
  push(record: PacketRecord, d: Dissection): boolean {
    this.stats.fragments++;
    const now = record.tsSec * 1e9 + record.tsNsec;
    this.expire(now);
    const b = record.buffer;
    const l3 = d.l3Offset;
    const end = record.offset + record.caplen;
    let headerEnd: number;
    let fragmentHeaderAt = -1;
    let nextHeaderAt = -1;
    let payloadEnd: number;
    let key: string;
    if (d.ipVersion === 4) {
      headerEnd = l3 + d.ipHeaderLength;
      payloadEnd = Math.min(end, l3 + d.ipTotalLength);
      key = `4:${d.src4}:${d.dst4}:${d.ipProto}:${d.ipId}`;
    } else {
      // Find the Fragment header again: the unfragmentable part ends there.
      let next = b[l3 + 6]!;
      let at = l3 + 40;
      nextHeaderAt = l3 + 6;
      for (let i = 0; i < 8 && next !== IpProto.IPV6_FRAG; i++) {
        if (next !== IpProto.HOPOPT && next !== IpProto.IPV6_ROUTE && next !== IpProto.IPV6_OPTS) return false;
        if (at + 2 > end) return false;
        nextHeaderAt = at;
        next = b[at]!;
        at += (b[at + 1]! + 1) * 8;
      }
      if (next !== IpProto.IPV6_FRAG || at + 8 > end) return false;
      fragmentHeaderAt = at;
      headerEnd = at + 8;
      payloadEnd = Math.min(end, l3 + d.ipTotalLength);
      key = `6:${d.src6.join(",")}:${d.dst6.join(",")}:${d.ipId}`;
    }
    const offset = d.fragmentOffset;
    const length = Math.max(0, payloadEnd - headerEnd);
    const fragmentEnd = offset + length;
    let datagram = this.datagrams.get(key);
    if (datagram === undefined) {
      datagram = {
        firstNs: now,
        pieces: [],
        bytes: 0,
        total: -1,
        head: null,
        nextHeaderAt: 0,
        nextHeader: 0,
        l3: 0,
        linkType: record.linkType,
        discarded: false,
      };
      this.datagrams.set(key, datagram);
    }
    if (datagram.discarded) {
      this.stats.overlaps++;
      return false;
    }
    if (fragmentEnd > MAX_DATAGRAM || (d.ipVersion === 4 && fragmentEnd + d.ipHeaderLength > MAX_DATAGRAM)) {
      this.drop(key, datagram);
      this.stats.evicted++;
      return false;
    }
    // Overlap check (RFC 5722; Linux does the same for IPv4): exact repeats are ignored.
    for (const piece of datagram.pieces) {
      if (piece.offset === offset && piece.end === fragmentEnd) {
        this.stats.duplicates++;
        return false;
      }
      if (offset < piece.end && piece.offset < fragmentEnd) {
        this.stats.overlaps++;
        this.release(datagram);
        datagram.discarded = true;
        return false;
      }
    }
    if (!d.moreFragments) {
      if (datagram.total >= 0 && datagram.total !== fragmentEnd) {
        this.stats.overlaps++;
        this.release(datagram);
        datagram.discarded = true;
        return false;
      }
      datagram.total = fragmentEnd;
    }
    if (length > 0) {
      datagram.pieces.push({ offset, end: fragmentEnd, data: b.slice(headerEnd, headerEnd + length) });
      datagram.bytes += length;
      this.bytes += length;
    }
    if (offset === 0) {
      const start = record.offset;
      const unfragmentableEnd = fragmentHeaderAt >= 0 ? fragmentHeaderAt : headerEnd;
      datagram.head = b.slice(start, unfragmentableEnd);
      datagram.l3 = l3 - start;
      if (fragmentHeaderAt >= 0) {
        datagram.nextHeaderAt = nextHeaderAt - start;
        datagram.nextHeader = b[fragmentHeaderAt]!;
      }
      datagram.linkType = record.linkType;
    }
    this.enforceCaps(key);
    if (!this.complete(datagram)) return false;
    this.emit(datagram, record, d.ipVersion);
    this.drop(key, datagram);
    this.stats.reassembled++;
    return true;
  }

  private complete(datagram: Datagram): boolean {
    if (datagram.total < 0 || datagram.head === null) return false;
    const pieces = datagram.pieces;
    pieces.sort((a, b) => a.offset - b.offset);
    let covered = 0;
    for (const piece of pieces) {
      if (piece.offset > covered) return false;
      covered = Math.max(covered, piece.end);
    }
    return covered >= datagram.total;
  }

  private emit(datagram: Datagram, record: PacketRecord, version: number): void {
    const head = datagram.head!;
    const size = head.length + datagram.total;
    if (this.buffer.length < size) this.buffer = new Uint8Array(Math.max(size, this.buffer.length * 2));
    const out = this.buffer;
    out.set(head, 0);
    for (const piece of datagram.pieces) out.set(piece.data, head.length + piece.offset);
    const l3 = datagram.l3;
    if (version === 4) {
      const ihl = head.length - l3;
      const total = ihl + datagram.total;
      out[l3 + 2] = total >> 8;
      out[l3 + 3] = total & 0xff;
      out[l3 + 6]! &= 0x40; // keep DF, clear MF and the offset
      out[l3 + 7] = 0;
      out[l3 + 10] = 0;
      out[l3 + 11] = 0;
      const sum = internetChecksum(out, l3, l3 + ihl);
      out[l3 + 10] = sum >> 8;
      out[l3 + 11] = sum & 0xff;
    } else {
      out[datagram.nextHeaderAt] = datagram.nextHeader;
      const payload = head.length - l3 - 40 + datagram.total;
      out[l3 + 4] = payload >> 8;
      out[l3 + 5] = payload & 0xff;
    }
    const o = this.output;
    o.buffer = out;
    o.offset = 0;
    o.caplen = size;
    o.origlen = size;
    o.tsSec = record.tsSec;
    o.tsNsec = record.tsNsec;
    o.linkType = datagram.linkType;
    o.interfaceId = record.interfaceId;
    o.index = record.index;
    o.fileOffset = record.fileOffset;
    if (record.hasTimestamp !== undefined) o.hasTimestamp = record.hasTimestamp;
  }

  private expire(now: number): void {
    for (const [key, datagram] of this.datagrams) {
      if (now - datagram.firstNs < this.timeoutNs) break;
      if (!datagram.discarded) this.stats.timedOut++;
      this.drop(key, datagram);
    }
  }

  private enforceCaps(current: string): void {
    for (const [key, datagram] of this.datagrams) {
      if (this.datagrams.size <= this.maxDatagrams && this.bytes <= this.maxBytes) return;
      if (key === current && this.datagrams.size === 1) return;
      this.drop(key, datagram);
      this.stats.evicted++;
    }
  }

  private release(datagram: Datagram): void {
    this.bytes -= datagram.bytes;
    datagram.bytes = 0;
    datagram.pieces = [];
    datagram.head = null;
  }

  private drop(key: string, datagram: Datagram): void {
    this.release(datagram);
    this.datagrams.delete(key);
  }
}

/**
 * Dissects `record` into `d`, reassembling fragments first: returns the record to use (the
 * reassembled one when this fragment completed a datagram, `d` then describes it), or null for a
 * fragment that completed nothing (`d` describes the fragment). Unfragmented packets are passed
 * through as they are, without allocation.
 */
export function dissectReassembled(
  record: PacketRecord,
  d: Dissection,
  reassembler: IpReassembler,
): PacketRecord | null {
  dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, d);
  if (!(d.moreFragments || d.fragmentOffset > 0)) return record;
  if (!IpReassembler.isFragment(d)) return null;
  if (!IpReassembler.capturedWhole(d)) return IpReassembler.readAsItStands(d) ? record : null;
  if (!reassembler.push(record, d)) return null;
  const out = reassembler.output;
  dissect(out.buffer, out.offset, out.caplen, out.origlen, out.linkType, d);
  return out;
}
