/**
 * The fast path's record of one packet: offsets and the header fields flows, filters and RTP
 * analysis need, filled by `dissect` (dissect.ts) through the layers' `fast` reads
 * (layers/*.ts). One instance is reused for every packet, so a loop over millions of packets
 * allocates nothing.
 */

/** Bits of `Dissection.anomalies`. */
export const Anomaly = {
  /** A header was cut short by the capture length (not payload: snaplen cuts are normal). */
  TRUNCATED: 1 << 0,
  /** A length field is impossible (IHL < 5, total length < header, TCP offset < 5, …). */
  BAD_LENGTH: 1 << 1,
  /** IP version nibble does not match the link's protocol. */
  BAD_VERSION: 1 << 2,
  /** The link type is not one qoelab decodes. */
  UNKNOWN_LINK: 1 << 3,
  /** More than 8 stacked VLAN tags or IPv6 extension headers: treated as malformed. */
  TOO_DEEP: 1 << 4,
  /** IP length says more bytes than were on the wire. */
  LENGTH_EXCEEDS_WIRE: 1 << 5,
} as const;

/** More stacked VLAN tags, MPLS labels, IPv6 extension headers or tunnels than this are malformed. */
export const MAX_DEPTH = 8;

/** A Dissection's own field names (every instance has the same), for `copyFrom`. */
let fieldNames: string[] | undefined;

export class Dissection {
  anomalies = 0;
  linkType = 0;
  /** Byte offset (in the record's buffer) where the link header starts. */
  linkOffset = 0;
  /** End of captured bytes (exclusive), absolute in the buffer. */
  end = 0;
  /** Bytes on the wire. */
  wireLength = 0;
  /** EtherType of the network layer (0 when none/unknown). */
  etherType = 0;
  vlanCount = 0;
  /** Outermost and innermost VLAN ids (0 when untagged). */
  vlanOuter = 0;
  vlanInner = 0;
  /** PPPoE session id (RFC 2516) when the frame is a PPPoE session frame, else -1. */
  pppoeSession = -1;
  /** Absolute offset of the network header (-1 when none); in a tunnel, the innermost one's. */
  l3Offset = -1;
  /** Encapsulations walked through (IP in IP, GRE, …): 0 when the packet is not tunnelled. */
  tunnelDepth = 0;
  /**
   * EtherType and offset of the outermost network header (what capture filters test, as
   * tcpdump's do); equal to `etherType` and `l3Offset` when `tunnelDepth` is 0.
   */
  outerEtherType = 0;
  outerL3Offset = -1;
  /** 4, 6 or 0. */
  ipVersion = 0;
  /** IPv4 header length, or 40 + extension headers for IPv6. */
  ipHeaderLength = 0;
  /** IPv4 total length, or 40 + payload length for IPv6 (what the header claims). */
  ipTotalLength = 0;
  /** Transport protocol after IPv6 extension headers. */
  ipProto = -1;
  ttl = 0;
  ipId = 0;
  tos = 0;
  dontFragment = false;
  moreFragments = false;
  /** Fragment offset in bytes. */
  fragmentOffset = 0;
  /** IPv4 addresses as unsigned 32-bit numbers. */
  src4 = 0;
  dst4 = 0;
  /** IPv6 addresses as four big-endian 32-bit words (valid when ipVersion === 6); `dst6` is the final destination a Routing header names, as tshark keys conversations. */
  readonly src6 = new Uint32Array(4);
  readonly dst6 = new Uint32Array(4);
  /** Absolute offset of the transport header (-1 when none, e.g. non-first fragment). */
  l4Offset = -1;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  /** Raw advertised window (not scaled). */
  window = 0;
  tcpHeaderLength = 0;
  udpLength = 0;
  icmpType = -1;
  icmpCode = -1;
  /** Absolute offset of the transport payload (-1 when none). */
  payloadOffset = -1;
  /** Payload length from the headers (what was on the wire, not what was captured). */
  payloadLength = 0;
  /** Payload bytes present in the capture. */
  capturedPayloadLength = 0;
  /** Set by the network layer's fast read for the transport's: end of its captured bytes and the length the IP header gives it. */
  l4End = 0;
  l4Length = 0;
  /** True once src6/dst6 were written: `dissect` clears them only then (a fill costs more than the rest of a reset). */
  private v6Written = false;
  /** DataView over the last buffer dissected, for 16/32-bit big-endian reads (rebuilt when the buffer changes). */
  private viewBuffer: Uint8Array | null = null;
  private viewOf: DataView = new DataView(new ArrayBuffer(0));

