import { LinkType } from "./link-type.ts";

/**
 * Fast path decoder: walks link → network → transport headers of one packet and fills a reused
 * `Dissection` with offsets and the fields that flows, filters and RTP analysis need. It reads
 * through the bytes directly (no objects, no strings), so a loop over millions of packets
 * allocates nothing. Malformed input never throws: it sets `anomalies` bits and stops.
 * The full layer objects (show/encode) live in the per-protocol files.
 */

export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  VLAN_9100: 0x9100,
  IPV6: 0x86dd,
} as const;

export const IpProto = {
  HOPOPT: 0,
  ICMP: 1,
  TCP: 6,
  UDP: 17,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
  MOBILITY: 135,
} as const;

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

export const TcpFlag = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

const MAX_DEPTH = 8;

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
  /** Absolute offset of the network header (-1 when none). */
  l3Offset = -1;
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
  /** IPv6 addresses as four big-endian 32-bit words (valid when ipVersion === 6). */
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
    this.l3Offset = -1;
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

  /** True for non-first IP fragments (which carry no transport header). */
  get isLaterFragment(): boolean {
    return this.fragmentOffset > 0;
  }
}

/** Dissects `buffer[offset, offset+caplen)` captured on `linkType` into `out` (reset first). */
export function dissect(
  buffer: Uint8Array,
  offset: number,
  caplen: number,
  wireLength: number,
  linkType: number,
  out: Dissection,
): void {
  out.resetForDissect();
  out.linkType = linkType;
  out.linkOffset = offset;
  const end = offset + caplen;
  out.end = end;
  out.wireLength = wireLength;
  let p = offset;
  let etherType = 0;
  switch (linkType) {
    case LinkType.ETHERNET: {
      if (end - p < 14) {
        out.anomalies |= Anomaly.TRUNCATED;
        return;
      }
      etherType = out.viewFor(buffer).getUint16(p + 12);
      p += 14;
      while (etherType === EtherType.VLAN || etherType === EtherType.QINQ || etherType === EtherType.VLAN_9100) {
        if (out.vlanCount >= MAX_DEPTH) {
          out.anomalies |= Anomaly.TOO_DEEP;
          return;
        }
        if (end - p < 4) {
          out.anomalies |= Anomaly.TRUNCATED;
          return;
        }
        const vid = ((buffer[p]! << 8) | buffer[p + 1]!) & 0x0fff;
        if (out.vlanCount === 0) out.vlanOuter = vid;
        out.vlanInner = vid;
        out.vlanCount++;
        etherType = (buffer[p + 2]! << 8) | buffer[p + 3]!;
        p += 4;
      }
      if (etherType <= 1500) etherType = 0; // 802.3 length field: LLC frame, not decoded here
      break;
    }
    case LinkType.LINUX_SLL:
      if (end - p < 16) {
        out.anomalies |= Anomaly.TRUNCATED;
        return;
      }
      etherType = (buffer[p + 14]! << 8) | buffer[p + 15]!;
      p += 16;
      break;
    case LinkType.LINUX_SLL2:
      if (end - p < 20) {
        out.anomalies |= Anomaly.TRUNCATED;
        return;
      }
      etherType = (buffer[p]! << 8) | buffer[p + 1]!;
      p += 20;
      break;
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (end - p < 4) {
        out.anomalies |= Anomaly.TRUNCATED;
        return;
      }
      // NULL is host byte order of the capturing machine: accept either order.
      const b0 = buffer[p]!;
      const b3 = buffer[p + 3]!;
      const family = linkType === LinkType.LOOP || b0 === 0 ? b3 : b0;
      etherType = family === 2 ? EtherType.IPV4 : family === 24 || family === 28 || family === 30 ? EtherType.IPV6 : 0;
      p += 4;
      break;
    }
    case LinkType.RAW:
      if (end - p < 1) {
        out.anomalies |= Anomaly.TRUNCATED;
        return;
      }
      etherType = buffer[p]! >> 4 === 6 ? EtherType.IPV6 : EtherType.IPV4;
      break;
    case LinkType.IPV4:
      etherType = EtherType.IPV4;
      break;
    case LinkType.IPV6:
      etherType = EtherType.IPV6;
      break;
    default:
      out.anomalies |= Anomaly.UNKNOWN_LINK;
      return;
  }
  out.etherType = etherType;
  if (etherType === EtherType.IPV4) dissectIpv4(buffer, p, end, out);
  else if (etherType === EtherType.IPV6) dissectIpv6(buffer, p, end, out);
  else if (etherType !== 0) out.l3Offset = p;
}

