import { QoelabError } from "../errors.ts";
import { parseHex, parseIpv4, parseIpv6, parseMac } from "./address-text.ts";
import * as build from "./builder.ts";
import type { GeneveOption } from "./layers/geneve.ts";
import type { GtpuExtension } from "./layers/gtp-u.ts";
import { type Ipv4Option, ipv4Option } from "./layers/ipv4.ts";
import { type Ipv6Extension, ipv6Extension } from "./layers/ipv6.ts";
import { type NflogTlv, nflogTlv } from "./layers/nflog.ts";
import type { NshTlv } from "./layers/nsh.ts";
import { type TcpOption, tcpOption } from "./layers/tcp.ts";
import type { Packet } from "./packet.ts";

/**
 * A one-line layer description for crafting packets from the command line, Scapy-like:
 *
 *   ether/ipv4(dst=10.77.0.2,ttl=3)/udp(dport=5004)/raw(hex=80000001)
 *   ether/vlan(vlan=10)/ipv6/tcp(flags=S,options=mss:1460+sackok+ts:1:0+nop+wscale:7)
 *
 * Layers are separated by "/"; each takes `key=value` arguments named like the builder's fields
 * (numbers in decimal or 0x hex). List values join items with "+": TCP `options` (mss:N, wscale:N,
 * sackok, sack:L-R;L-R, ts:VAL:ECR, nop, eol), IPv4 `options` (nop, eol, ra, rr:SLOTS,
 * ts:SLOTS, lsrr:A:B, ssrr:A:B), IPv6 `ext` (hop, dest, frag:OFFSET:M:ID, ah:SPI:SEQ), Geneve
 * `options` (CLASS:TYPE[:HEX], the type's 0x80 bit critical), GTP-U `extensions` (TYPE:HEX), NSH
 * `tlvs` (CLASS:TYPE[:HEX], with `mdType=2`; NSH's MD type 1 `context` is hex). `nflog`
 * takes its TLVs as fields (hwProtocol and hook make PACKET_HDR; prefix, indev, outdev, mark, uid,
 * gid), written in the kernel's order. `raw` takes
 * `hex=`, `text=` or `size=`; `padding` takes `size=`. Values with "," ")" or "/" go in double quotes.
 * `text=` understands \r \n \t \0 \\ \" and \xHH escapes.
 * Errors (`PACKET_BAD_LAYER_SPEC`) name the column and point at it.
 */

const LAYERS: Record<string, { make: (args: Record<string, unknown>) => Packet; fields: Record<string, Kind> }> = {};

type Kind =
  | "number"
  | "string"
  | "mac"
  | "ip4"
  | "ip6"
  | "boolean"
  | "flags"
  | "tcp-options"
  | "ip-options"
  | "ip6-ext"
  | "geneve-options"
  | "gtp-extensions"
  | "nsh-tlvs"
  | "hex"
  | "text";

function define(names: string[], make: (args: Record<string, unknown>) => Packet, fields: Record<string, Kind>): void {
  for (const name of names) LAYERS[name] = { make, fields };
}

