import { formatHex } from "./address-text.ts";
import type { ChecksumStatus, LayerAnomaly } from "./anomaly.ts";
import { type ArpFields, arpOpName } from "./arp.ts";
import { type EthernetFields, etherTypeName } from "./ethernet.ts";
import { describeIcmpRest, type IcmpFields, icmpCodeName, icmpRest, icmpTypeName } from "./icmp.ts";
import { describeIcmpv6Rest, describeNdOption, type Icmpv6Fields, icmpv6CodeName, icmpv6TypeName } from "./icmpv6.ts";
import { describeIpv4Option, describeTos, type Ipv4Fields, ipProtocolName } from "./ipv4.ts";
import { describeIpv6Extension, type Ipv6Fields } from "./ipv6.ts";
import { type Sll2Fields, type SllFields, sllPacketTypeName } from "./linux-sll.ts";
import { addressFamilyName, type LoopbackFields } from "./null-loopback.ts";
import type { RtcpPacketFields } from "./rtcp.ts";
import { rtcpTypeName } from "./rtcp.ts";
import type { RtpFields } from "./rtp.ts";
import { staticPayloadType } from "./rtp-payload-types.ts";
import type { SdpSession } from "./sdp.ts";
import type { SipRequest, SipResponse } from "./sip.ts";
import { type TcpFields, tcpFlagLetters, tcpFlagNames, tcpOptionName, tcpOptionValue } from "./tcp.ts";
import type { UdpFields } from "./udp.ts";
import type { VlanFields } from "./vlan.ts";

/**
 * The slow-path layer model (display and crafting). A packet is a list of layers, outermost
 * first; each layer is `{ type, fields }` where `fields` are the header fields of that protocol
 * (the same shapes the per-protocol `encodeX` take). Fields left undefined (lengths, checksums,
 * EtherType / protocol selectors) are filled when the packet is encoded.
 */

/** Payload bytes that no decoder claimed (or that a truncated header left over). */
export interface RawFields {
  data: Uint8Array;
  /** Set when these bytes are a header that could not be decoded (e.g. "TCP" cut short). */
  undecoded?: string;
}

export interface RtcpLayerFields {
  packets: RtcpPacketFields[];
  /** Padding octets at the end of the last packet (0 = none). */
  paddingLength?: number;
}

/** A SIP message without its body (the body is the next layer: SDP or Raw). */
export type SipLayerFields = Omit<SipRequest, "body"> | Omit<SipResponse, "body">;

export interface LayerFieldMap {
  Ether: EthernetFields;
  Dot1Q: VlanFields;
  SLL: SllFields;
  SLL2: Sll2Fields;
  Loopback: LoopbackFields;
  ARP: ArpFields;
  IPv4: Ipv4Fields;
  IPv6: Ipv6Fields;
  ICMP: IcmpFields;
  ICMPv6: Icmpv6Fields;
  UDP: UdpFields;
  TCP: TcpFields;
  RTP: RtpFields;
  RTCP: RtcpLayerFields;
  SIP: SipLayerFields;
  SDP: SdpSession;
  Raw: RawFields;
  /** Link-layer padding / trailer after the network packet. */
  Padding: RawFields;
}

export type LayerType = keyof LayerFieldMap;

export interface Layer<T extends LayerType = LayerType> {
  type: T;
  fields: LayerFieldMap[T];
  /** Decoded layers: anomalies found in this layer. */
  anomalies?: LayerAnomaly[];
  /** Decoded layers with a checksum: how it verified. */
  checksumStatus?: ChecksumStatus;
  /** Decoded layers: byte offset of the header in the packet and header length. */
  offset?: number;
  headerLength?: number;
  /** Layers inside an ICMP/ICMPv6 error message (the quoted original datagram). */
  quoted?: boolean;
}

/** The typed union: narrowing on `type` gives the fields of that protocol. */
export type AnyLayer = { [K in LayerType]: Layer<K> }[LayerType];

export interface LayerInfo {
  /** Display title in `show()`. */
  title: string;
  /** TCP/IP model layer (RFC 1122 naming). */
  tcpip: "link" | "internet" | "transport" | "application";
  /** OSI layer number. */
  osi: number;
}

