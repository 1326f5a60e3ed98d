import { Dissection, dissect } from "./dissect.ts";
import type { ArithNode, FilterDirection, FilterNode } from "./filter-ast.ts";
import { parseFilter } from "./filter-parser.ts";
import type { PacketRecord } from "./record.ts";

/**
 * A compiled capture filter. `matches` reads the reused `Dissection` of the packet (EtherType
 * after VLAN tags, network-header offset) and the packet bytes; it allocates nothing.
 *
 * Semantics follow libpcap's BPF code for the same expression, including its quirks: a load past
 * the captured bytes rejects the whole packet; `tcp[…]`/`udp[…]`/`icmp[…]` apply to IPv4 first
 * fragments only; `port` and `icmp6[…]` on IPv6 do not walk extension headers. Deliberate
 * difference: VLAN tags are already skipped by the dissector, so `ip`, `host …`, `port …` also
 * match tagged frames, and `vlan [id]` only tests the tag (the k-th `vlan` keyword tests the k-th tag).
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

export function compileFilter(expression: string): PacketFilter {
  const tree = parseFilter(expression);
  const generator = new Generator();
  const body = generator.boolean(tree);
  const source = `${PRELUDE}
return function match(record, dissection) {
  B = record.buffer; S = record.offset; E = S + record.caplen; N = record.origlen; LT = record.linkType;
  ET = dissection.etherType; L3 = dissection.l3Offset; AB = 0;
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
let B = new Uint8Array(0), S = 0, E = 0, N = 0, LT = 0, ET = 0, L3 = -1, AB = 0, T = 0;
function L1(o) { if (o < 0 || o + 1 > E) { AB = 1; return 0; } return B[o]; }
function L2(o) { if (o < 0 || o + 2 > E) { AB = 1; return 0; } return (B[o] << 8) | B[o + 1]; }
function L4(o) {
  if (o < 0 || o + 4 > E) { AB = 1; return 0; }
  return ((B[o] << 24) | (B[o + 1] << 16) | (B[o + 2] << 8) | B[o + 3]) >>> 0;
}
function TH() { return L3 + ((L1(L3) & 15) << 2); }
function DIV(a, b) { if (b === 0) { AB = 1; return 0; } return Math.floor(a / b); }
function MOD(a, b) { if (b === 0) { AB = 1; return 0; } return a % b; }
function SHL(a, b) { return b > 31 ? 0 : (a << b) >>> 0; }
function SHR(a, b) { return b > 31 ? 0 : a >>> b; }
function RANGE(x, low, high) { return x >= low && x <= high; }
function VLAN(k, id) {
  const t = L2(S + 12 + 4 * k);
  if (t !== 0x8100 && t !== 0x88a8 && t !== 0x9100) return false;
  return id < 0 || (L2(S + 14 + 4 * k) & 4095) === id;
}
function P6(p) { const x = L1(L3 + 6); return x === p || (x === 44 && L1(L3 + 40) === p); }
function CHAIN6(p) {
  let next = L1(L3 + 6), o = L3 + 40;
  for (let i = 0; i < 16 && AB === 0; i++) {
    if (next === p) return true;
    if (next === 0 || next === 60 || next === 43 || next === 44) { const h = L1(o); o += (L1(o + 1) + 1) * 8; next = h; }
    else if (next === 51) { const h = L1(o); o += (L1(o + 1) + 2) * 4; next = h; }
    else return false;
  }
  return false;
}
function CHAIN4(p) {
  let next = L1(L3 + 9), o = TH();
  for (let i = 0; i < 16 && AB === 0; i++) {
    if (next === p) return true;
    if (next !== 51) return false;
    const h = L1(o); o += (L1(o + 1) + 2) * 4; next = h;
  }
  return false;
}
`;

const ETHER_IPV4 = 0x0800;
const ETHER_IPV6 = 0x86dd;
const ETHER_ARP = 0x0806;
const ETHER_RARP = 0x8035;
const LINK_ETHERNET = 1;
const LINK_SLL = 113;
const LINK_SLL2 = 276;

const TRANSPORT_PROTOCOLS: Readonly<Record<string, number>> = {
  tcp: 6,
  udp: 17,
  sctp: 132,
  icmp: 1,
  igmp: 2,
  igrp: 9,
  pim: 103,
  vrrp: 112,
  carp: 112,
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

class Generator {
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
        return `(ET === ${hex(node.value)})`;
      case "outerEtherType":
        return `(LT === ${LINK_ETHERNET} ? L2(S + 12) === ${hex(node.value)} : ET === ${hex(node.value)})`;
      case "ipProto":
        return node.family === 4
          ? `(ET === ${hex(ETHER_IPV4)} && L1(L3 + 9) === ${node.proto})`
          : `(ET === ${hex(ETHER_IPV6)} && P6(${node.proto}))`;
      case "protochain":
        return node.family === 4
          ? `(ET === ${hex(ETHER_IPV4)} && CHAIN4(${node.proto}))`
          : `(ET === ${hex(ETHER_IPV6)} && CHAIN6(${node.proto}))`;
      case "host4": {
        const [etherType, src, dst] =
          node.space === "ip"
            ? [ETHER_IPV4, 12, 16]
            : node.space === "arp"
              ? [ETHER_ARP, 14, 24]
              : [ETHER_RARP, 14, 24];
        const test = (offset: number) =>
          node.mask === 0xffffffff
            ? `L4(L3 + ${offset}) === ${hex(node.address)}`
            : `((L4(L3 + ${offset}) & ${hex(node.mask)}) >>> 0) === ${hex(node.address)}`;
        return `(ET === ${hex(etherType)} && ${directional(node.direction, test(src), test(dst))})`;
      }
      case "host6": {
        const test = (offset: number) => {
          const parts: string[] = [];
          for (let k = 0; k < 4; k++) {
            const mask = node.mask[k]!;
            if (mask === 0) continue;
            const load = `L4(L3 + ${offset + 4 * k})`;
            parts.push(
              mask === 0xffffffff
                ? `${load} === ${hex(node.words[k]!)}`
                : `((${load} & ${hex(mask)}) >>> 0) === ${hex(node.words[k]!)}`,
            );
          }
          return parts.length === 0 ? "true" : `(${parts.join(" && ")})`;
        };
        return `(ET === ${hex(ETHER_IPV6)} && ${directional(node.direction, test(8), test(24))})`;
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
        const ip6 = `(ET === ${hex(ETHER_IPV6)} && ${protocolIn("L1(L3 + 6)")} && ${directional(
          node.direction,
          value("L2(L3 + 40)"),
          value("L2(L3 + 42)"),
        )})`;
        const ip4 = `(ET === ${hex(ETHER_IPV4)} && ${protocolIn("L1(L3 + 9)")} && (L2(L3 + 6) & 0x1fff) === 0 && ${directional(
          node.direction,
          value("L2(TH())"),
          value("L2(TH() + 2)"),
        )})`;
        return `(${ip6} || ${ip4})`;
      }
      case "vlan":
        return `(LT === ${LINK_ETHERNET} && VLAN(${node.depth}, ${node.id ?? -1}))`;
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
        return `(ET === ${hex(ETHER_IPV4)} && ((T = L4(L3 + 16)) === 0 || T === 0xffffffff))`;
      case "ipMulticast":
        return `(ET === ${hex(ETHER_IPV4)} && L1(L3 + 16) >= 224)`;
      case "ip6Multicast":
        return `(ET === ${hex(ETHER_IPV6)} && L1(L3 + 24) === 255)`;
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
    switch (layer) {
      case "link":
        return { base: "S", guard: undefined };
      case "ip":
        return { base: "L3", guard: `ET === ${hex(ETHER_IPV4)}` };
      case "ip6":
        return { base: "L3", guard: `ET === ${hex(ETHER_IPV6)}` };
      case "arp":
        return { base: "L3", guard: `ET === ${hex(ETHER_ARP)}` };
      case "rarp":
        return { base: "L3", guard: `ET === ${hex(ETHER_RARP)}` };
      case "icmp6":
        return { base: "(L3 + 40)", guard: `ET === ${hex(ETHER_IPV6)} && L1(L3 + 6) === 58` };
      default: {
        const proto = TRANSPORT_PROTOCOLS[layer]!;
        return {
          base: "TH()",
          guard: `ET === ${hex(ETHER_IPV4)} && L1(L3 + 9) === ${proto} && (L2(L3 + 6) & 0x1fff) === 0`,
        };
      }
    }
  }
}
