import type { QoelabError } from "../errors.ts";
import type { AccessorLayer, ArithNode, ArithOp, FilterDirection, FilterNode, RelOp } from "./filter-ast.ts";
import { FilterErrorCode, filterError } from "./filter-error.ts";
import { FILTER_LINK_NAMES, FILTER_PROTO_NAMES, type FilterToken, tokenizeFilter } from "./filter-lexer.ts";

/**
 * Recursive-descent parser for pcap-filter(7) expressions. `and` and `or` have equal precedence
 * and associate left; `not` binds tighter. A bare address after `and`/`or`/`not`/`(` reuses the
 * qualifiers of the last `head id` primitive (`host a or b` = `host a or host b`), as libpcap does.
 */
export function parseFilter(expression: string): FilterNode {
  if (expression.length > MAX_EXPRESSION_LENGTH) {
    throw filterError(
      FilterErrorCode.TOO_COMPLEX,
      `expression longer than ${MAX_EXPRESSION_LENGTH} characters`,
      expression,
      MAX_EXPRESSION_LENGTH + 1,
    );
  }
  return new Parser(expression, tokenizeFilter(expression)).parse();
}

const MAX_EXPRESSION_LENGTH = 65536;
const MAX_NESTING = 200;

interface Qualifiers {
  proto: string | undefined;
  direction: FilterDirection | undefined;
  addr: string | undefined;
}

const LINK_NAMES: ReadonlySet<string> = new Set(FILTER_LINK_NAMES);
const PROTO_NAMES: ReadonlySet<string> = new Set([...FILTER_LINK_NAMES, ...FILTER_PROTO_NAMES]);
const ADDR_NAMES = new Set(["host", "net", "port", "portrange", "gateway"]);
const ACCESSOR_LAYERS: ReadonlyMap<string, AccessorLayer> = new Map([
  ["link", "link"],
  ["ether", "link"],
  ["fddi", "link"],
  ["tr", "link"],
  ["wlan", "link"],
  ["ppp", "link"],
  ["slip", "link"],
  ["ip", "ip"],
  ["ip6", "ip6"],
  ["arp", "arp"],
  ["rarp", "rarp"],
  ["tcp", "tcp"],
  ["udp", "udp"],
  ["sctp", "sctp"],
  ["icmp", "icmp"],
  ["igmp", "igmp"],
  ["igrp", "igrp"],
  ["pim", "pim"],
  ["vrrp", "vrrp"],
  ["carp", "carp"],
  ["icmp6", "icmp6"],
]);

export const ETHER_TYPES: ReadonlyMap<string, number> = new Map([
  ["ip", 0x0800],
  ["ip6", 0x86dd],
  ["arp", 0x0806],
  ["rarp", 0x8035],
  ["loopback", 0x9000],
]);
/** Protocol numbers by name (IANA), for `ip proto \name`. */
export const IP_PROTOCOLS: ReadonlyMap<string, number> = new Map([
  ["icmp", 1],
  ["igmp", 2],
  ["ipip", 4],
  ["tcp", 6],
  ["egp", 8],
  ["igrp", 9],
  ["udp", 17],
  ["ipv6", 41],
  ["rsvp", 46],
  ["gre", 47],
  ["esp", 50],
  ["ah", 51],
  ["icmp6", 58],
  ["ipv6-icmp", 58],
  ["eigrp", 88],
  ["ospf", 89],
  ["pim", 103],
  ["vrrp", 112],
  ["carp", 112],
  ["l2tp", 115],
  ["sctp", 132],
  ["udplite", 136],
]);
const VLAN_TPIDS = new Set([0x8100, 0x88a8, 0x9100]);

