import type { Packet } from "../packet/index.ts";

/**
 * When a packet was captured (Scapy's pkt.time), for packets that came from the wire (sniff) or a
 * file (rdpcap), so wrpcap writes them at their own instants. Kept beside the packet rather than in
 * it: a built packet has no such time, and a Packet stays what the builder and decoder make.
 */
const times = new WeakMap<Packet, { sec: number; nsec: number }>();

export function setPacketTime(packet: Packet, sec: number, nsec: number): void {
  times.set(packet, { sec, nsec });
}

/** Seconds and nanoseconds since the epoch, or undefined for a packet built in code. */
export function packetTime(packet: Packet): { sec: number; nsec: number } | undefined {
  return times.get(packet);
}