function dissectIpv4(buffer: Uint8Array, p: number, end: number, out: Dissection): void {
  out.l3Offset = p;
  if (end - p < 20) {
    out.anomalies |= Anomaly.TRUNCATED;
    if (end - p >= 1) out.ipVersion = buffer[p]! >> 4;
    return;
  }
  const vihl = buffer[p]!;
  if (vihl >> 4 !== 4) {
    out.anomalies |= Anomaly.BAD_VERSION;
    return;
  }
  out.ipVersion = 4;
  const ihl = (vihl & 0x0f) * 4;
  const view = out.viewFor(buffer);
  const total = view.getUint16(p + 2);
  out.tos = buffer[p + 1]!;
  out.ipId = view.getUint16(p + 4);
  const flagsFrag = view.getUint16(p + 6);
  out.dontFragment = (flagsFrag & 0x4000) !== 0;
  out.moreFragments = (flagsFrag & 0x2000) !== 0;
  out.fragmentOffset = (flagsFrag & 0x1fff) * 8;
  out.ttl = buffer[p + 8]!;
  out.ipProto = buffer[p + 9]!;
  out.src4 = view.getUint32(p + 12);
  out.dst4 = view.getUint32(p + 16);
  out.ipHeaderLength = ihl;
  out.ipTotalLength = total;
  if (ihl < 20 || total < ihl) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return;
  }
  if (end - p < ihl) {
    out.anomalies |= Anomaly.TRUNCATED;
    return;
  }
  const wireAvailable = out.wireLength - (p - out.linkOffset);
  if (total > wireAvailable) out.anomalies |= Anomaly.LENGTH_EXCEEDS_WIRE;
  if (out.fragmentOffset > 0) return;
  dissectTransport(buffer, p + ihl, Math.min(end, p + total), total - ihl, out);
}

function dissectIpv6(buffer: Uint8Array, p: number, end: number, out: Dissection): void {
  out.l3Offset = p;
  if (end - p < 40) {
    out.anomalies |= Anomaly.TRUNCATED;
    if (end - p >= 1) out.ipVersion = buffer[p]! >> 4;
    return;
  }
  if (buffer[p]! >> 4 !== 6) {
    out.anomalies |= Anomaly.BAD_VERSION;
    return;
  }
  out.ipVersion = 6;
  out.tos = ((buffer[p]! & 0x0f) << 4) | (buffer[p + 1]! >> 4);
  const payloadLength = (buffer[p + 4]! << 8) | buffer[p + 5]!;
  let next = buffer[p + 6]!;
  out.ttl = buffer[p + 7]!;
  out.markV6Written();
  for (let i = 0; i < 4; i++) {
    out.src6[i] = u32(buffer, p + 8 + i * 4);
    out.dst6[i] = u32(buffer, p + 24 + i * 4);
  }
  out.ipTotalLength = 40 + payloadLength;
  const wireAvailable = out.wireLength - (p - out.linkOffset);
  if (out.ipTotalLength > wireAvailable) out.anomalies |= Anomaly.LENGTH_EXCEEDS_WIRE;
  const limit = Math.min(end, p + 40 + payloadLength);
  let q = p + 40;
  let depth = 0;
  for (;;) {
    if (
      next === IpProto.HOPOPT ||
      next === IpProto.IPV6_ROUTE ||
      next === IpProto.IPV6_OPTS ||
      next === IpProto.MOBILITY ||
      next === IpProto.AH ||
      next === IpProto.IPV6_FRAG
    ) {
      if (++depth > MAX_DEPTH) {
        out.anomalies |= Anomaly.TOO_DEEP;
        return;
      }
      if (limit - q < 8) {
        out.anomalies |= Anomaly.TRUNCATED;
        out.ipProto = next;
        return;
      }
      const following = buffer[q]!;
      let length: number;
      if (next === IpProto.IPV6_FRAG) {
        const fragField = (buffer[q + 2]! << 8) | buffer[q + 3]!;
        out.fragmentOffset = fragField & 0xfff8;
        out.moreFragments = (fragField & 1) !== 0;
        out.ipId = u32(buffer, q + 4);
        length = 8;
      } else if (next === IpProto.AH) {
        length = (buffer[q + 1]! + 2) * 4;
      } else {
        length = (buffer[q + 1]! + 1) * 8;
      }
      q += length;
      next = following;
      continue;
    }
    break;
  }
  out.ipProto = next;
  out.ipHeaderLength = q - p;
  if (q > limit) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return;
  }
  if (out.fragmentOffset > 0) return;
  dissectTransport(buffer, q, limit, p + 40 + payloadLength - q, out);
}