const BINARY_PRECEDENCE: ReadonlyMap<string, number> = new Map([
  ["|", 1],
  ["^", 2], // only used to recognise the operator; see parseArith
  ["&", 3],
  ["<<", 4],
  [">>", 4],
  ["+", 5],
  ["-", 5],
  ["*", 6],
  ["/", 6],
  ["%", 6],
]);
const RELOPS: ReadonlyMap<string, RelOp> = new Map([
  [">", ">"],
  ["<", "<"],
  [">=", ">="],
  ["<=", "<="],
  ["=", "=="],
  ["==", "=="],
  ["!=", "!="],
]);

function isSyntaxError(error: unknown): error is QoelabError {
  return (error as QoelabError | undefined)?.code === FilterErrorCode.SYNTAX;
}

function column(error: QoelabError): number {
  return Number(error.details.column ?? 0);
}

class Parser {
  private pos = 0;
  /** Qualifiers of the last `head id` primitive; undefined after other primitives. */
  private last: Qualifiers | undefined;
  private vlanDepth = 0;
  private nesting = 0;

  constructor(
    private readonly expression: string,
    private readonly tokens: readonly FilterToken[],
  ) {}

  parse(): FilterNode {
    if (this.peek().kind === "end") return { kind: "const", value: true };
    const node = this.parseExpr();
    const token = this.peek();
    if (token.kind !== "end") {
      const hint = token.kind === "op" && token.text === ")" ? "unbalanced ')'" : "expected 'and', 'or' or end";
      throw this.syntax(`${hint}, found ${describe(token)}`, token);
    }
    return node;
  }

  // ---- tokens -------------------------------------------------------------------------------

  private peek(ahead = 0): FilterToken {
    return this.tokens[Math.min(this.pos + ahead, this.tokens.length - 1)]!;
  }

  private next(): FilterToken {
    const token = this.peek();
    if (this.pos < this.tokens.length - 1) this.pos++;
    return token;
  }

  private isOp(token: FilterToken, ...texts: string[]): boolean {
    return token.kind === "op" && texts.includes(token.text);
  }

  private isKeyword(token: FilterToken, ...texts: string[]): boolean {
    return token.kind === "keyword" && texts.includes(token.text);
  }

  private isAnd(token: FilterToken): boolean {
    return this.isKeyword(token, "and") || this.isOp(token, "&&");
  }

  private isOr(token: FilterToken): boolean {
    return this.isKeyword(token, "or") || this.isOp(token, "||");
  }

  private isNot(token: FilterToken): boolean {
    return this.isKeyword(token, "not") || this.isOp(token, "!");
  }

  private expectOp(text: string, what: string): FilterToken {
    const token = this.peek();
    if (!this.isOp(token, text)) throw this.syntax(`expected ${what}, found ${describe(token)}`, token);
    return this.next();
  }

  private syntax(message: string, token: FilterToken): QoelabError {
    return filterError(FilterErrorCode.SYNTAX, message, this.expression, token.column);
  }

  private fail(code: string, message: string, token: FilterToken): QoelabError {
    return filterError(code, message, this.expression, token.column);
  }

  private enter(token: FilterToken): void {
    if (++this.nesting > MAX_NESTING) {
      throw this.fail(FilterErrorCode.TOO_COMPLEX, `nested more than ${MAX_NESTING} levels`, token);
    }
  }

  // ---- boolean structure --------------------------------------------------------------------

  private parseExpr(): FilterNode {
    let node = this.parseTerm();
    for (;;) {
      const token = this.peek();
      const kind = this.isAnd(token) ? "and" : this.isOr(token) ? "or" : undefined;
      if (!kind) return node;
      this.next();
      const right = this.last && this.startsBareId() ? this.parseId(this.last) : this.parseTerm();
      node = { kind, left: node, right };
    }
  }

  /**
   * After `and`/`or`: is what follows an abbreviated id (`[not|(]* address`) rather than a term?
   * A number followed by an arithmetic operator or relation starts a comparison instead.
   */
  private startsBareId(): boolean {
    let k = 0;
    while (this.isNot(this.peek(k)) || this.isOp(this.peek(k), "(")) k++;
    const token = this.peek(k);
    if (token.kind === "ipv4" || token.kind === "ipv6" || token.kind === "mac" || token.kind === "word") return true;
    if (token.kind !== "num") return false;
    const after = this.peek(k + 1);
    return !(after.kind === "op" && (BINARY_PRECEDENCE.has(after.text) || RELOPS.has(after.text)));
  }

