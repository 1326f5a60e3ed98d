import {
  Anomaly,
  type Dissection,
  dissect,
  dissectTunnelled,
  hasPlausibleUdpLength,
  IpProto,
  IpReassembler,
  type PacketRecord,
  TcpFlag,
} from "../packet/index.ts";
import { keyHash, loadKey } from "./flow-key.ts";
import { type FlowPacket, PacketKind, type PacketPredicate } from "./flow-packet.ts";
import { hasSackOption, parseTcpOptions, TcpOptions } from "./tcp-options.ts";

/** Reused by every SYN's option parse. */
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
 * time, as in tshark's conversations), the others count as non-flow packets. Returns the record
 * the flow packet stands for (the reassembled datagram after a last fragment).
 */
export function extractFlowPacket(
  record: PacketRecord,
  d: Dissection,
  index: number,
  trackTcp: boolean,
  trackUdp: boolean,
  filter: PacketPredicate | undefined,
  out: FlowPacket,
): PacketRecord {
  out.index = index;
  out.inner = false;
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
      return record;
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
  if (!flow) return record;
  loadKey(d, out.key);
  out.hash = keyHash(out.key);
  out.filteredOut = filter !== undefined && !filter.matches(record, d);
  out.ttl = d.ttl;
  out.ipId = d.ipId;
  out.payloadLength = d.payloadLength;
  if (kind !== PacketKind.TCP) return record;
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
  return record;
}

/**
 * The flow packet inside a UDP tunnel (VXLAN, Geneve, GTP-U) that `record`, dissected into
 * `outer`, carries, as tshark's conversations count a tunnelled frame in its inner conversation
 * too: dissects the inner packet into `inner` and fills `out` (marked `inner`; the capture filter
 * is evaluated on the frame, the outer headers). False when there is no inner flow packet: not a
 * tunnel, nothing read inside it (a UDP length under 8, as tshark), or an IP fragment inside it
 * (not reassembled).
 */
export function extractInnerFlowPacket(
  record: PacketRecord,
  outer: Dissection,
  inner: Dissection,
  index: number,
  trackTcp: boolean,
  trackUdp: boolean,
  filter: PacketPredicate | undefined,
  out: FlowPacket,
): boolean {
  if (!dissectTunnelled(record.buffer, outer, inner)) return false;
  if (inner.moreFragments || inner.fragmentOffset > 0) return false;
  extractFlowPacket(record, inner, index, trackTcp, trackUdp, undefined, out);
  if (!out.flow) return false;
  out.inner = true;
  out.filteredOut = filter !== undefined && !filter.matches(record, outer);
  return true;
}

/** Pushes the fragment; when it completes a datagram, dissects the datagram into `d` and returns it. */
function reassembleInto(record: PacketRecord, d: Dissection): PacketRecord | null {
  const reassembler = reassemblerFor(d);
  if (!reassembler.push(record, d)) return null;
  const whole = reassembler.output;
  dissect(whole.buffer, whole.offset, whole.caplen, whole.origlen, whole.linkType, d);
  return whole;
}
