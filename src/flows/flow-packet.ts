import {
  Anomaly,
  type Dissection,
  dissect,
  hasPlausibleUdpLength,
  IpProto,
  IpReassembler,
  type PacketRecord,
  TcpFlag,
} from "../packet/index.ts";
import { KEY_WORDS, keyHash, loadKey } from "./flow-key.ts";
import { hasSackOption, parseTcpOptions, TcpOptions } from "./tcp-options.ts";

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

const options = new TcpOptions();

/**
 * One reassembler per caller's Dissection (each engine or reader thread dissects into its own), so
 * IP fragments are reassembled before the transport layer as tshark does (ip.defragment on).
 */
const reassemblers = new WeakMap<Dissection, IpReassembler>();

function reassemblerFor(d: Dissection): IpReassembler {
  let r = reassemblers.get(d);
  if (r === undefined) {
    r = new IpReassembler();
    reassemblers.set(d, r);
  }
  return r;
}

/**
 * Fills `out` from a dissected packet. `trackTcp`/`trackUdp` say which transports make flows;
 * `filter` (if any) is evaluated for flow packets only. `index` is the packet number.
 * An IP fragment is handed to the reassembler: the fragment that completes a datagram stands for
 * the whole datagram (its transport header, payload length and flow; its own frame length and
 * time, as in tshark's conversations), the others count as non-flow packets.
 */
export function extractFlowPacket(
  record: PacketRecord,
  d: Dissection,
  index: number,
  trackTcp: boolean,
  trackUdp: boolean,
  filter: PacketPredicate | undefined,
  out: FlowPacket,
): void {
  out.index = index;
  out.tsSec = record.tsSec;
  out.tsNsec = record.tsNsec;
  out.wireLength = record.origlen;
  out.anomalies = d.anomalies;
  // A first IPv4 fragment cut by the snaplen is taken as it stands (see IpReassembler.capturedWhole).
  if ((d.moreFragments || d.fragmentOffset > 0) && !IpReassembler.readAsItStands(d)) {
    const captured = IpReassembler.capturedWhole(d);
    const whole = captured && IpReassembler.isFragment(d) ? reassembleInto(record, d) : null;
    if (whole === null) {
      // A transport header cut by the fragment's end (not by the capture) is not a truncation.
      if (captured) out.anomalies &= ~Anomaly.TRUNCATED;
      out.kind = PacketKind.OTHER;
      out.flow = false;
      out.filteredOut = false;
      return;
    }
    record = whole;
    out.anomalies = d.anomalies;
  }
  const proto = d.ipProto;
  const usable = d.payloadOffset >= 0 && d.fragmentOffset === 0;
  let kind: number = PacketKind.OTHER;
  if (proto === IpProto.TCP) {
    if (usable && d.end - d.l4Offset >= 20) kind = PacketKind.TCP;
  } else if (proto === IpProto.UDP && usable && hasPlausibleUdpLength(d)) kind = PacketKind.UDP;
  out.kind = kind;
  const flow = (kind === PacketKind.TCP && trackTcp) || (kind === PacketKind.UDP && trackUdp);
  out.flow = flow;
  out.filteredOut = false;
  if (!flow) return;
  loadKey(d, out.key);
  out.hash = keyHash(out.key);
  out.filteredOut = filter !== undefined && !filter.matches(record, d);
  out.ttl = d.ttl;
  out.ipId = d.ipId;
  out.payloadLength = d.payloadLength;
  if (kind !== PacketKind.TCP) return;
  const flags = d.tcpFlags;
  out.tcpFlags = flags;
  out.seq = d.seq;
  out.ack = d.ack;
  out.window = d.window;
  // Full option parse on SYNs only; later segments matter only for SACK blocks.
  const hasOptions = d.tcpHeaderLength > 20;
  if ((flags & TcpFlag.SYN) !== 0) {
    if (hasOptions) parseTcpOptions(record.buffer, d.l4Offset, d.tcpHeaderLength, d.end, options);
    else options.reset();
    out.sack = options.sackBlocks > 0;
    out.mss = options.mss;
    out.windowScale = options.windowScale;
    out.timestamps = options.timestamps;
    out.sackPermitted = options.sackPermitted;
  } else {
    out.sack = hasOptions && hasSackOption(record.buffer, d.l4Offset, d.tcpHeaderLength, d.end);
  }
}

/** Pushes the fragment; when it completes a datagram, dissects the datagram into `d` and returns it. */
function reassembleInto(record: PacketRecord, d: Dissection): PacketRecord | null {
  const reassembler = reassemblerFor(d);
  if (!reassembler.push(record, d)) return null;
  const whole = reassembler.output;
  dissect(whole.buffer, whole.offset, whole.caplen, whole.origlen, whole.linkType, d);
  return whole;
}