define(["ether", "eth"], (a) => build.ether(a), { dst: "mac", src: "mac", type: "number" });
define(["vlan", "dot1q"], (a) => build.vlan(a), { prio: "number", dei: "number", vlan: "number", type: "number" });
define(["sll"], (a) => build.sll(a), {
  pktType: "number",
  hatype: "number",
  addrLength: "number",
  addr: "string",
  protocol: "number",
});
define(["sll2"], (a) => build.sll2(a), {
  pktType: "number",
  hatype: "number",
  addrLength: "number",
  addr: "string",
  protocol: "number",
  ifindex: "number",
  reserved: "number",
});
define(["loopback", "null"], (a) => build.loopback(a), { family: "number", byteOrder: "string" });
define(["arp"], (a) => build.arp(a), {
  op: "number",
  hwSrc: "mac",
  protoSrc: "ip4",
  hwDst: "mac",
  protoDst: "ip4",
  hwType: "number",
  protoType: "number",
  hwLength: "number",
  protoLength: "number",
});
define(["pppoe"], (a) => build.pppoe(a), {
  code: "number",
  session: "number",
  length: "number",
  version: "number",
  type: "number",
});
define(["ppp"], (a) => build.ppp(a), { protocol: "number" });
define(["hdlc"], (a) => build.hdlc(a), { address: "number", control: "number" });
define(["chdlc", "cisco-hdlc"], (a) => build.ciscoHdlc(a), {
  address: "number",
  control: "number",
  protocol: "number",
});
define(["gre"], (a) => build.gre(a), {
  protocol: "number",
  checksumPresent: "number",
  checksum: "number",
  reserved1: "number",
  key: "number",
  sequence: "number",
  version: "number",
  callId: "number",
  payloadLength: "number",
  ack: "number",
  keyPresent: "number",
  sequencePresent: "number",
  ackPresent: "number",
  routingPresent: "number",
  strictRoute: "number",
  recursion: "number",
  flags: "number",
  wccpRedirect: "number",
});
define(["erspan"], (a) => build.erspan(a), {
  version: "number",
  vlan: "number",
  cos: "number",
  encap: "number",
  truncated: "number",
  sessionId: "number",
  reserved: "number",
  index: "number",
  timestamp: "number",
  sgt: "number",
  p: "number",
  ft: "number",
  hwId: "number",
  direction: "number",
  gra: "number",
  o: "number",
});
define(["vxlan"], (a) => build.vxlan(a), {
  gpe: "boolean",
  flags: "number",
  reserved1: "number",
  nextProtocol: "number",
  vni: "number",
  reserved2: "number",
});
define(["geneve"], (a) => build.geneve(a), {
  version: "number",
  optionsLength: "number",
  oam: "number",
  critical: "number",
  reserved: "number",
  protocol: "number",
  vni: "number",
  reserved2: "number",
  options: "geneve-options",
});
define(
  ["macsec"],
  ({ icv, ...rest }) => build.macsec(icv === undefined ? rest : { ...rest, icv: parseHex(icv as string) }),
  {
    version: "number",
    es: "number",
    sc: "number",
    scb: "number",
    e: "number",
    c: "number",
    an: "number",
    reserved: "number",
    shortLength: "number",
    pn: "number",
    sciSystem: "mac",
    sciPort: "number",
    type: "number",
    icv: "hex",
  },
);
define(
  ["nsh"],
  ({ context, ...rest }) => build.nsh(context === undefined ? rest : { ...rest, context: parseHex(context as string) }),
  {
    version: "number",
    oam: "number",
    u: "number",
    ttl: "number",
    length: "number",
    reserved: "number",
    mdType: "number",
    nextProtocol: "number",
    spi: "number",
    si: "number",
    context: "hex",
    tlvs: "nsh-tlvs",
  },
);
define(["gtpu"], (a) => build.gtpu(a), {
  version: "number",
  protocolType: "number",
  reserved: "number",
  e: "number",
  s: "number",
  pn: "number",
  messageType: "number",
  length: "number",
  teid: "number",
  sequence: "number",
  npdu: "number",
  nextExtensionType: "number",
  extensions: "gtp-extensions",
});
define(["mpls"], (a) => build.mpls(a), { label: "number", tc: "number", s: "number", ttl: "number" });
define(["ah"], ({ icv, ...rest }) => build.ah(icv === undefined ? rest : { ...rest, icv: parseHex(icv as string) }), {
  nextHeader: "number",
  length: "number",
  spi: "number",
  sequence: "number",
  icv: "hex",
  reserved: "number",
});
define(["nflog"], (a) => build.nflog(nflogSpecFields(a)), {
  family: "number",
  resourceId: "number",
  version: "number",
  hwProtocol: "number",
  hook: "number",
  prefix: "text",
  indev: "number",
  outdev: "number",
  mark: "number",
  uid: "number",
  gid: "number",
});
define(["ipoib"], (a) => build.ipoib(a), { type: "number", reserved: "number", daddr: "hex", grh: "hex" });
define(
  ["radiotap"],
  ({ freq, chflags, signal, noise, ...rest }) =>
    build.radiotap({
      flags: 0,
      ...(rest as Record<string, number>),
      ...(freq !== undefined ? { channel: [freq as number, (chflags as number | undefined) ?? 0] } : {}),
      ...(signal !== undefined ? { dbmAntSignal: dbm(signal) } : {}),
      ...(noise !== undefined ? { dbmAntNoise: dbm(noise) } : {}),
    }),
  {
    flags: "number",
    rate: "number",
    freq: "number",
    chflags: "number",
    signal: "string",
    noise: "string",
    antenna: "number",
    tsft: "number",
  },
);
/** A signed dBm value (`signal=-60`). */
function dbm(value: unknown): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -128 || n > 127)
    throw new Error(`"${String(value)}" is not a dBm value (-128 to 127)`);
  return n;
}
define(["ppi"], (a) => build.ppi(a), { dlt: "number", flags: "number", fcs: "boolean", frequency: "number" });
define(
  ["dot11", "wlan"],
  ({ fcs, ...rest }) =>
    build.dot11({ ...rest, ...(fcs === undefined ? {} : { fcs: fcs === "auto" ? "auto" : Number(fcs) }) }),
  {
    type: "number",
    subtype: "number",
    flags: "number",
    duration: "number",
    addr1: "mac",
    addr2: "mac",
    addr3: "mac",
    addr4: "mac",
    sequence: "number",
    fragment: "number",
    qos: "number",
    htc: "number",
    fcs: "string",
  },
);
define(["llc", "snap"], (a) => build.llc(a), {
  dsap: "number",
  ssap: "number",
  control: "number",
  oui: "number",
  type: "number",
});
define(["ipv4", "ip"], (a) => build.ipv4(a), {
  src: "ip4",
  dst: "ip4",
  ttl: "number",
  id: "number",
  tos: "number",
  df: "number",
  mf: "number",
  reserved: "number",
  fragOffset: "number",
  protocol: "number",
  ihl: "number",
  totalLength: "number",
  checksum: "number",
  version: "number",
  options: "ip-options",
});
define(
  ["ipv6", "ip6"],
  ({ ext, ...rest }) => build.ipv6(ext === undefined ? rest : { ...rest, extensions: ext as Ipv6Extension[] }),
  {
    src: "ip6",
    dst: "ip6",
    hopLimit: "number",
    trafficClass: "number",
    flowLabel: "number",
    nextHeader: "number",
    payloadLength: "number",
    version: "number",
    ext: "ip6-ext",
  },
);
/** The header fields ICMP and ICMPv6 share. */
const ICMP_HEADER: Record<string, Kind> = {
  type: "number",
  code: "number",
  id: "number",
  seq: "number",
  rest: "number",
  checksum: "number",
};
define(["icmp"], (a) => build.icmp(a), ICMP_HEADER);
define(["icmpv6", "icmp6"], (a) => build.icmpv6(a), { ...ICMP_HEADER, target: "ip6" });
define(["udp"], (a) => build.udp(a), { sport: "number", dport: "number", length: "number", checksum: "number" });
define(["tcp"], (a) => build.tcp(a), {
  sport: "number",
  dport: "number",
  seq: "number",
  ack: "number",
  flags: "flags",
  window: "number",
  urgentPointer: "number",
  dataOffset: "number",
  checksum: "number",
  options: "tcp-options",
});
define(["rtp"], (a) => build.rtp(a), {
  payloadType: "number",
  sequence: "number",
  timestamp: "number",
  ssrc: "number",
  marker: "boolean",
  paddingLength: "number",
  version: "number",
});
define(
  ["raw"],
  (a) => {
    if (a.hex !== undefined) return build.raw({ hex: a.hex as string });
    if (a.size !== undefined) return build.raw({ size: a.size as number });
    return build.raw((a.text as string | undefined) ?? "");
  },
  { hex: "hex", text: "text", size: "number" },
);
define(["padding"], (a) => build.padding((a.size as number | undefined) ?? 0), { size: "number" });