  private parseTerm(): FilterNode {
    const token = this.peek();
    if (this.isNot(token)) {
      this.next();
      this.enter(token);
      const operand = this.parseTerm();
      this.nesting--;
      return { kind: "not", operand };
    }
    if (this.isOp(token, "(")) return this.parseParenthesised(token);
    if (token.kind === "num" || this.isOp(token, "-") || this.isKeyword(token, "len")) return this.parseRelation();
    if (token.kind === "keyword") {
      if (ACCESSOR_LAYERS.has(token.text) && this.isOp(this.peek(1), "[")) return this.parseRelation();
      return this.parseKeywordTerm(token);
    }
    if (token.kind === "end") throw this.syntax("expected a primitive, found end of expression", token);
    if (token.kind === "op") throw this.syntax(`expected a primitive, found ${describe(token)}`, token);
    throw this.syntax(`expected a qualifier (host, net, port …) before ${describe(token)}`, token);
  }

  /** `( expr )` or a parenthesised arithmetic operand of a comparison: try the comparison first. */
  private parseParenthesised(open: FilterToken): FilterNode {
    const saved = { pos: this.pos, last: this.last, vlanDepth: this.vlanDepth, nesting: this.nesting };
    let arithmeticError: QoelabError | undefined;
    try {
      return this.parseRelation();
    } catch (error) {
      if (!isSyntaxError(error)) throw error;
      arithmeticError = error;
    }
    Object.assign(this, saved);
    try {
      this.next();
      this.enter(open);
      const node = this.parseExpr();
      this.expectOp(")", "')'");
      this.nesting--;
      return node;
    } catch (error) {
      if (isSyntaxError(error) && column(arithmeticError) > column(error)) throw arithmeticError;
      throw error;
    }
  }

  private parseKeywordTerm(token: FilterToken): FilterNode {
    switch (token.text) {
      case "less":
      case "greater": {
        this.next();
        const value = this.expectNumber(`a length after '${token.text}'`);
        this.last = undefined;
        return {
          kind: "compare",
          op: token.text === "less" ? "<=" : ">=",
          left: { kind: "len" },
          right: { kind: "num", value },
        };
      }
      case "vlan": {
        this.next();
        const id = this.optionalNumber(4095, FilterErrorCode.BAD_VLAN, "VLAN tag");
        this.last = undefined;
        return { kind: "vlan", depth: this.vlanDepth++, id };
      }
      case "pppoed":
        this.next();
        this.last = undefined;
        return { kind: "pppoed" };
      case "pppoes":
      case "mpls": {
        this.next();
        const max = token.text === "pppoes" ? 0xffff : 0xfffff;
        const id = this.optionalNumber(max, FilterErrorCode.BAD_NUMBER, `${token.text} id`);
        this.last = undefined;
        return token.text === "pppoes" ? { kind: "pppoes", session: id } : { kind: "mpls", label: id };
      }
      case "inbound":
      case "outbound":
        this.next();
        this.last = undefined;
        return { kind: "packetDirection", outbound: token.text === "outbound" };
      case "broadcast":
      case "multicast":
        this.next();
        this.last = undefined;
        return token.text === "broadcast" ? { kind: "linkBroadcast" } : { kind: "linkMulticast" };
      case "gateway":
        throw this.fail(
          FilterErrorCode.UNSUPPORTED,
          "'gateway' needs host name resolution, which qoelab does not do",
          token,
        );
      default:
        if (PROTO_NAMES.has(token.text) || ADDR_NAMES.has(token.text) || this.isDirection(token)) {
          return this.parseHeadTerm();
        }
        if (token.text === "proto" || token.text === "protochain") return this.parseHeadTerm();
        if (["and", "or", "not", "mask", "len"].includes(token.text)) {
          throw this.syntax(`expected a primitive, found ${describe(token)}`, token);
        }
        throw this.fail(FilterErrorCode.UNSUPPORTED, `'${token.text}' is not supported by qoelab's filter`, token);
    }
  }

