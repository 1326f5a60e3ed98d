import type { Dissection, PacketRecord } from "../packet/index.ts";
import { KEY_WORDS } from "./flow-key.ts";

/**
 * What the flow engine uses of one packet, extracted once from the dissection: the counting
 * fields, the flow key and hash, and the TCP/UDP header fields with the TCP options already
 * parsed. It is the unit the single-threaded engine processes and what the parallel path's
 * reader hands to shard workers (as 32-bit words, see `packet-ring.ts`), so both run the same code
 * on the same values.
 */

/** How `countPacket` classes a packet (tshark-style: a usable transport header or not). */
export const PacketKind = {
  OTHER: 0,
  /** TCP with its fixed 20-byte header captured and a sane data offset, not a later fragment. */
  TCP: 1,
  /** UDP with its header captured, not a later fragment. */
  UDP: 2,
} as const;

export class FlowPacket {
  /** Packet number in the input (0-based). */
  index = 0;
  tsSec = 0;
  tsNsec = 0;
  /** Frame bytes on the wire. */
  wireLength = 0;
  /** Dissector anomaly bits. */
  anomalies = 0;
  /** PacketKind. */
  kind = 0;
  /** True when the packet belongs to a tracked flow (kind TCP/UDP and that protocol is tracked). */
  flow = false;
  /** The capture filter rejected it (flow packets only). */
  filteredOut = false;
  /**
   * A packet of the flow inside a UDP tunnel (`tunnels: "both"`): its frame already counted as
   * the tunnel's own UDP packet, so capture totals and the capture series' frames and bytes skip it.
   */
  inner = false;
  /** Flow key, sender as side A (see flow-key.ts); valid for flow packets. */
  readonly key = new Uint32Array(KEY_WORDS);
  hash = 0;
  ttl = 0;
  ipId = 0;
  tcpFlags = 0;
  seq = 0;
  ack = 0;
  /** Raw advertised window. */
  window = 0;
  /** Transport payload bytes on the wire. */
  payloadLength = 0;
  /** The TCP segment carries SACK blocks (tstat c_sack_cnt). */
  sack = false;
  /** SYN options (valid on SYN segments): declared MSS and window shift (-1 when absent). */
  mss = -1;
  windowScale = -1;
  timestamps = false;
  sackPermitted = false;
}

/** Anything with `matches(record, dissection)`, e.g. `compileFilter(expr)` from the packet library. */
export interface PacketPredicate {
  matches(record: PacketRecord, dissection: Dissection): boolean;
}