  /** Big-endian reader over `buffer` (cached while the same buffer is passed again). */
  viewFor(buffer: Uint8Array): DataView {
    if (this.viewBuffer !== buffer) {
      this.viewBuffer = buffer;
      this.viewOf = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    }
    return this.viewOf;
  }

  /** Marks src6/dst6 as holding an address (cleared by the next `dissect`). */
  markV6Written(): void {
    this.v6Written = true;
  }

  reset(): void {
    this.clear();
    this.src6.fill(0);
    this.dst6.fill(0);
    this.v6Written = false;
  }

  /** Takes every field of `other` (the address words copied, not shared); allocates nothing. */
  copyFrom(other: Dissection): void {
    fieldNames ??= Object.keys(this);
    const target = this as unknown as Record<string, unknown>;
    const source = other as unknown as Record<string, unknown>;
    for (const key of fieldNames) {
      const value = source[key];
      if (value instanceof Uint32Array) (target[key] as Uint32Array).set(value);
      else target[key] = value;
    }
  }

  /** `reset` for `dissect`: the IPv6 address words are cleared only when the last packet set them. */
  resetForDissect(): void {
    this.clear();
    if (this.v6Written) {
      this.src6.fill(0);
      this.dst6.fill(0);
      this.v6Written = false;
    }
  }

  private clear(): void {
    this.anomalies = 0;
    this.etherType = 0;
    this.vlanCount = 0;
    this.vlanOuter = 0;
    this.vlanInner = 0;
    this.pppoeSession = -1;
    this.l3Offset = -1;
    this.tunnelDepth = 0;
    this.outerEtherType = 0;
    this.outerL3Offset = -1;
    this.ipVersion = 0;
    this.ipHeaderLength = 0;
    this.ipTotalLength = 0;
    this.ipProto = -1;
    this.ttl = 0;
    this.ipId = 0;
    this.tos = 0;
    this.dontFragment = false;
    this.moreFragments = false;
    this.fragmentOffset = 0;
    this.src4 = 0;
    this.dst4 = 0;
    this.l4Offset = -1;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.seq = 0;
    this.ack = 0;
    this.window = 0;
    this.tcpHeaderLength = 0;
    this.udpLength = 0;
    this.icmpType = -1;
    this.icmpCode = -1;
    this.payloadOffset = -1;
    this.payloadLength = 0;
    this.capturedPayloadLength = 0;
  }

  /**
   * A TCP or UDP header cut short at `end`: flagged truncated, its ports kept when their 4 bytes
   * were captured. Returns -1 (the walk stops there).
   */
  truncatedTransport(buffer: Uint8Array, p: number, end: number): number {
    this.anomalies |= Anomaly.TRUNCATED;
    if (end - p >= 4) {
      this.srcPort = (buffer[p]! << 8) | buffer[p + 1]!;
      this.dstPort = (buffer[p + 2]! << 8) | buffer[p + 3]!;
    }
    return -1;
  }

  /**
   * The transport payload's extent: `length` bytes by the headers, at `offset`, captured up to
   * `end`. Returns `offset` (the transport reads return where their payload starts).
   */
  setPayload(offset: number, length: number, end: number): number {
    this.payloadOffset = offset;
    this.payloadLength = length;
    this.capturedPayloadLength = Math.max(0, Math.min(end - offset, length));
    return offset;
  }

  /** True for non-first IP fragments (which carry no transport header). */
  get isLaterFragment(): boolean {
    return this.fragmentOffset > 0;
  }
}
