import type { FlowPacket } from "./flow-packet.ts";
import { RunningStats } from "./running-stats.ts";

/** Per-direction UDP statistics (tstat log_udp_complete plus size and inter-arrival moments). Times in ns. */
export class UdpHalf {
  packets = 0;
  /** Frame bytes on the wire. */
  wireBytes = 0;
  /** UDP payload bytes. */
  payloadBytes = 0;
  firstTime = -1;
  lastTime = -1;
  ttlMin = -1;
  ttlMax = -1;
  /** Payload sizes (B). */
  readonly size = new RunningStats();
  /** Inter-arrival times between consecutive packets of this direction (ns). */
  readonly interArrival = new RunningStats();
}

export function udpPacket(h: UdpHalf, d: FlowPacket, t: number): void {
  h.packets++;
  h.wireBytes += d.wireLength;
  h.payloadBytes += d.payloadLength;
  if (h.firstTime < 0) h.firstTime = t;
  else h.interArrival.add(t - h.lastTime);
  h.lastTime = t;
  const ttl = d.ttl;
  if (h.ttlMin < 0 || ttl < h.ttlMin) h.ttlMin = ttl;
  if (ttl > h.ttlMax) h.ttlMax = ttl;
  h.size.add(d.payloadLength);
}