  private isDirection(token: FilterToken): boolean {
    return this.isKeyword(token, "src", "dst");
  }

  /** `[proto] [dir] [addr] id`, `proto` alone, `proto broadcast|multicast`, `[proto] proto N`. */
  private parseHeadTerm(): FilterNode {
    let proto: string | undefined;
    const protoToken = this.peek();
    if (protoToken.kind === "keyword" && PROTO_NAMES.has(protoToken.text)) {
      proto = protoToken.text;
      this.next();
    }
    const token = this.peek();
    if (proto && this.isKeyword(token, "broadcast", "multicast")) {
      this.next();
      this.last = undefined;
      return this.castPrimitive(proto, token);
    }
    if (this.isKeyword(token, "proto", "protochain")) {
      this.next();
      const q: Qualifiers = { proto, direction: undefined, addr: token.text };
      this.last = q;
      return this.parseId(q);
    }
    const direction = this.parseDirection();
    let addr: string | undefined;
    const addrToken = this.peek();
    if (addrToken.kind === "keyword" && ADDR_NAMES.has(addrToken.text)) {
      if (addrToken.text === "gateway") {
        throw this.fail(
          FilterErrorCode.UNSUPPORTED,
          "'gateway' needs host name resolution, which qoelab does not do",
          addrToken,
        );
      }
      addr = addrToken.text;
      this.next();
    }
    if (proto !== undefined && direction === undefined && addr === undefined) {
      this.last = undefined;
      return this.protocolAbbreviation(proto, protoToken);
    }
    const q: Qualifiers = { proto, direction, addr };
    this.last = q;
    return this.parseId(q);
  }

  private parseDirection(): FilterDirection | undefined {
    const first = this.peek();
    if (!this.isDirection(first)) return undefined;
    this.next();
    const joiner = this.peek();
    const second = this.peek(1);
    if ((this.isOr(joiner) || this.isAnd(joiner)) && this.isDirection(second) && second.text !== first.text) {
      this.next();
      this.next();
      return this.isOr(joiner) ? "src-or-dst" : "src-and-dst";
    }
    return first.text === "src" ? "src" : "dst";
  }

  private castPrimitive(proto: string, token: FilterToken): FilterNode {
    const broadcast = token.text === "broadcast";
    if (LINK_NAMES.has(proto)) return broadcast ? { kind: "linkBroadcast" } : { kind: "linkMulticast" };
    if (proto === "ip") return broadcast ? { kind: "ipBroadcast" } : { kind: "ipMulticast" };
    if (proto === "ip6" && !broadcast) return { kind: "ip6Multicast" };
    throw this.fail(FilterErrorCode.BAD_QUALIFIER, `'${proto}' is not valid before '${token.text}'`, token);
  }

  private protocolAbbreviation(proto: string, token: FilterToken): FilterNode {
    const either = (p: number): FilterNode => ({
      kind: "or",
      left: { kind: "ipProto", family: 4, proto: p },
      right: { kind: "ipProto", family: 6, proto: p },
    });
    switch (proto) {
      case "ip":
      case "ip6":
      case "arp":
      case "rarp":
        return { kind: "etherType", value: ETHER_TYPES.get(proto)! };
      case "tcp":
      case "udp":
      case "sctp":
      case "pim":
      case "ah":
      case "esp":
        return either(IP_PROTOCOLS.get(proto)!);
      case "icmp":
      case "igmp":
      case "igrp":
      case "vrrp":
      case "carp":
        return { kind: "ipProto", family: 4, proto: IP_PROTOCOLS.get(proto)! };
      case "icmp6":
        return { kind: "ipProto", family: 6, proto: 58 };
      default:
        throw this.fail(
          FilterErrorCode.BAD_QUALIFIER,
          `'${proto}' (link layer) needs 'host', 'src', 'dst', 'proto' or '[…]'`,
          token,
        );
    }
  }

