import {
  Dissection,
  dissectReassembled,
  dissectTunnelled,
  IpProto,
  IpReassembler,
  type PacketRecord,
} from "../packet/index.ts";

/** UDP tunnels inside UDP tunnels followed at most (VXLAN in VXLAN…). */
const MAX_TUNNELS = 4;

/**
 * The UDP datagrams (and TCP segments, for SIP over TCP) of a capture as voip's readers (RTP
 * streams, RTP extraction, SIP calls) take them: IP fragments reassembled first, as tshark does (a SIP INVITE with a large SDP is often
 * fragmented). A UDP tunnel's datagram (VXLAN, Geneve, GTP-U: a VoLTE call's media travels in
 * GTP-U) stands for the packet inside, as tshark reads it (an IP fragment inside is not
 * reassembled). Reuses one dissection and reassembler for every packet.
 */
export class UdpDatagrams {
  /** The last datagram's dissection (addresses, ports, payload offset and captured length). */
  readonly d = new Dissection();
  private readonly reassembler = new IpReassembler();
  private readonly inner = new Dissection();

  /**
   * The bytes holding the UDP payload of `record` (at `d.payloadOffset`, `d.capturedPayloadLength`
   * long), from the reassembled packet when `record` completes one; null when `record` is not a
   * UDP datagram with a payload (or a fragment still waiting for the rest).
   */
  read(record: PacketRecord): Uint8Array | null {
    const bytes = this.readTransport(record);
    return bytes !== null && this.d.ipProto === IpProto.UDP ? bytes : null;
  }

  /** As `read` for any transport with a payload (UDP, TCP, …): check `d.ipProto`. */
  readTransport(record: PacketRecord): Uint8Array | null {
    const whole = dissectReassembled(record, this.d, this.reassembler);
    if (whole === null || this.d.payloadOffset < 0) return null;
    for (let depth = 0; depth < MAX_TUNNELS && dissectTunnelled(whole.buffer, this.d, this.inner); depth++) {
      const inner = this.inner;
      if (inner.payloadOffset < 0 || inner.moreFragments || inner.fragmentOffset > 0) return null;
      this.d.copyFrom(inner);
    }
    return whole.buffer;
  }
}
