import { anomaly } from "../anomaly.ts";
import type { PseudoHeader } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { type DecodedHeader, type DecodeWalker, type LayerDef, pushHeader } from "../layer-def.ts";

/*
 * What IPv4 and IPv6 do alike. Fast path: the checks that open the header read and the
 * wire-length check. Slow path: the walk past the header to what it carries, with the
 * pseudo-header and length a transport checks its checksum with; each version says what it found
 * in its header (`IpPayload`), the walk is one.
 */

/**
 * Opens the fast read of an IP header at `p` that came by `etherType`: records where it is;
 * false (anomaly bits set) when fewer than `size` bytes were captured or the version nibble is
 * not `version`. Allocation-free, like the reads that call it.
 */
export function fastIpHeaderStart(
  buffer: Uint8Array,
  p: number,
  end: number,
  out: Dissection,
  etherType: number,
  size: number,
  version: number,
): boolean {
  out.l3Offset = p;
  out.etherType = etherType;
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    if (end - p >= 1) out.ipVersion = buffer[p]! >> 4;
    return false;
  }
  if (buffer[p]! >> 4 !== version) {
    out.anomalies |= Anomaly.BAD_VERSION;
    return false;
  }
  out.ipVersion = version;
  return true;
}

/** Flags (fast path) an IP packet at `p` whose header claims more bytes (`total`) than the frame had on the wire. */
export function fastCheckWireLength(p: number, total: number, out: Dissection): void {
  if (total > out.wireLength - (p - out.linkOffset)) out.anomalies |= Anomaly.LENGTH_EXCEEDS_WIRE;
}

/** What the slow walk needs of a decoded IP header to go on past it. */
export interface IpPayload {
  /** Bytes of the packet per its header, or -1 when that length is impossible (the capture bounds the packet). */
  total: number;
  /** The "bad-length" message when `total` exceeds the `onWire` bytes the frame had. */
  tooLong: (onWire: number) => string;
  /** Protocol of the upper layer, or -1 when it is not decoded (another version, a later fragment…). */
  protocol: number;
  /** The addresses the upper layer's checksum covers (read only when it is decoded). */
  pseudo: () => PseudoHeader;
  /** True when the packet is a fragment: its transport checksum cannot be verified. */
  fragment: boolean;
}

/**
 * Pushes the decoded IP header at `offset` (as `pushHeader`: Raw naming it when incomplete) and
 * decodes its payload (`quoted`: inside an ICMP error). Returns where the packet ends.
 */
export function walkIpPacket(
  w: DecodeWalker,
  type: "IPv4" | "IPv6",
  d: DecodedHeader,
  offset: number,
  end: number,
  quoted: boolean,
  payload: IpPayload,
  extra?: string,
): number {
  const onWire = w.wireLength - offset;
  if (d.complete && !quoted && payload.total > onWire) d.anomalies.push(anomaly("bad-length", payload.tooLong(onWire)));
  if (!pushHeader(w, type, d, offset, end, quoted, extra)) return end;
  const packetEnd = payload.total >= 0 ? Math.min(end, offset + payload.total) : end;
  const upper = offset + d.headerLength;
  if (payload.protocol < 0) {
    w.raw(upper, packetEnd, quoted);
  } else {
    const length = Math.max(0, payload.total - d.headerLength);
    w.ip(payload.protocol, upper, packetEnd, { pseudo: payload.pseudo(), length, fragment: payload.fragment, quoted });
  }
  return packetEnd;
}

/**
 * The source address (`size` bytes at `sourceAt`) and the destination after it, read in place;
 * `routedDestination` replaces the destination when source routing names another final one.
 */
export function ipPseudoHeader(
  bytes: Uint8Array,
  sourceAt: number,
  size: 4 | 16,
  routedDestination: Uint8Array | undefined,
): PseudoHeader {
  const destinationAt = sourceAt + size;
  return {
    src: bytes.subarray(sourceAt, destinationAt),
    dst: routedDestination ?? bytes.subarray(destinationAt, destinationAt + size),
  };
}

/** How the slow walk reaches an IP packet: announced by an EtherType or PPP protocol, or tunnelled in IP. */
export function ipPacketDecoders(
  decode: (w: DecodeWalker, offset: number, end: number, quoted: boolean) => number,
): Required<Pick<LayerDef<"IPv4">, "decodeNetwork" | "decodeTransport">> {
  return {
    decodeNetwork: (w, offset, end) => decode(w, offset, end, false),
    decodeTransport(w, offset, end, context) {
      const quoted = context.quoted === true;
      const packetEnd = decode(w, offset, end, quoted);
      // Bytes after the tunnelled packet, inside the enclosing one: kept (flagged) so it re-encodes.
      if (quoted) w.raw(packetEnd, end, true);
      else w.trailer(packetEnd, end, false);
    },
  };
}