  // ---- ids (the operand of a qualified primitive) ------------------------------------------

  /** `id := not id | ( id ((and|or) id)* ) | address`. */
  private parseId(q: Qualifiers): FilterNode {
    const token = this.peek();
    if (this.isNot(token)) {
      this.next();
      this.enter(token);
      const operand = this.parseId(q);
      this.nesting--;
      return { kind: "not", operand };
    }
    if (this.isOp(token, "(")) {
      this.next();
      this.enter(token);
      let node = this.parseId(q);
      for (;;) {
        const joiner = this.peek();
        const kind = this.isAnd(joiner) ? "and" : this.isOr(joiner) ? "or" : undefined;
        if (!kind) break;
        this.next();
        node = { kind, left: node, right: this.parseId(q) };
      }
      this.expectOp(")", "')' or 'and'/'or' and another address");
      this.nesting--;
      return node;
    }
    return this.parseAddress(q);
  }

  private parseAddress(q: Qualifiers): FilterNode {
    const token = this.next();
    const addr = q.addr;
    switch (token.kind) {
      case "num":
        return this.numberPrimitive(q, token);
      case "ipv4": {
        if (addr !== undefined && addr !== "host" && addr !== "net") throw this.qualifierMisuse(q, token);
        let address = token.value;
        let mask = prefixMask(token.bits);
        let text = token.text;
        if (this.isOp(this.peek(), "/") || this.isKeyword(this.peek(), "mask")) {
          const how = this.next();
          if (addr !== "net") throw this.fail(FilterErrorCode.BAD_NET, "mask syntax is for 'net' only", how);
          if (how.text === "/") {
            const lengthToken = this.peek();
            const bits = this.expectNumber("a prefix length after '/'");
            if (bits > 32) throw this.fail(FilterErrorCode.BAD_NET, "mask length must be <= 32", lengthToken);
            mask = prefixMask(bits);
            address = token.value;
            text = `${token.text}/${bits}`;
          } else {
            const maskToken = this.next();
            if (maskToken.kind !== "ipv4")
              throw this.syntax(`expected a dotted netmask, found ${describe(maskToken)}`, maskToken);
            mask = maskToken.value;
            text = `${token.text} mask ${maskToken.text}`;
          }
          if ((address & ~mask) >>> 0 !== 0) {
            throw this.fail(FilterErrorCode.BAD_NET, `non-network bits set in "${text}"`, token);
          }
        }
        return this.host4(q, token, address, mask);
      }
      case "ipv6": {
        if (addr !== undefined && addr !== "host" && addr !== "net") throw this.qualifierMisuse(q, token);
        let bits = 128;
        if (this.isOp(this.peek(), "/")) {
          const slash = this.next();
          if (addr !== "net") throw this.fail(FilterErrorCode.BAD_NET, "mask syntax is for 'net' only", slash);
          const lengthToken = this.peek();
          bits = this.expectNumber("a prefix length after '/'");
          if (bits > 128) throw this.fail(FilterErrorCode.BAD_NET, "mask length must be <= 128", lengthToken);
        }
        const mask = [0, 1, 2, 3].map((k) => prefixMask(Math.max(0, Math.min(32, bits - 32 * k))));
        if (token.words.some((w, k) => (w & ~mask[k]!) >>> 0 !== 0)) {
          throw this.fail(FilterErrorCode.BAD_NET, `non-network bits set in "${token.text}/${bits}"`, token);
        }
        if (q.proto !== undefined && q.proto !== "ip6") {
          throw this.fail(FilterErrorCode.BAD_QUALIFIER, `'${q.proto}' modifier applied to ip6 host`, token);
        }
        return { kind: "host6", direction: q.direction ?? "src-or-dst", words: token.words, mask };
      }
      case "mac":
        if (q.proto === undefined || !LINK_NAMES.has(q.proto) || (addr !== undefined && addr !== "host")) {
          throw this.fail(FilterErrorCode.BAD_QUALIFIER, "ethernet address used in non-ether expression", token);
        }
        return { kind: "etherHost", direction: q.direction ?? "src-or-dst", high: token.high, low: token.low };
      case "word":
        return this.namePrimitive(q, token);
      default:
        throw this.syntax(`expected an address or number, found ${describe(token)}`, token);
    }
  }

