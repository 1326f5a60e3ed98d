import type { DecodeWalker } from "../layer-def.ts";

/*
 * What the UDP tunnels (vxlan.ts, geneve.ts, gtp-u.ts: layers with `udpPorts`) do alike once their
 * header is pushed: the slow walker hands them the UDP payload (packet.ts, `app`) and they hand
 * the packet inside to the walker by EtherType. The UDP header sits right before the tunnel
 * header (`p`, the UDP payload's offset), never quoted in an ICMP error.
 */

/** Bytes of the UDP header in front of a tunnel header. */
export const UDP_HEADER_BYTES = 8;

/**
 * False when the UDP header in front of `p` gives a length under its own 8 bytes (a datagram
 * sent before segmentation offload, or malformed): tshark does not dissect the payload of such a
 * datagram, so the slow walker (packet.ts, `app`) does not hand it to the tunnel; the fast path
 * (`dissectTunnelled`) tests the dissection's `udpLength` alike. Allocates nothing.
 */
export function tunnelDatagramLengthOk(bytes: Uint8Array, p: number): boolean {
  return p >= UDP_HEADER_BYTES && ((bytes[p - 4]! << 8) | bytes[p - 3]!) >= UDP_HEADER_BYTES;
}

/**
 * The end of the UDP datagram whose payload starts at `p`, by its length field (which may point
 * past the captured bytes); call after `tunnelDatagramLengthOk`.
 */
export function tunnelDatagramEnd(bytes: Uint8Array, p: number): number {
  return p - UDP_HEADER_BYTES + ((bytes[p - 4]! << 8) | bytes[p - 3]!);
}

/**
 * The packet a UDP tunnel header names by `etherType` at `inner`, up to the datagram's `end`:
 * decoded through the walker (an Ethernet frame keeps its own padding), bytes after the network
 * packet a flagged trailer, as after GRE; `etherType` 0 (a payload qoelab does not decode, or
 * none) leaves the bytes Raw. Returns `end`.
 */
export function decodeTunnelled(w: DecodeWalker, etherType: number, inner: number, end: number, depth: number): number {
  if (etherType === 0) {
    w.raw(inner, end, false);
    return end;
  }
  w.trailer(w.ether(etherType, inner, end, depth + 1), end, false);
  return end;
}
