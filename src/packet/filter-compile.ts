import { Dissection, dissect } from "./dissect.ts";
import type { ArithNode, FilterDirection, FilterNode } from "./filter-ast.ts";
import { parseFilter } from "./filter-parser.ts";
import { PppProtocol } from "./layers/ppp.ts";
import { LinkType } from "./link-type.ts";
import { EtherType, IpProto } from "./protocol-numbers.ts";
import type { PacketRecord } from "./record.ts";

/**
 * A compiled capture filter. `matches` reads the reused `Dissection` of the packet (EtherType
 * after VLAN tags, network-header offset) and the packet bytes; it allocates nothing.
 *
 * Semantics follow libpcap's BPF code for the same expression, including its quirks: a load past
 * the captured bytes rejects the whole packet; `tcp[…]`/`udp[…]`/`icmp[…]` apply to IPv4 first
 * fragments only; `port` and `icmp6[…]` on IPv6 do not walk extension headers. On Ethernet and
 * Linux cooked captures the EtherType and network header are read at fixed offsets, as in
 * pcap-filter(7): a VLAN-tagged frame's EtherType is 0x8100, so `ip` does not match it; each
 * `vlan`, `mpls` and `pppoes` moves the offsets of everything after it in the expression (after
 * `pppoes`, `ip`/`ip6` test the PPP protocol field). Other link types use the dissector's
 * network offset.
 */
export interface PacketFilter {
  readonly expression: string;
  /** True when `record` (already dissected into `dissection`) passes the filter. */
  matches(record: PacketRecord, dissection: Dissection): boolean;
  /** Dissects into the filter's own reused Dissection, then matches. */
  matchesRecord(record: PacketRecord): boolean;
  /** The generated matcher body, for debugging. */
  readonly source: string;
}

/**
 * Compiles a pcap-filter(7) expression. Link-layer offsets follow libpcap's: Ethernet and Linux
 * cooked headers are read at their fixed offsets; PPP (LINKTYPE_PPP, PPP_HDLC) is read as libpcap
 * compiles it, with the protocol at offset 2 and the datagram at 4 (RFC 1662 framing, a two-byte
 * protocol field), so a frame without the framing or with a compressed protocol matches no network
 * protocol, as with tcpdump; 802.11 (plain, radiotap, PPI) is read at libpcap's offsets (`W11`);
 * other link types use the dissection's network layer.
 */
export function compileFilter(expression: string): PacketFilter {
  const tree = parseFilter(expression);
  const generator = new Generator();
  const body = generator.boolean(tree);
  const source = `${PRELUDE}
return function match(record, dissection) {
  B = record.buffer; S = record.offset; E = S + record.caplen; N = record.origlen; LT = record.linkType;
  const outer = dissection.tunnelDepth > 0;
  ET = outer ? dissection.outerEtherType : dissection.etherType; AB = 0;
  if (LT === ${LinkType.ETHERNET}) { ETO = S + 12; L3 = S + 14; VM = 1; }
  else if (LT === ${LinkType.LINUX_SLL}) { ETO = S + 14; L3 = S + 16; VM = 0; }
  else if (LT === ${LinkType.LINUX_SLL2}) { ETO = S; L3 = S + 20; VM = 0; }
  else if (LT === ${LinkType.PPP} || LT === ${LinkType.PPP_HDLC}) {
    ETO = -1; L3 = S + 4; VM = 0;
    // The PPP protocol field, as libpcap reads it (the dissector may have walked on, into MPLS).
    const PP = E - S < 4 ? -1 : (B[S + 2] << 8) | B[S + 3];
    ET = B[S] !== 0xff || B[S + 1] !== 0x03 ? 0 : PP === ${PPP_IPV4} ? ${ETHER_IPV4} : PP === ${PPP_IPV6} ? ${ETHER_IPV6} : 0;
  }
  else if (LT === ${LinkType.IEEE802_11} || LT === ${LinkType.IEEE802_11_RADIOTAP} || LT === ${LinkType.PPI}) W11();
  else { ETO = -1; L3 = outer ? dissection.outerL3Offset : dissection.l3Offset; VM = 0; }
  return ${body} && AB === 0;
};`;
  const match = new Function(source)() as (record: PacketRecord, dissection: Dissection) => boolean;
  const own = new Dissection();
  return {
    expression,
    source,
    matches: match,
    matchesRecord(record: PacketRecord): boolean {
      dissect(record.buffer, record.offset, record.caplen, record.origlen, record.linkType, own);
      return match(record, own);
    },
  };
}