  private qualifierMisuse(q: Qualifiers, token: FilterToken): QoelabError {
    return this.fail(FilterErrorCode.BAD_QUALIFIER, `'${q.addr}' does not take ${describe(token)}`, token);
  }

  private host4(q: Qualifiers, token: FilterToken, address: number, mask: number): FilterNode {
    const direction = q.direction ?? "src-or-dst";
    const make = (space: "ip" | "arp" | "rarp"): FilterNode => ({ kind: "host4", space, direction, address, mask });
    if (q.proto === undefined)
      return { kind: "or", left: { kind: "or", left: make("ip"), right: make("arp") }, right: make("rarp") };
    if (q.proto === "ip" || q.proto === "arp" || q.proto === "rarp") return make(q.proto);
    const what = q.proto === "ip6" ? "ip host" : "host";
    throw this.fail(FilterErrorCode.BAD_QUALIFIER, `'${q.proto}' modifier applied to ${what}`, token);
  }

  private numberPrimitive(q: Qualifiers, token: FilterToken & { kind: "num" }): FilterNode {
    const value = token.value;
    switch (q.addr) {
      case undefined:
      case "host":
        return this.host4(q, token, value, 0xffffffff);
      case "net": {
        let address = value;
        let mask = 0xffffffff;
        while (address !== 0 && (address & 0xff000000) === 0) {
          address = (address << 8) >>> 0;
          mask = (mask << 8) >>> 0;
        }
        return this.host4(q, token, address, mask);
      }
      case "port":
      case "portrange":
        if (value > 65535) throw this.fail(FilterErrorCode.BAD_PORT, `illegal port number ${value} > 65535`, token);
        return this.port(q, token, value, value);
      case "proto":
      case "protochain":
        return this.protoPrimitive(q, token, value);
      default:
        throw this.syntax(`unexpected ${describe(token)}`, token);
    }
  }

  private namePrimitive(q: Qualifiers, token: FilterToken & { kind: "word" }): FilterNode {
    const name = token.text;
    if (q.addr === "portrange") {
      const match = /^(\d+)-(\d+)$/.exec(name);
      if (!match) {
        throw this.fail(
          FilterErrorCode.UNKNOWN_NAME,
          `unknown port in range '${name}' (use numbers, like 6000-6008)`,
          token,
        );
      }
      const a = Number(match[1]);
      const b = Number(match[2]);
      for (const p of [a, b]) {
        if (p > 65535) throw this.fail(FilterErrorCode.BAD_PORT, `illegal port number ${p} > 65535`, token);
      }
      return this.port(q, token, Math.min(a, b), Math.max(a, b));
    }
    if (q.addr === "port") {
      throw this.fail(
        FilterErrorCode.UNKNOWN_NAME,
        `port names are not looked up; use a number instead of '${name}'`,
        token,
      );
    }
    if (q.addr === "proto" || q.addr === "protochain") {
      const linkLevel = q.proto !== undefined && LINK_NAMES.has(q.proto);
      const value = linkLevel ? ETHER_TYPES.get(name) : IP_PROTOCOLS.get(name);
      if (value === undefined) {
        throw this.fail(
          FilterErrorCode.UNKNOWN_NAME,
          `unknown ${linkLevel ? "ether type" : "protocol"} '${name}'`,
          token,
        );
      }
      return this.protoPrimitive(q, token, value);
    }
    throw this.fail(
      FilterErrorCode.UNKNOWN_NAME,
      `'${name}' is not an address; host and network names are not resolved`,
      token,
    );
  }