export const LAYER_SPEC_NAMES: readonly string[] = Object.keys(LAYERS);

/** `nflog(...)` arguments as builder fields: the TLV-making ones become TLVs, in the order the kernel writes them. */
function nflogSpecFields(args: Record<string, unknown>): Record<string, unknown> {
  const { hwProtocol, hook, prefix, indev, outdev, mark, uid, gid, ...rest } = args as Record<
    string,
    number | undefined
  >;
  const tlvs: NflogTlv[] = [];
  if (hwProtocol !== undefined || hook !== undefined) tlvs.push(nflogTlv.packetHeader(hwProtocol ?? 0, hook ?? 0));
  if (prefix !== undefined) tlvs.push(nflogTlv.prefix(String(prefix)));
  if (indev !== undefined) tlvs.push(nflogTlv.inDevice(indev));
  if (outdev !== undefined) tlvs.push(nflogTlv.outDevice(outdev));
  if (mark !== undefined) tlvs.push(nflogTlv.mark(mark));
  if (uid !== undefined) tlvs.push(nflogTlv.uid(uid));
  if (gid !== undefined) tlvs.push(nflogTlv.gid(gid));
  return { ...rest, tlvs };
}

class SpecError extends QoelabError {
  constructor(spec: string, column: number, message: string) {
    super(
      "PACKET_BAD_LAYER_SPEC",
      `layer description, column ${column + 1}: ${message}\n  ${spec}\n  ${" ".repeat(column)}^`,
      { column: column + 1, spec },
    );
  }
}