/**
 * Per-filter state and helpers. Loads past the captured bytes set AB (abort), which makes the
 * packet fail like BPF's out-of-bounds return 0.
 */
const PRELUDE = `"use strict";
let B = new Uint8Array(0), S = 0, E = 0, N = 0, LT = 0, ET = 0, L3 = -1, ETO = -1, VM = 0, AB = 0, T = 0;
function L1(o) { if (o < 0 || o + 1 > E) { AB = 1; return 0; } return B[o]; }
function L2(o) { if (o < 0 || o + 2 > E) { AB = 1; return 0; } return (B[o] << 8) | B[o + 1]; }
function L4(o) {
  if (o < 0 || o + 4 > E) { AB = 1; return 0; }
  return ((B[o] << 24) | (B[o + 1] << 16) | (B[o + 2] << 8) | B[o + 3]) >>> 0;
}
function ETY(t, v) {
  if (ETO === NO_LINK) { AB = 1; return false; }
  return ETO < 0 ? ET === t : L2(ETO + VM * v) === t;
}
// ETO when the link header could not be read where libpcap reads it: a network test rejects the packet.
const NO_LINK = -3;
/*
 * 802.11 (plain, after radiotap, after PPI of DLT 105) as libpcap 1.10 compiles it: the frame
 * starts after the radiotap or PPI header (its little-endian length at byte 2); a data frame
 * (type 2) has its LLC/SNAP header 24 bytes in, 26 with QoS control (libpcap adds nothing for a
 * fourth address or HT control), that offset from the start of the packet rounded up to 4 when
 * radiotap's first bitmap (without extension) has Flags with the data-pad bit; the EtherType is read
 * 6 bytes into it, whatever the DSAP, SSAP, OUI, protected or fragment bits say.
 */
function W11() {
  ET = 0; VM = 0; L3 = -1; ETO = -1;
  let h = S;
  if (LT !== ${LinkType.IEEE802_11}) {
    if (S + 4 > E) { ETO = NO_LINK; return; }
    if (LT === ${LinkType.PPI} && (S + 8 > E || B[S + 4] !== 105 || B[S + 5] !== 0 || B[S + 6] !== 0 || B[S + 7] !== 0)) { ETO = NO_LINK; return; }
    h = S + (B[S + 2] | (B[S + 3] << 8));
  }
  if (h + 1 > E) { ETO = NO_LINK; return; }
  const fc = B[h];
  if ((fc & 0x0c) !== 0x08) return;
  let n = h - S + ((fc & 0x80) !== 0 ? 26 : 24);
  if (LT === ${LinkType.IEEE802_11_RADIOTAP}) {
    if (S + 8 > E) { ETO = NO_LINK; return; }
    if ((B[S + 4] & 2) !== 0 && (B[S + 7] & 0x80) === 0) {
      const at = S + ((B[S + 4] & 1) !== 0 ? 16 : 8);
      if (at + 1 > E) { ETO = NO_LINK; return; }
      if (B[at] & 0x20) n = (n + 3) & ~3;
    }
  }
  ETO = S + n + 6; L3 = S + n + 8;
}
function TH(n) { return n + ((L1(n) & 15) << 2); }
function DIV(a, b) { if (b === 0) { AB = 1; return 0; } return Math.floor(a / b); }
function MOD(a, b) { if (b === 0) { AB = 1; return 0; } return a % b; }
function SHL(a, b) { return b > 31 ? 0 : (a << b) >>> 0; }
function SHR(a, b) { return b > 31 ? 0 : a >>> b; }
function RANGE(x, low, high) { return x >= low && x <= high; }
function VLAN(v, id) {
  const t = L2(S + 12 + v);
  if (t !== 0x8100 && t !== 0x88a8 && t !== 0x9100) return false;
  return id < 0 || (L2(S + 14 + v) & 4095) === id;
}
function P6(n, p) { const x = L1(n + 6); return x === p || (x === 44 && L1(n + 40) === p); }
function CHAIN6(n, p) {
  let next = L1(n + 6), o = n + 40;
  for (let i = 0; i < 16 && AB === 0; i++) {
    if (next === p) return true;
    if (next === 0 || next === 60 || next === 43 || next === 44) { const h = L1(o); o += (L1(o + 1) + 1) * 8; next = h; }
    else if (next === 51) { const h = L1(o); o += (L1(o + 1) + 2) * 4; next = h; }
    else return false;
  }
  return false;
}
function CHAIN4(n, p) {
  let next = L1(n + 9), o = TH(n);
  for (let i = 0; i < 16 && AB === 0; i++) {
    if (next === p) return true;
    if (next !== 51) return false;
    const h = L1(o); o += (L1(o + 1) + 2) * 4; next = h;
  }
  return false;
}
`;