  private port(q: Qualifiers, token: FilterToken, low: number, high: number): FilterNode {
    let protocols: number[];
    if (q.proto === undefined) protocols = [132, 6, 17];
    else if (q.proto === "tcp" || q.proto === "udp" || q.proto === "sctp") protocols = [IP_PROTOCOLS.get(q.proto)!];
    else throw this.fail(FilterErrorCode.BAD_QUALIFIER, `illegal qualifier of '${q.addr}': '${q.proto}'`, token);
    return { kind: "port", protocols, direction: q.direction ?? "src-or-dst", low, high };
  }

  private protoPrimitive(q: Qualifiers, token: FilterToken, value: number): FilterNode {
    const chain = q.addr === "protochain";
    const kind = chain ? "protochain" : "ipProto";
    if (q.proto === undefined) {
      return { kind: "or", left: { kind, family: 4, proto: value }, right: { kind, family: 6, proto: value } };
    }
    if (q.proto === "ip") return { kind, family: 4, proto: value };
    if (q.proto === "ip6") return { kind, family: 6, proto: value };
    if (!chain && LINK_NAMES.has(q.proto)) {
      if (value > 0xffff) throw this.fail(FilterErrorCode.BAD_NUMBER, `ether type ${value} > 65535`, token);
      return VLAN_TPIDS.has(value) ? { kind: "outerEtherType", value } : { kind: "etherType", value };
    }
    throw this.fail(FilterErrorCode.BAD_QUALIFIER, `'${q.proto}' is not valid before '${q.addr}'`, token);
  }

  /** The number after `vlan`, `pppoes` or `mpls` when one follows; above `max` it fails with `code`, naming it `what`. */
  private optionalNumber(max: number, code: string, what: string): number | undefined {
    const token = this.peek();
    if (token.kind !== "num") return undefined;
    this.next();
    if (token.value > max) throw this.fail(code, `${what} ${token.value} greater than maximum ${max}`, token);
    return token.value;
  }

  private expectNumber(what: string): number {
    const token = this.peek();
    if (token.kind !== "num") throw this.syntax(`expected ${what}, found ${describe(token)}`, token);
    this.next();
    return token.value;
  }

  // ---- arithmetic -----------------------------------------------------------------------------

  private parseRelation(): FilterNode {
    const left = this.parseArith(1);
    const opToken = this.peek();
    const op = opToken.kind === "op" ? RELOPS.get(opToken.text) : undefined;
    if (!op) throw this.syntax(`expected a comparison (>, <, >=, <=, =, !=), found ${describe(opToken)}`, opToken);
    this.next();
    const right = this.parseArith(1);
    this.last = undefined;
    if (left.kind === "num" && right.kind === "num")
      return { kind: "const", value: relate(op, left.value, right.value) };
    return { kind: "compare", op, left, right };
  }