/** Parses a layer description into a built (not yet encoded) packet. */
export function parseLayerSpec(spec: string): Packet {
  let at = 0;
  const fail = (message: string, column = at): never => {
    throw new SpecError(spec, column, message);
  };
  const skipSpaces = () => {
    while (spec[at] === " ") at++;
  };
  const parts: Packet[] = [];
  skipSpaces();
  if (at >= spec.length) fail("empty: expected a layer such as ether, ipv4, udp");
  for (;;) {
    skipSpaces();
    const nameStart = at;
    while (at < spec.length && /[A-Za-z0-9]/.test(spec[at]!)) at++;
    const name = spec.slice(nameStart, at).toLowerCase();
    if (name === "") fail(`expected a layer name, found ${describe(spec[at])}`);
    const layer = LAYERS[name];
    if (layer === undefined) fail(`unknown layer "${name}" (known: ${LAYER_SPEC_NAMES.join(", ")})`, nameStart);
    const args: Record<string, unknown> = {};
    skipSpaces();
    if (spec[at] === "(") {
      at++;
      skipSpaces();
      while (spec[at] !== ")") {
        const keyStart = at;
        while (at < spec.length && /[A-Za-z0-9_]/.test(spec[at]!)) at++;
        const key = spec.slice(keyStart, at);
        if (key === "") fail(`expected a field name or ")", found ${describe(spec[at])}`);
        const kind = layer!.fields[key];
        if (kind === undefined) {
          fail(`${name} has no field "${key}" (fields: ${Object.keys(layer!.fields).join(", ")})`, keyStart);
        }
        skipSpaces();
        if (spec[at] !== "=") fail(`expected "=" after ${key}, found ${describe(spec[at])}`);
        at++;
        skipSpaces();
        const valueStart = at;
        let value: string;
        if (spec[at] === '"') {
          // A backslash keeps the next character inside the quotes (\" is a quote).
          let close = at + 1;
          while (close < spec.length && spec[close] !== '"') close += spec[close] === "\\" ? 2 : 1;
          if (close >= spec.length) fail("unterminated string");
          value = spec.slice(at + 1, close);
          at = close + 1;
        } else {
          while (at < spec.length && spec[at] !== "," && spec[at] !== ")" && spec[at] !== "/") at++;
          value = spec.slice(valueStart, at).trim();
        }
        if (value === "") fail(`missing value for ${key}`, valueStart);
        try {
          args[key] = convert(kind!, value);
        } catch (error) {
          fail(`${name}.${key}: ${(error as Error).message}`, valueStart);
        }
        skipSpaces();
        if (spec[at] === ",") {
          at++;
          skipSpaces();
        } else if (spec[at] !== ")") fail(`expected "," or ")", found ${describe(spec[at])}`);
      }
      at++;
    }
    try {
      parts.push(layer!.make(args));
    } catch (error) {
      fail(`${name}: ${(error as Error).message}`, nameStart);
    }
    skipSpaces();
    if (at >= spec.length) break;
    if (spec[at] !== "/") fail(`expected "/" between layers, found ${describe(spec[at])}`);
    at++;
  }
  return build.stack(...parts);
}

