import type { AnyLayer, Packet } from "../packet/index.ts";

/*
 * Which received packet answers which sent one (Scapy's `answers`): an ICMP/ICMPv6 echo reply with
 * the request's id and sequence from the address it was sent to; TCP or UDP with the ports and
 * addresses swapped; an ICMP error (unreachable, time exceeded, …) whose quoted packet is the sent
 * one (same addresses, protocol, ports or echo id/seq), from anyone on the path.
 */

const ICMP4_ERRORS = new Set([3, 4, 5, 11, 12]);
const ICMP6_ERRORS = new Set([1, 2, 3, 4]);

interface Ends {
  src: string;
  dst: string;
  proto: string;
  sport?: number;
  dport?: number;
  id?: number;
  seq?: number;
  icmpType?: number;
}

/** The IP and transport of `layers` (outer, or the quoted ones of an ICMP error). */
function ends(layers: readonly AnyLayer[], quoted: boolean): Ends | undefined {
  const own = layers.filter((l) => (l.quoted ?? false) === quoted);
  const ip = own.find((l) => l.type === "IPv4" || l.type === "IPv6");
  if (!ip) return undefined;
  const f = ip.fields as { src: string; dst: string };
  const at = own.indexOf(ip);
  const next = own[at + 1];
  const out: Ends = { src: f.src, dst: f.dst, proto: next?.type ?? "none" };
  if (next && (next.type === "UDP" || next.type === "TCP")) {
    const t = next.fields as { sport: number; dport: number };
    out.sport = t.sport;
    out.dport = t.dport;
  } else if (next && (next.type === "ICMP" || next.type === "ICMPv6")) {
    const t = next.fields as { type: number; id?: number; seq?: number };
    out.icmpType = t.type;
    if (t.id !== undefined) out.id = t.id;
    if (t.seq !== undefined) out.seq = t.seq;
  }
  return out;
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/** True when `reply` answers `sent` (both resolved: every field explicit). */
export function answers(sent: Packet, reply: Packet): boolean {
  const s = ends(sent.layers, false);
  const r = ends(reply.layers, false);
  if (!s || !r) return false;
  // An ICMP error quoting the sent packet, from any router on the way.
  if (
    (r.proto === "ICMP" && ICMP4_ERRORS.has(r.icmpType ?? -1)) ||
    (r.proto === "ICMPv6" && ICMP6_ERRORS.has(r.icmpType ?? -1))
  ) {
    const q = ends(reply.layers, true);
    if (!q || !sameAddress(q.src, s.src) || !sameAddress(q.dst, s.dst) || q.proto !== s.proto) return false;
    if (s.sport !== undefined) return q.sport === s.sport && q.dport === s.dport;
    if (s.id !== undefined) return q.id === s.id && q.seq === s.seq;
    return true;
  }
  if (!sameAddress(r.src, s.dst) || !sameAddress(r.dst, s.src) || r.proto !== s.proto) return false;
  if (s.proto === "ICMP" || s.proto === "ICMPv6") {
    const request = s.proto === "ICMP" ? 8 : 128;
    const replyType = s.proto === "ICMP" ? 0 : 129;
    if (s.icmpType === request) return r.icmpType === replyType && r.id === s.id && r.seq === s.seq;
    // Timestamp (13 → 14) and information (15 → 16) requests.
    return s.proto === "ICMP" && r.icmpType === (s.icmpType ?? -2) + 1 && r.id === s.id && r.seq === s.seq;
  }
  if (s.sport !== undefined) return r.sport === s.dport && r.dport === s.sport;
  return true;
}