  /**
   * Precedence climbing with C's levels (`|` < `&` < shifts < `+ -` < `* / %`). libpcap's grammar
   * gives `^` no precedence, so yacc always shifts on it: `^` takes whatever operand is to its
   * left and the whole rest of the arithmetic to its right (`2 * 3 ^ 1 + 1` = `2 * (3 ^ (1 + 1))`).
   */
  private parseArith(minPrecedence: number): ArithNode {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      if (this.isOp(token, "^")) {
        this.next();
        left = this.binary("^", left, this.parseArith(0), token);
        continue;
      }
      const precedence = token.kind === "op" ? BINARY_PRECEDENCE.get(token.text) : undefined;
      if (precedence === undefined || precedence < minPrecedence) return left;
      this.next();
      const right = this.parseArith(precedence + 1);
      left = this.binary(token.text as ArithOp, left, right, token);
    }
  }

  private binary(op: ArithOp, left: ArithNode, right: ArithNode, token: FilterToken): ArithNode {
    if (right.kind === "num") {
      if ((op === "/" || op === "%") && right.value === 0) {
        throw this.fail(FilterErrorCode.BAD_ARITHMETIC, op === "/" ? "division by zero" : "modulus by zero", token);
      }
      if ((op === "<<" || op === ">>") && right.value > 31) {
        throw this.fail(FilterErrorCode.BAD_ARITHMETIC, "shift by more than 31 bits", token);
      }
      if (left.kind === "num") return { kind: "num", value: evaluateArith(op, left.value, right.value) };
    }
    return { kind: "binary", op, left, right };
  }

  private parseUnary(): ArithNode {
    const token = this.peek();
    if (this.isOp(token, "-")) {
      this.next();
      this.enter(token);
      let operand = this.parseUnary();
      while (this.isOp(this.peek(), "^")) {
        const caret = this.next();
        operand = this.binary("^", operand, this.parseArith(0), caret);
      }
      this.nesting--;
      return operand.kind === "num" ? { kind: "num", value: (0 - operand.value) >>> 0 } : { kind: "negate", operand };
    }
    return this.parsePrimary();
  }

  private parsePrimary(): ArithNode {
    const token = this.next();
    if (token.kind === "num") return { kind: "num", value: token.value };
    if (this.isKeyword(token, "len")) return { kind: "len" };
    if (this.isOp(token, "(")) {
      this.enter(token);
      const inner = this.parseArith(1);
      this.expectOp(")", "')'");
      this.nesting--;
      return inner;
    }
    if (token.kind === "keyword" && ACCESSOR_LAYERS.has(token.text)) {
      const open = this.peek();
      this.expectOp("[", `'[' after '${token.text}'`);
      this.enter(open);
      const index = this.parseArith(1);
      let size: 1 | 2 | 4 = 1;
      if (this.isOp(this.peek(), ":")) {
        this.next();
        const sizeToken = this.peek();
        const value = this.expectNumber("an access size (1, 2 or 4)");
        if (value !== 1 && value !== 2 && value !== 4) {
          throw this.fail(FilterErrorCode.BAD_ARITHMETIC, "data size must be 1, 2, or 4", sizeToken);
        }
        size = value;
      }
      this.expectOp("]", "']'");
      this.nesting--;
      return { kind: "load", layer: ACCESSOR_LAYERS.get(token.text)!, index, size };
    }
    throw this.syntax(`expected a number, 'len' or 'proto[offset]', found ${describe(token)}`, token);
  }
}

function prefixMask(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

function describe(token: FilterToken): string {
  if (token.kind === "end") return "end of expression";
  return `'${token.text}'`;
}

/** Unsigned 32-bit arithmetic as BPF does it. A zero divisor yields undefined at run time. */
export function evaluateArith(op: ArithOp, a: number, b: number): number {
  switch (op) {
    case "+":
      return (a + b) >>> 0;
    case "-":
      return (a - b) >>> 0;
    case "*":
      return Math.imul(a, b) >>> 0;
    case "/":
      return Math.floor(a / b) >>> 0;
    case "%":
      return (a % b) >>> 0;
    case "&":
      return (a & b) >>> 0;
    case "|":
      return (a | b) >>> 0;
    case "^":
      return (a ^ b) >>> 0;
    case "<<":
      return b > 31 ? 0 : (a << b) >>> 0;
    case ">>":
      return b > 31 ? 0 : a >>> b;
  }
}

export function relate(op: RelOp, a: number, b: number): boolean {
  switch (op) {
    case ">":
      return a > b;
    case "<":
      return a < b;
    case ">=":
      return a >= b;
    case "<=":
      return a <= b;
    case "==":
      return a === b;
    case "!=":
      return a !== b;
  }
}