const ETHER_IPV4 = EtherType.IPV4;
const ETHER_IPV6 = EtherType.IPV6;
const PPP_IPV4 = PppProtocol.IPV4;
const PPP_IPV6 = PppProtocol.IPV6;
const ETHER_ARP = EtherType.ARP;
const ETHER_RARP = EtherType.RARP;
const LINK_ETHERNET = LinkType.ETHERNET;
const LINK_SLL = LinkType.LINUX_SLL;
const LINK_SLL2 = LinkType.LINUX_SLL2;

const TRANSPORT_PROTOCOLS: Readonly<Record<string, number>> = {
  tcp: IpProto.TCP,
  udp: IpProto.UDP,
  sctp: IpProto.SCTP,
  icmp: IpProto.ICMP,
  igmp: IpProto.IGMP,
  igrp: IpProto.IGRP,
  pim: IpProto.PIM,
  vrrp: IpProto.VRRP,
  carp: IpProto.VRRP,
};

function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

function directional(direction: FilterDirection, src: string, dst: string): string {
  switch (direction) {
    case "src":
      return src;
    case "dst":
      return dst;
    case "src-or-dst":
      return `(${src} || ${dst})`;
    case "src-and-dst":
      return `(${src} && ${dst})`;
  }
}

/**
 * Generates the matcher in parse order (left to right), so the offset changes of `vlan`, `mpls`
 * and `pppoes` apply to the rest of the expression as libpcap's code generator applies them.
 */
class Generator {
  /** Bytes of VLAN tags passed (Ethernet only: multiplied by VM at run time). */
  private vlanBytes = 0;
  /** Bytes past the link payload start passed by `pppoes` (8) and `mpls` (4 per label). */
  private extra = 0;
  /** After `pppoes`: offset of the PPP protocol field from the link payload, else -1. */
  private pppType = -1;
  private mplsLabels = 0;

  /** Offset expression `k` bytes past the current network header. */
  private net(k = 0): string {
    const parts = ["L3"];
    if (this.vlanBytes !== 0) parts.push(`VM * ${this.vlanBytes}`);
    if (this.extra + k !== 0) parts.push(String(this.extra + k));
    return parts.length === 1 ? "L3" : `(${parts.join(" + ")})`;
  }

  /** The network protocol test for an EtherType where the expression now stands. */
  private typeTest(etherType: number): string {
    if (this.mplsLabels > 0) {
      const nibble = etherType === ETHER_IPV4 ? 0x40 : etherType === ETHER_IPV6 ? 0x60 : -1;
      if (nibble < 0) return "false";
      return `((L1(${this.net(-2)}) & 1) === 1 && (L1(${this.net()}) & 0xf0) === ${hex(nibble)})`;
    }
    if (this.pppType >= 0) {
      const ppp = etherType === ETHER_IPV4 ? PppProtocol.IPV4 : etherType === ETHER_IPV6 ? PppProtocol.IPV6 : etherType;
      const at = this.vlanBytes === 0 ? `L3 + ${this.pppType}` : `L3 + VM * ${this.vlanBytes} + ${this.pppType}`;
      return `(L2(${at}) === ${hex(ppp)})`;
    }
    return `ETY(${hex(etherType)}, ${this.vlanBytes})`;
  }