export const LAYER_INFO: Readonly<Record<LayerType, LayerInfo>> = {
  Ether: { title: "Ethernet", tcpip: "link", osi: 2 },
  Dot1Q: { title: "802.1Q", tcpip: "link", osi: 2 },
  SLL: { title: "Linux cooked (SLL)", tcpip: "link", osi: 2 },
  SLL2: { title: "Linux cooked v2 (SLL2)", tcpip: "link", osi: 2 },
  Loopback: { title: "Loopback", tcpip: "link", osi: 2 },
  ARP: { title: "ARP", tcpip: "link", osi: 2 },
  IPv4: { title: "IPv4", tcpip: "internet", osi: 3 },
  IPv6: { title: "IPv6", tcpip: "internet", osi: 3 },
  ICMP: { title: "ICMP", tcpip: "internet", osi: 3 },
  ICMPv6: { title: "ICMPv6", tcpip: "internet", osi: 3 },
  UDP: { title: "UDP", tcpip: "transport", osi: 4 },
  TCP: { title: "TCP", tcpip: "transport", osi: 4 },
  RTP: { title: "RTP", tcpip: "application", osi: 7 },
  RTCP: { title: "RTCP", tcpip: "application", osi: 7 },
  SIP: { title: "SIP", tcpip: "application", osi: 7 },
  SDP: { title: "SDP", tcpip: "application", osi: 7 },
  Raw: { title: "Raw", tcpip: "application", osi: 7 },
  Padding: { title: "Padding", tcpip: "link", osi: 2 },
};

/** One `show()` line: field name, value, and (optional) meaning. */
export type ShowRow = readonly [name: string, value: string, meaning?: string];

const hex = (value: number | undefined, digits: number) =>
  value === undefined ? "auto" : `0x${value.toString(16).padStart(digits, "0")}`;
const num = (value: number | undefined) => (value === undefined ? "auto" : String(value));
const checksumMeaning = (status: ChecksumStatus | undefined) => (status === undefined ? undefined : status);

function previewBytes(data: Uint8Array): string {
  const shown = formatHex(data, 0, Math.min(data.length, 32));
  return data.length > 32 ? `${shown}…` : shown;
}