/** `text=` escapes: \r \n \t \0 \\ \" and \xHH (so an HTTP request fits on one command line). */
function unescapeText(value: string): string {
  return value.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) => {
    if (e.length === 3) return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    const map: Record<string, string> = { r: "\r", n: "\n", t: "\t", "0": "\0", "\\": "\\", '"': '"' };
    const out = map[e];
    if (out === undefined) throw new Error(`unknown escape "\\${e}" (known: \\r \\n \\t \\0 \\\\ \\" \\xHH)`);
    return out;
  });
}

function describe(ch: string | undefined): string {
  return ch === undefined ? "the end" : `"${ch}"`;
}

function parseNumber(text: string): number {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(text)) throw new Error(`"${text}" is not a number (decimal or 0x hex)`);
  return Number(text);
}

function convert(kind: Kind, value: string): unknown {
  switch (kind) {
    case "number":
      return parseNumber(value);
    case "boolean":
      if (["1", "true", "yes"].includes(value)) return true;
      if (["0", "false", "no"].includes(value)) return false;
      throw new Error(`"${value}" is not a boolean (1/0, true/false)`);
    case "flags":
      if (!/^([FSRPAUECN]+|0x[0-9a-f]+|\d+)$/i.test(value))
        throw new Error(`"${value}" is not TCP flags (letters FSRPAUECN or a number)`);
      return value;
    case "hex":
      parseHex(value);
      return value;
    case "text":
      return unescapeText(value);
    case "string":
      return value;
    case "mac":
      parseMac(value);
      return value;
    case "ip4":
      parseIpv4(value);
      return value;
    case "ip6":
      parseIpv6(value);
      return value;
    case "tcp-options":
      return value.split("+").map(tcpOptionItem);
    case "ip-options":
      return value.split("+").map(ipOptionItem);
    case "ip6-ext":
      return value.split("+").map(extensionItem);
    case "geneve-options":
      return value.split("+").map(geneveOptionItem);
    case "gtp-extensions":
      return value.split("+").map(gtpExtensionItem);
    case "nsh-tlvs":
      return value.split("+").map(nshTlvItem);
  }
}

function tcpOptionItem(item: string): TcpOption {
  const [kind, ...rest] = item.split(":");
  const n = (i: number) => parseNumber(rest[i] ?? "");
  switch (kind) {
    case "mss":
      return tcpOption.mss(n(0));
    case "wscale":
      return tcpOption.windowScale(n(0));
    case "sackok":
      return tcpOption.sackPermitted();
    case "sack":
      return tcpOption.sack(
        (rest[0] ?? "").split(";").map((block) => {
          const [left, right] = block.split("-");
          return [parseNumber(left ?? ""), parseNumber(right ?? "")] as const;
        }),
      );
    case "ts":
      return tcpOption.timestamps(n(0), n(1));
    case "nop":
      return tcpOption.nop();
    case "eol":
      return tcpOption.eol(rest.length > 0 ? n(0) : 0);
    default:
      throw new Error(`unknown TCP option "${item}" (mss:N, wscale:N, sackok, sack:L-R;L-R, ts:VAL:ECR, nop, eol)`);
  }
}