  boolean(node: FilterNode): string {
    switch (node.kind) {
      case "and":
        return `(${this.boolean(node.left)} && ${this.boolean(node.right)})`;
      case "or":
        return `(${this.boolean(node.left)} || ${this.boolean(node.right)})`;
      case "not":
        return `!${this.boolean(node.operand)}`;
      case "const":
        return node.value ? "true" : "false";
      case "etherType":
      case "outerEtherType":
        return this.typeTest(node.value);
      case "ipProto":
        return node.family === 4
          ? `(${this.typeTest(ETHER_IPV4)} && L1(${this.net(9)}) === ${node.proto})`
          : `(${this.typeTest(ETHER_IPV6)} && P6(${this.net()}, ${node.proto}))`;
      case "protochain":
        return node.family === 4
          ? `(${this.typeTest(ETHER_IPV4)} && CHAIN4(${this.net()}, ${node.proto}))`
          : `(${this.typeTest(ETHER_IPV6)} && CHAIN6(${this.net()}, ${node.proto}))`;
      case "host4": {
        const [etherType, src, dst] =
          node.space === "ip"
            ? [ETHER_IPV4, 12, 16]
            : node.space === "arp"
              ? [ETHER_ARP, 14, 24]
              : [ETHER_RARP, 14, 24];
        const test = (offset: number) =>
          node.mask === 0xffffffff
            ? `L4(${this.net(offset)}) === ${hex(node.address)}`
            : `((L4(${this.net(offset)}) & ${hex(node.mask)}) >>> 0) === ${hex(node.address)}`;
        return `(${this.typeTest(etherType)} && ${directional(node.direction, test(src), test(dst))})`;
      }
      case "host6": {
        const test = (offset: number) => {
          const parts: string[] = [];
          for (let k = 0; k < 4; k++) {
            const mask = node.mask[k]!;
            if (mask === 0) continue;
            const load = `L4(${this.net(offset + 4 * k)})`;
            parts.push(
              mask === 0xffffffff
                ? `${load} === ${hex(node.words[k]!)}`
                : `((${load} & ${hex(mask)}) >>> 0) === ${hex(node.words[k]!)}`,
            );
          }
          return parts.length === 0 ? "true" : `(${parts.join(" && ")})`;
        };
        return `(${this.typeTest(ETHER_IPV6)} && ${directional(node.direction, test(8), test(24))})`;
      }
      case "etherHost": {
        const test = (offset: number) =>
          `(L4(S + ${offset + 2}) === ${hex(node.low)} && L2(S + ${offset}) === ${hex(node.high)})`;
        return `(LT === ${LINK_ETHERNET} && ${directional(node.direction, test(6), test(0))})`;
      }
      case "port": {
        const value = (load: string) =>
          node.low === node.high ? `${load} === ${node.low}` : `RANGE(${load}, ${node.low}, ${node.high})`;
        const protocolIn = (load: string) =>
          `((T = ${load}) === ${node.protocols.map((p) => String(p)).join(" || T === ")})`;
        const n = this.net();
        const ip6 = `(${this.typeTest(ETHER_IPV6)} && ${protocolIn(`L1(${this.net(6)})`)} && ${directional(
          node.direction,
          value(`L2(${this.net(40)})`),
          value(`L2(${this.net(42)})`),
        )})`;
        const ip4 = `(${this.typeTest(ETHER_IPV4)} && ${protocolIn(`L1(${this.net(9)})`)} && (L2(${this.net(6)}) & 0x1fff) === 0 && ${directional(
          node.direction,
          value(`L2(TH(${n}))`),
          value(`L2(TH(${n}) + 2)`),
        )})`;
        return `(${ip6} || ${ip4})`;
      }
      case "vlan": {
        const test = `(LT === ${LINK_ETHERNET} && VLAN(${this.vlanBytes}, ${node.id ?? -1}))`;
        this.vlanBytes += 4;
        return test;
      }
      case "pppoed":
        return this.typeTest(EtherType.PPPOE_DISCOVERY);
      case "pppoes": {
        const type = this.typeTest(EtherType.PPPOE_SESSION);
        const test =
          node.session === undefined ? type : `(${type} && (L4(${this.net()}) & 0xffff) === ${node.session})`;
        this.pppType = this.extra + 6;
        this.extra += 8;
        return test;
      }
      case "mpls": {
        const stack = this.mplsLabels === 0 ? this.typeTest(EtherType.MPLS) : `((L1(${this.net(-2)}) & 1) === 0)`;
        const label = node.label;
        const test =
          label === undefined
            ? stack
            : `(${stack} && ((L4(${this.net()}) & 0xfffff000) >>> 0) === ${hex(label * 4096)})`;
        this.extra += 4;
        this.mplsLabels++;
        return test;
      }
      case "compare": {
        const guards: string[] = [];
        const left = this.arith(node.left, guards);
        const right = this.arith(node.right, guards);
        const op = node.op === "==" ? "===" : node.op === "!=" ? "!==" : node.op;
        const relation = `(${left} ${op} ${right})`;
        return guards.length === 0 ? relation : `(${guards.join(" && ")} && ${relation})`;
      }
      case "linkBroadcast":
        return `(LT === ${LINK_ETHERNET} && L4(S + 2) === 0xffffffff && L2(S) === 0xffff)`;
      case "linkMulticast":
        return `(LT === ${LINK_ETHERNET} && (L1(S) & 1) !== 0)`;
      case "ipBroadcast":
        return `(${this.typeTest(ETHER_IPV4)} && ((T = L4(${this.net(16)})) === 0 || T === 0xffffffff))`;
      case "ipMulticast":
        return `(${this.typeTest(ETHER_IPV4)} && L1(${this.net(16)}) >= 224)`;
      case "ip6Multicast":
        return `(${this.typeTest(ETHER_IPV6)} && L1(${this.net(24)}) === 255)`;
      case "packetDirection": {
        const want = node.outbound ? "===" : "!==";
        return `(LT === ${LINK_SLL} ? L2(S) ${want} 4 : LT === ${LINK_SLL2} ? L1(S + 10) ${want} 4 : false)`;
      }
    }
  }

