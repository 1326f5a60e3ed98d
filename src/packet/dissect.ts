import { Anomaly, type Dissection, MAX_DEPTH } from "./dissection.ts";
import type { LayerType } from "./layer.ts";
import type { FastNext, LayerDef } from "./layer-def.ts";
import { UDP_HEADER_BYTES } from "./layers/udp-tunnel.ts";
import { IpProto } from "./protocol-numbers.ts";
import {
  fastEther,
  fastIp,
  fastIpCarrier,
  fastLink,
  fastOtherTransport,
  fastPpp,
  fastUdpTunnel,
  headerlessLinkEtherType,
} from "./registry.ts";

export { Anomaly, Dissection, MAX_DEPTH } from "./dissection.ts";

/**
 * Fast path decoder: walks link → network → transport headers of one packet and fills a reused
 * `Dissection` with offsets and the fields that flows, filters and RTP analysis need. Each header
 * is read by its layer's `fast` function (layers/*.ts), found in the registry's tables by the
 * number the enclosing header carries (LINKTYPE, EtherType, PPP protocol, IP protocol). It reads
 * the bytes directly (no objects, no strings), so a loop over millions of packets allocates
 * nothing. Malformed input never throws: it sets `anomalies` bits and stops.
 */
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
  const link = fastLink(linkType);
  if (link !== undefined) {
    p = link.fast!(buffer, p, end, out);
    if (p < 0) return;
  } else {
    const etherType = headerlessLinkEtherType(linkType, p < end ? buffer[p]! : -1);
    if (etherType === undefined) {
      out.anomalies |= Anomaly.UNKNOWN_LINK;
      return;
    }
    if (etherType < 0) {
      out.anomalies |= Anomaly.TRUNCATED;
      return;
    }
    out.etherType = etherType;
  }
  walkNetwork(buffer, p, end, link !== undefined && link.fastNext === "ppp", out);
}

/**
 * Network layers (VLAN tags, PPPoE, MPLS…) from `p`, keyed by `out.etherType` (or by PPP protocol
 * when `ppp`), until an IP layer hands over to its payload. A header carried in IP (IP in IP, GRE,
 * AH) is read in turn, over the enclosing packet's bytes only, and the walk goes on to the packet
 * inside: flows and RTP analysis see the innermost transport, as tshark's conversations do;
 * `outerEtherType`/`outerL3Offset` keep the outermost network header for capture filters, which
 * test that one, as tcpdump's do.
 */
function walkNetwork(buffer: Uint8Array, p: number, end: number, ppp: boolean, out: Dissection): void {
  let networkEnd = end;
  for (;;) {
    for (;;) {
      const key = out.etherType;
      const layer: LayerDef<LayerType> | undefined = ppp ? fastPpp(key) : fastEther(key);
      if (layer === undefined) {
        if (ppp) out.etherType = 0;
        if (key !== 0) out.l3Offset = p;
        return;
      }
      p = layer.fast!(buffer, p, networkEnd, out);
      if (p < 0) return;
      const next: FastNext | undefined = layer.fastNext;
      if (next === "ip") break;
      ppp = next === "ppp";
    }
    for (;;) {
      const transport = fastIp(out.ipProto);
      if (transport !== undefined) {
        transport.fast!(buffer, p, out.l4End, out);
        return;
      }
      const carrier = fastIpCarrier(out.ipProto);
      // A fragment's payload is read once reassembled (flows re-dissect the datagram).
      if (carrier === undefined || out.moreFragments || out.fragmentOffset > 0) {
        fastOtherTransport(p, out.l4End, out);
        return;
      }
      if (out.tunnelDepth === 0) {
        out.outerEtherType = out.etherType;
        out.outerL3Offset = out.l3Offset;
      }
      if (++out.tunnelDepth > MAX_DEPTH) {
        out.anomalies |= Anomaly.TOO_DEEP;
        return;
      }
      networkEnd = out.l4End;
      p = carrier.fast!(buffer, p, networkEnd, out);
      if (p < 0) return;
      if (carrier.fastNext !== "ip") {
        ppp = carrier.fastNext === "ppp";
        break;
      }
    }
  }
}

/**
 * The packet inside a UDP tunnel (VXLAN, Geneve, GTP-U: a layer with `udpPorts`) that `outer`, a
 * dissection ending at UDP, carries: reads the tunnel header and walks on from it into `inner`,
 * as `dissect` does from a link layer. False (and `inner` untouched) when the datagram is not a
 * tunnel's, is a fragment or has no payload; a malformed tunnel header still returns true, with
 * its anomaly bits in `inner`, and so does a datagram whose UDP length is under 8 (nothing read
 * inside it).
 */
export function dissectTunnelled(buffer: Uint8Array, outer: Dissection, inner: Dissection): boolean {
  if (outer.ipProto !== IpProto.UDP || outer.payloadOffset < 0 || outer.moreFragments || outer.fragmentOffset > 0)
    return false;
  const tunnel = fastUdpTunnel(outer.srcPort, outer.dstPort);
  if (tunnel === undefined) return false;
  inner.resetForDissect();
  inner.linkType = outer.linkType;
  inner.linkOffset = outer.linkOffset;
  inner.wireLength = outer.wireLength;
  const end = Math.min(outer.end, outer.payloadOffset + outer.payloadLength);
  inner.end = end;
  inner.tunnelDepth = outer.tunnelDepth + 1;
  inner.outerEtherType = outer.tunnelDepth === 0 ? outer.etherType : outer.outerEtherType;
  inner.outerL3Offset = outer.tunnelDepth === 0 ? outer.l3Offset : outer.outerL3Offset;
  // A datagram whose UDP length is under its own header's is not read as a tunnel (as tshark).
  if (outer.udpLength < UDP_HEADER_BYTES) return true;
  const p = tunnel.fast!(buffer, outer.payloadOffset, end, inner);
  if (p >= 0) walkNetwork(buffer, p, end, tunnel.fastNext === "ppp", inner);
  return true;
}