/** `end` is the end of captured bytes of this IP packet; `length` what the IP header claims. */
function dissectTransport(buffer: Uint8Array, p: number, end: number, length: number, out: Dissection): void {
  const proto = out.ipProto;
  if (proto === IpProto.TCP) {
    out.l4Offset = p;
    if (end - p < 20) {
      out.anomalies |= Anomaly.TRUNCATED;
      if (end - p >= 4) {
        out.srcPort = (buffer[p]! << 8) | buffer[p + 1]!;
        out.dstPort = (buffer[p + 2]! << 8) | buffer[p + 3]!;
      }
      return;
    }
    const view = out.viewFor(buffer);
    out.srcPort = view.getUint16(p);
    out.dstPort = view.getUint16(p + 2);
    out.seq = view.getUint32(p + 4);
    out.ack = view.getUint32(p + 8);
    const headerLength = (buffer[p + 12]! >> 4) * 4;
    out.tcpFlags = buffer[p + 13]!;
    out.window = view.getUint16(p + 14);
    out.tcpHeaderLength = headerLength;
    if (headerLength < 20 || headerLength > length) {
      out.anomalies |= Anomaly.BAD_LENGTH;
      return;
    }
    if (end - p < headerLength) out.anomalies |= Anomaly.TRUNCATED;
    out.payloadOffset = p + headerLength;
    out.payloadLength = length - headerLength;
    out.capturedPayloadLength = Math.max(0, Math.min(end - out.payloadOffset, out.payloadLength));
  } else if (proto === IpProto.UDP) {
    out.l4Offset = p;
    if (end - p < 8) {
      out.anomalies |= Anomaly.TRUNCATED;
      if (end - p >= 4) {
        out.srcPort = (buffer[p]! << 8) | buffer[p + 1]!;
        out.dstPort = (buffer[p + 2]! << 8) | buffer[p + 3]!;
      }
      return;
    }
    out.srcPort = (buffer[p]! << 8) | buffer[p + 1]!;
    out.dstPort = (buffer[p + 2]! << 8) | buffer[p + 3]!;
    const udpLength = (buffer[p + 4]! << 8) | buffer[p + 5]!;
    out.udpLength = udpLength;
    if (udpLength < 8 || udpLength > length) out.anomalies |= Anomaly.BAD_LENGTH;
    // Like tshark, trust the IP length when the UDP length is impossible.
    const payloadLength = (udpLength >= 8 && udpLength <= length ? udpLength : length) - 8;
    out.payloadOffset = p + 8;
    out.payloadLength = payloadLength;
    out.capturedPayloadLength = Math.max(0, Math.min(end - out.payloadOffset, payloadLength));
  } else if (proto === IpProto.ICMP || proto === IpProto.ICMPV6) {
    out.l4Offset = p;
    if (end - p < 4) {
      out.anomalies |= Anomaly.TRUNCATED;
      return;
    }
    out.icmpType = buffer[p]!;
    out.icmpCode = buffer[p + 1]!;
    out.payloadOffset = p + 4;
    out.payloadLength = Math.max(0, length - 4);
    out.capturedPayloadLength = Math.max(0, Math.min(end - out.payloadOffset, out.payloadLength));
  } else {
    out.l4Offset = p;
    out.payloadOffset = p;
    out.payloadLength = length;
    out.capturedPayloadLength = Math.max(0, Math.min(end - p, length));
  }
}

function u32(buffer: Uint8Array, p: number): number {
  return ((buffer[p]! << 24) | (buffer[p + 1]! << 16) | (buffer[p + 2]! << 8) | buffer[p + 3]!) >>> 0;
}