  /** Arithmetic as an unsigned 32-bit JS expression; each accessor adds its layer's guard. */
  arith(node: ArithNode, guards: string[]): string {
    switch (node.kind) {
      case "num":
        return String(node.value);
      case "len":
        return "N";
      case "negate":
        return `((0 - ${this.arith(node.operand, guards)}) >>> 0)`;
      case "binary": {
        const a = this.arith(node.left, guards);
        const b = this.arith(node.right, guards);
        switch (node.op) {
          case "+":
          case "-":
          case "&":
          case "|":
          case "^":
            return `((${a} ${node.op} ${b}) >>> 0)`;
          case "*":
            return `(Math.imul(${a}, ${b}) >>> 0)`;
          case "/":
            return `DIV(${a}, ${b})`;
          case "%":
            return `MOD(${a}, ${b})`;
          case "<<":
            return `SHL(${a}, ${b})`;
          case ">>":
            return `SHR(${a}, ${b})`;
        }
        break;
      }
      case "load": {
        const index = this.arith(node.index, guards);
        const { base, guard } = this.layer(node.layer);
        if (guard && !guards.includes(guard)) guards.push(guard);
        return `L${node.size}(${base} + ${index})`;
      }
    }
    throw new Error("unreachable");
  }

  private layer(layer: string): { base: string; guard: string | undefined } {
    const n = this.net();
    switch (layer) {
      case "link":
        // After `pppoes` libpcap's link header is the PPP header.
        return { base: this.pppType >= 0 ? this.net(this.pppType - this.extra) : "S", guard: undefined };
      case "ip":
        return { base: n, guard: this.typeTest(ETHER_IPV4) };
      case "ip6":
        return { base: n, guard: this.typeTest(ETHER_IPV6) };
      case "arp":
        return { base: n, guard: this.typeTest(ETHER_ARP) };
      case "rarp":
        return { base: n, guard: this.typeTest(ETHER_RARP) };
      case "icmp6":
        return {
          base: this.net(40),
          guard: `${this.typeTest(ETHER_IPV6)} && L1(${this.net(6)}) === ${IpProto.ICMPV6}`,
        };
      default: {
        const proto = TRANSPORT_PROTOCOLS[layer]!;
        return {
          base: `TH(${n})`,
          guard: `${this.typeTest(ETHER_IPV4)} && L1(${this.net(9)}) === ${proto} && (L2(${this.net(6)}) & 0x1fff) === 0`,
        };
      }
    }
  }
}