function printable(data: Uint8Array): string | undefined {
  const text = Array.from(data.subarray(0, 48), (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."));
  return data.length > 0 ? `"${text.join("")}${data.length > 48 ? "…" : ""}"` : undefined;
}

/** The EtherType / protocol the enclosing link layer announced (the TPID for a VLAN tag). */
function enclosingType(previous: AnyLayer | undefined): number | undefined {
  if (previous?.type === "Ether" || previous?.type === "Dot1Q") return previous.fields.type;
  if (previous?.type === "SLL" || previous?.type === "SLL2") return previous.fields.protocol;
  return undefined;
}

/** Every field of a layer with its value and meaning. `previous` is the enclosing layer. */
export function layerRows(layer: AnyLayer, previous?: AnyLayer): ShowRow[] {
  switch (layer.type) {
    case "Ether": {
      const f = layer.fields;
      return [
        ["dst", f.dst, f.dst === "ff:ff:ff:ff:ff:ff" ? "broadcast" : undefined],
        ["src", f.src],
        ["type", hex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
      ];
    }
    case "Dot1Q": {
      const f = layer.fields;
      const tpid = enclosingType(previous);
      return [
        ["tpid", hex(tpid, 4), tpid === 0x88a8 ? "802.1ad service tag" : "802.1Q customer tag"],
        ["prio", String(f.prio), "priority code point (802.1p)"],
        ["dei", String(f.dei), "drop eligible"],
        ["vlan", String(f.vlan), "VLAN id"],
        ["type", hex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
      ];
    }
    case "SLL":
    case "SLL2": {
      const f = layer.fields;
      const rows: ShowRow[] = [
        ["pktType", String(f.pktType), sllPacketTypeName(f.pktType)],
        ["hatype", String(f.hatype), f.hatype === 1 ? "Ethernet" : f.hatype === 772 ? "loopback" : undefined],
        ["addrLength", String(f.addrLength)],
        ["addr", f.addr],
        ["protocol", hex(f.protocol, 4), f.protocol === undefined ? undefined : etherTypeName(f.protocol)],
      ];
      if (layer.type === "SLL2") {
        rows.push(["reserved", String(layer.fields.reserved)], ["ifindex", String(layer.fields.ifindex)]);
      }
      return rows;
    }
    case "Loopback":
      return [
        [
          "family",
          num(layer.fields.family),
          layer.fields.family === undefined ? undefined : addressFamilyName(layer.fields.family),
        ],
        ["byteOrder", layer.fields.byteOrder, layer.fields.byteOrder === "le" ? "little-endian" : "big-endian"],
      ];
    case "ARP": {
      const f = layer.fields;
      return [
        ["hwType", String(f.hwType), f.hwType === 1 ? "Ethernet" : undefined],
        ["protoType", hex(f.protoType, 4), etherTypeName(f.protoType)],
        ["hwLength", String(f.hwLength)],
        ["protoLength", String(f.protoLength)],
        ["op", String(f.op), arpOpName(f.op)],
        ["hwSrc", f.hwSrc],
        ["protoSrc", f.protoSrc],
        ["hwDst", f.hwDst],
        ["protoDst", f.protoDst],
      ];
    }
    case "IPv4": {
      const f = layer.fields;
      const rows: ShowRow[] = [
        ["version", String(f.version)],
        ["ihl", num(f.ihl), f.ihl === undefined ? undefined : `${f.ihl * 4} bytes`],
        ["tos", hex(f.tos, 2), describeTos(f.tos)],
        ["totalLength", num(f.totalLength)],
        ["id", hex(f.id, 4), String(f.id)],
        ["reserved", String(f.reserved), "reserved flag"],
        ["df", String(f.df), f.df ? "don't fragment" : "may fragment"],
        ["mf", String(f.mf), f.mf ? "more fragments" : "last fragment"],
        ["fragOffset", String(f.fragOffset), `${f.fragOffset * 8} bytes`],
        ["ttl", String(f.ttl)],
        ["protocol", num(f.protocol), f.protocol === undefined ? undefined : ipProtocolName(f.protocol)],
        ["checksum", hex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
        ["src", f.src],
        ["dst", f.dst],
      ];
      f.options.forEach((o, i) => {
        rows.push([`options[${i}]`, String(o.type), describeIpv4Option(o)]);
      });
      return rows;
    }
    case "IPv6": {
      const f = layer.fields;
      const rows: ShowRow[] = [
        ["version", String(f.version)],
        ["trafficClass", hex(f.trafficClass, 2), describeTos(f.trafficClass)],
        ["flowLabel", hex(f.flowLabel, 5)],
        ["payloadLength", num(f.payloadLength)],
        ["nextHeader", num(f.nextHeader), f.nextHeader === undefined ? undefined : ipProtocolName(f.nextHeader)],
        ["hopLimit", String(f.hopLimit)],
        ["src", f.src],
        ["dst", f.dst],
      ];
      f.extensions.forEach((e, i) => {
        rows.push([
          `extensions[${i}]`,
          String(e.type),
          `${describeIpv6Extension(e)}; next header ${e.nextHeader ?? "auto"}`,
        ]);
      });
      return rows;
    }
    case "ICMP": {
      const f = layer.fields;
      const rest = icmpRest(f);
      return [
        ["type", String(f.type), icmpTypeName(f.type)],
        ["code", String(f.code), icmpCodeName(f.type, f.code) || undefined],
        ["checksum", hex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
        ["rest", hex(rest, 8), describeIcmpRest(f.type, f.code, rest)],
      ];
    }
    case "ICMPv6": {
      const f = layer.fields;
      const rest =
        f.id !== undefined || f.seq !== undefined ? (((f.id ?? 0) << 16) | (f.seq ?? 0)) >>> 0 : (f.rest ?? 0) >>> 0;
      const rows: ShowRow[] = [
        ["type", String(f.type), icmpv6TypeName(f.type)],
        ["code", String(f.code), icmpv6CodeName(f.type, f.code) || undefined],
        ["checksum", hex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
        ["rest", hex(rest, 8), describeIcmpv6Rest(f.type, rest)],
      ];
      if (f.reachableTime !== undefined) rows.push(["reachableTime", String(f.reachableTime), "ms"]);
      if (f.retransTimer !== undefined) rows.push(["retransTimer", String(f.retransTimer), "ms"]);
      if (f.target !== undefined) rows.push(["target", f.target]);
      if (f.destination !== undefined) rows.push(["destination", f.destination]);
      (f.ndOptions ?? []).forEach((o, i) => {
        rows.push([`ndOptions[${i}]`, String(o.type), describeNdOption(o)]);
      });
      return rows;
    }
    case "UDP": {
      const f = layer.fields;
      return [
        ["sport", String(f.sport)],
        ["dport", String(f.dport)],
        ["length", num(f.length), f.length === undefined ? undefined : `${f.length - 8} payload bytes`],
        [
          "checksum",
          hex(f.checksum, 4),
          layer.checksumStatus === "not-present"
            ? "none (not computed by sender)"
            : checksumMeaning(layer.checksumStatus),
        ],
      ];
    }
    case "TCP": {
      const f = layer.fields;
      const rows: ShowRow[] = [
        ["sport", String(f.sport)],
        ["dport", String(f.dport)],
        ["seq", String(f.seq)],
        ["ack", String(f.ack)],
        ["dataOffset", num(f.dataOffset), f.dataOffset === undefined ? undefined : `${f.dataOffset * 4} bytes`],
        [
          "flags",
          hex(f.flags, 3),
          `${tcpFlagLetters(f.flags) || "none"} (${tcpFlagNames(f.flags).join(", ") || "none"})`,
        ],
        ["window", String(f.window)],
        ["checksum", hex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
        ["urgentPointer", String(f.urgentPointer)],
      ];
      f.options.forEach((o, i) => {
        const value = tcpOptionValue(o);
        rows.push([`options[${i}]`, tcpOptionName(o.kind), value || undefined]);
      });
      return rows;
    }
    case "RTP": {
      const f = layer.fields;
      const pt = staticPayloadType(f.payloadType);
      return [
        ["version", String(f.version ?? 2)],
        ["marker", String(f.marker)],
        ["payloadType", String(f.payloadType), pt === undefined ? "dynamic" : pt.encoding],
        ["sequence", String(f.sequence)],
        ["timestamp", String(f.timestamp)],
        ["ssrc", hex(f.ssrc, 8)],
        ["csrc", (f.csrc ?? []).map((c) => hex(c, 8)).join(" ") || "none"],
        [
          "extension",
          f.extension ? `profile ${hex(f.extension.profile, 4)}` : "none",
          f.extension ? `${f.extension.data.length} bytes` : undefined,
        ],
        ["paddingLength", String(f.paddingLength ?? 0)],
      ];
    }
    case "RTCP":
      return layer.fields.packets.map((p, i) => [`packets[${i}]`, p.kind, describeRtcpPacket(p)] as const);
    case "SIP": {
      const f = layer.fields;
      const rows: ShowRow[] =
        f.kind === "request"
          ? [
              ["method", f.method],
              ["requestUri", f.requestUri],
              ["version", f.version],
            ]
          : [
              ["version", f.version],
              ["statusCode", String(f.statusCode)],
              ["reasonPhrase", f.reasonPhrase],
            ];
      for (const h of f.headers) rows.push([h.name, h.value]);
      return rows;
    }
    case "SDP": {
      const f = layer.fields;
      const rows: ShowRow[] = [["v", String(f.version)]];
      if (f.origin) {
        const o = f.origin;
        rows.push(["o", `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`]);
      }
      rows.push(["s", f.sessionName]);
      if (f.connection) rows.push(["c", `${f.connection.netType} ${f.connection.addrType} ${f.connection.address}`]);
      for (const t of f.timing) rows.push(["t", `${t.start} ${t.stop}`]);
      for (const a of f.attributes) rows.push(["a", a.value === null ? a.name : `${a.name}:${a.value}`]);
      for (const m of f.media) {
        rows.push(["m", `${m.media} ${m.port} ${m.proto} ${m.formats.join(" ")}`]);
        for (const c of m.connections) rows.push(["  c", `${c.netType} ${c.addrType} ${c.address}`]);
        for (const a of m.attributes) rows.push(["  a", a.value === null ? a.name : `${a.name}:${a.value}`]);
      }
      return rows;
    }
    case "Raw":
    case "Padding": {
      const f = layer.fields;
      const rows: ShowRow[] = [["data", previewBytes(f.data), `${f.data.length} bytes`]];
      const text = printable(f.data);
      if (text !== undefined && layer.type === "Raw") rows.push(["text", text]);
      if (f.undecoded !== undefined) rows.push(["undecoded", f.undecoded, "header could not be decoded"]);
      return rows;
    }
  }
}

function describeRtcpPacket(p: RtcpPacketFields): string {
  const ssrc = "ssrc" in p && typeof p.ssrc === "number" ? ` ssrc ${hex(p.ssrc, 8)}` : "";
  const type = p.kind === "unknown" ? p.packetType : undefined;
  return `${type === undefined ? p.kind.toUpperCase() : rtcpTypeName(type)}${ssrc}`;
}

/** One-line summary of a layer (Scapy/tshark style). */
export function layerSummary(layer: AnyLayer, previous?: AnyLayer): string {
  switch (layer.type) {
    case "Ether":
      return "Ether";
    case "Dot1Q": {
      const tpid = enclosingType(previous);
      return `${tpid === 0x88a8 ? "802.1ad" : "802.1Q"} vlan=${layer.fields.vlan}`;
    }
    case "SLL":
    case "SLL2":
    case "Loopback":
      return layer.type;
    case "ARP": {
      const f = layer.fields;
      if (f.op === 1) return `ARP who-has ${f.protoDst} tell ${f.protoSrc}`;
      if (f.op === 2) return `ARP ${f.protoSrc} is-at ${f.hwSrc}`;
      return `ARP ${arpOpName(f.op)}`;
    }
    case "IPv4": {
      const f = layer.fields;
      const frag = f.mf || f.fragOffset ? ` frag off=${f.fragOffset * 8}${f.mf ? " MF" : ""}` : "";
      return `IP ${f.src} > ${f.dst}${frag}`;
    }
    case "IPv6": {
      const f = layer.fields;
      const fragment = f.extensions.find((e) => e.type === 44);
      return `IPv6 ${f.src} > ${f.dst}${fragment ? " frag" : ""}`;
    }
    case "ICMP": {
      const f = layer.fields;
      const code = icmpCodeName(f.type, f.code);
      const echo = f.id !== undefined ? ` id=${f.id} seq=${f.seq ?? 0}` : "";
      return `ICMP ${icmpTypeName(f.type)}${code ? ` ${code}` : ""}${echo}`;
    }
    case "ICMPv6": {
      const f = layer.fields;
      const code = icmpv6CodeName(f.type, f.code);
      const echo = f.id !== undefined ? ` id=${f.id} seq=${f.seq ?? 0}` : "";
      const target = f.target !== undefined ? ` ${f.type === 135 ? "who-has " : ""}${f.target}` : "";
      return `ICMPv6 ${icmpv6TypeName(f.type)}${code ? ` ${code}` : ""}${echo}${target}`;
    }
    case "UDP": {
      const f = layer.fields;
      return `UDP ${f.sport} > ${f.dport}${f.length === undefined ? "" : ` len=${Math.max(0, f.length - 8)}`}`;
    }
    case "TCP": {
      const f = layer.fields;
      return `TCP ${f.sport} > ${f.dport} [${tcpFlagLetters(f.flags)}] seq=${f.seq}${f.flags & 0x10 ? ` ack=${f.ack}` : ""} win=${f.window}`;
    }
    case "RTP": {
      const f = layer.fields;
      const pt = staticPayloadType(f.payloadType);
      return `RTP pt=${f.payloadType}${pt ? ` (${pt.encoding})` : ""} seq=${f.sequence} ts=${f.timestamp} ssrc=${hex(f.ssrc, 8)}${f.marker ? " M" : ""}`;
    }
    case "RTCP":
      return `RTCP ${layer.fields.packets.map((p) => p.kind.toUpperCase()).join(", ")}`;
    case "SIP": {
      const f = layer.fields;
      return f.kind === "request" ? `SIP ${f.method} ${f.requestUri}` : `SIP ${f.statusCode} ${f.reasonPhrase}`;
    }
    case "SDP": {
      const media = layer.fields.media.map((m) => `${m.media} ${m.port}`).join(", ");
      return `SDP${media ? ` ${media}` : ""}`;
    }
    case "Raw":
      return layer.fields.undecoded !== undefined
        ? `Raw ${layer.fields.data.length} bytes (undecoded ${layer.fields.undecoded})`
        : `Raw ${layer.fields.data.length} bytes`;
    case "Padding":
      return `Padding ${layer.fields.data.length} bytes`;
  }
}

/** `###[ IPv4 ]### (TCP/IP: internet, OSI 3)` plus aligned `name = value  (meaning)` lines. */
export function showLayer(layer: AnyLayer, previous?: AnyLayer, indent = ""): string {
  const info = LAYER_INFO[layer.type];
  const title = layer.quoted ? `${info.title} (quoted in ICMP error)` : info.title;
  const lines = [`${indent}###[ ${title} ]### (TCP/IP: ${info.tcpip}, OSI ${info.osi})`];
  const rows = layerRows(layer, previous);
  const width = Math.max(...rows.map(([name]) => name.length), 1);
  for (const [name, value, meaning] of rows) {
    lines.push(`${indent}  ${name.padEnd(width)} = ${value}${meaning ? `  (${meaning})` : ""}`);
  }
  for (const a of layer.anomalies ?? []) lines.push(`${indent}  !! ${a.code}: ${a.message}`);
  return lines.join("\n");
}