function ipOptionItem(item: string): Ipv4Option {
  const [kind, ...rest] = item.split(":");
  switch (kind) {
    case "nop":
      return ipv4Option.nop();
    case "eol":
      return ipv4Option.eol(rest.length > 0 ? parseNumber(rest[0]!) : 0);
    case "ra":
      return ipv4Option.routerAlert(rest.length > 0 ? parseNumber(rest[0]!) : 0);
    case "rr":
      return ipv4Option.recordRoute(rest.length > 0 ? parseNumber(rest[0]!) : 9);
    case "ts":
      return ipv4Option.timestamp(rest.length > 0 ? parseNumber(rest[0]!) : 4);
    case "lsrr":
      return ipv4Option.lsrr(rest);
    case "ssrr":
      return ipv4Option.ssrr(rest);
    default:
      throw new Error(`unknown IPv4 option "${item}" (nop, eol, ra, rr:SLOTS, ts:SLOTS, lsrr:A:B, ssrr:A:B)`);
  }
}

function extensionItem(item: string): Ipv6Extension {
  const [kind, ...rest] = item.split(":");
  const n = (i: number, fallback: number) => (rest[i] === undefined ? fallback : parseNumber(rest[i]!));
  switch (kind) {
    case "hop":
      return ipv6Extension.hopByHop();
    case "dest":
      return ipv6Extension.destination();
    case "frag":
      return ipv6Extension.fragment(n(0, 0), n(1, 0), n(2, 1));
    case "ah":
      return ipv6Extension.ah(n(0, 0x100), n(1, 1));
    default:
      throw new Error(`unknown IPv6 extension "${item}" (hop, dest, frag:OFFSET:M:ID, ah:SPI:SEQ)`);
  }
}

/** A Geneve option `CLASS:TYPE[:HEX]`: the type byte with its critical bit (0x80), the data in hex. */
function geneveOptionItem(item: string): GeneveOption {
  const [optionClass, type, data, ...extra] = item.split(":");
  if (optionClass === undefined || type === undefined || extra.length > 0) {
    throw new Error(`"${item}" is not a Geneve option (CLASS:TYPE[:HEX], e.g. 0x0102:0x80:0000000c)`);
  }
  const typeByte = parseNumber(type);
  return {
    optionClass: parseNumber(optionClass),
    type: typeByte & 0x7f,
    critical: typeByte >> 7,
    data: parseHex(data ?? ""),
  };
}

/** A GTP-U extension header `TYPE:HEX`: its type and content (padded to 4 × length − 2 bytes). */
function gtpExtensionItem(item: string): GtpuExtension {
  const [type, content, ...extra] = item.split(":");
  if (type === undefined || extra.length > 0) {
    throw new Error(`"${item}" is not a GTP-U extension header (TYPE:HEX, e.g. 0xc0:0904)`);
  }
  return { type: parseNumber(type), content: parseHex(content ?? "") };
}

/** An NSH metadata TLV `CLASS:TYPE[:HEX]`: its class, type and metadata (padded to 4 bytes on encode). */
function nshTlvItem(item: string): NshTlv {
  const [metadataClass, type, data, ...extra] = item.split(":");
  if (metadataClass === undefined || type === undefined || extra.length > 0) {
    throw new Error(`"${item}" is not an NSH metadata TLV (CLASS:TYPE[:HEX], e.g. 0x0001:2:12345678)`);
  }
  return { metadataClass: parseNumber(metadataClass), type: parseNumber(type), data: parseHex(data ?? "") };
}
