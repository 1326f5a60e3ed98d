import { formatHex, parseIp } from "./address-text.ts";
import type { ChecksumStatus, LayerAnomaly, PacketAnomaly } from "./anomaly.ts";
import { anomaly } from "./anomaly.ts";
import { decodeArp, encodeArp } from "./arp.ts";
import { concatBytes } from "./byte-order.ts";
import type { PseudoHeader } from "./checksum.ts";
import { decodeEthernet, ETHERNET_HEADER_SIZE, ETHERNET_MIN_FRAME, encodeEthernet } from "./ethernet.ts";
import { decodeIcmp, encodeIcmp, ICMP_HEADER_SIZE } from "./icmp.ts";
import { decodeIcmpv6, encodeIcmpv6, ICMPV6_HEADER_SIZE, isIcmpv6Error } from "./icmpv6.ts";
import { decodeIpv4, encodeIpv4, ipv4FinalDestination } from "./ipv4.ts";
import { decodeIpv6, encodeIpv6, IPV6_HEADER_SIZE, ipv6FinalDestination, isIpv6Extension } from "./ipv6.ts";
import { type AnyLayer, type Layer, type LayerType, layerSummary, showLayer } from "./layer.ts";
import { LinkType } from "./link-type.ts";
import { decodeSll, decodeSll2, encodeSll, encodeSll2 } from "./linux-sll.ts";
import { decodeLoopback, encodeLoopback, isInet6Family } from "./null-loopback.ts";
import { decodeRtcp, encodeRtcp } from "./rtcp.ts";
import { decodeRtp, encodeRtp, looksLikeRtp } from "./rtp.ts";
import { encodeSdpBytes, parseSdp } from "./sdp.ts";
import { decodeSip, encodeSip, type SipMessage, sipContentType } from "./sip.ts";
import { decodeTcp, encodeTcp } from "./tcp.ts";
import type { TransportContext } from "./transport-context.ts";
import { decodeUdp, encodeUdp } from "./udp.ts";
import { decodeVlan, encodeVlan, isVlanTpid, VLAN_MAX_DEPTH } from "./vlan.ts";

/**
 * A packet in the slow-path layer model: decoded from bytes (`decodePacket`) or built from layers
 * (builder.ts). Layers are outermost first; `get("TCP")` finds one by type with typed fields.
 * `bytes()` encodes the layers, filling what was left undefined (lengths, checksums, EtherType and
 * protocol numbers); a decoded packet has every field set, so `bytes()` gives back its bytes.
 */
export class Packet {
  readonly layers: readonly AnyLayer[];
  /** LINKTYPE_* of the first layer: the capture's for decoded packets, derived for built ones. */
  readonly linkType: number;
  /** True when the layers came from `decodePacket` (all fields explicit). */
  readonly decoded: boolean;

  constructor(layers: readonly AnyLayer[], options: { linkType?: number; decoded?: boolean } = {}) {
    this.layers = layers;
    this.linkType = options.linkType ?? linkTypeOf(layers[0]);
    this.decoded = options.decoded ?? false;
  }

  /** Every anomaly of every layer, with the layer's type. */
  get anomalies(): PacketAnomaly[] {
    const out: PacketAnomaly[] = [];
    for (const layer of this.layers) {
      for (const a of layer.anomalies ?? []) out.push({ layer: layer.type, code: a.code, message: a.message });
    }
    return out;
  }

  /** The `index`-th layer of this type (0 = outermost), or undefined. */
  get<T extends LayerType>(type: T, index = 0): Layer<T> | undefined {
    let seen = 0;
    for (const layer of this.layers) {
      if (layer.type === type && seen++ === index) return layer as unknown as Layer<T>;
    }
    return undefined;
  }

  getAll<T extends LayerType>(type: T): Layer<T>[] {
    return this.layers.filter((l) => l.type === type) as unknown as Layer<T>[];
  }

  has(type: LayerType): boolean {
    return this.layers.some((l) => l.type === type);
  }

  /** A new packet with `inner` stacked inside this one (Scapy's `/`). */
  over(...inner: readonly (Packet | AnyLayer)[]): Packet {
    const layers = [...this.layers];
    for (const part of inner) {
      if (part instanceof Packet) layers.push(...part.layers);
      else layers.push(part);
    }
    return new Packet(layers);
  }

  /** Encodes the layers into one frame. */
  bytes(): Uint8Array {
    return encodeLayers(this.layers);
  }

  /**
   * Built packets are encoded and decoded again first (like Scapy's show2), so lengths, checksums
   * and protocol numbers show their computed values.
   */
  resolved(): Packet {
    if (this.decoded || this.linkType < 0) return this;
    return decodePacket(this.bytes(), this.linkType);
  }

  /** Multi-line: every field of every layer with its meaning, each layer labelled with its TCP/IP and OSI layer. */
  show(): string {
    const packet = this.resolved();
    return packet.layers.map((layer, i) => showLayer(layer, packet.layers[i - 1], layer.quoted ? "  " : "")).join("\n");
  }

  /** One line, e.g. `Ether / IP 10.77.0.1 > 10.77.0.2 / UDP 5004 > 5004 len=172`. */
  summary(): string {
    const packet = this.resolved();
    const parts: string[] = [];
    let quoted: string[] = [];
    packet.layers.forEach((layer, i) => {
      const text = layerSummary(layer, packet.layers[i - 1]);
      if (layer.quoted) quoted.push(text);
      else {
        if (quoted.length > 0) parts.push(`[${quoted.join(" / ")}]`);
        quoted = [];
        if (layer.type !== "Padding") parts.push(text);
      }
    });
    if (quoted.length > 0) parts.push(`[${quoted.join(" / ")}]`);
    return parts.join(" / ");
  }

  /** JSON form: layers with their fields (bytes as hex), checksum status and anomalies. */
  toJSON(): { linkType: number; layers: unknown[]; anomalies: PacketAnomaly[] } {
    return {
      linkType: this.linkType,
      layers: this.layers.map((layer) => ({
        type: layer.type,
        ...(layer.quoted ? { quoted: true } : {}),
        fields: jsonValue(layer.fields),
        ...(layer.checksumStatus ? { checksumStatus: layer.checksumStatus } : {}),
        ...(layer.anomalies && layer.anomalies.length > 0 ? { anomalies: layer.anomalies } : {}),
      })),
      anomalies: this.anomalies,
    };
  }
}

function jsonValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return formatHex(value);
  if (Array.isArray(value)) return value.map(jsonValue);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, jsonValue(v)]),
    );
  }
  return value;
}

function linkTypeOf(first: AnyLayer | undefined): number {
  switch (first?.type) {
    case "Ether":
      return LinkType.ETHERNET;
    case "SLL":
      return LinkType.LINUX_SLL;
    case "SLL2":
      return LinkType.LINUX_SLL2;
    case "Loopback":
      return first.fields.byteOrder === "le" ? LinkType.NULL : LinkType.LOOP;
    case "IPv4":
    case "IPv6":
      return LinkType.RAW;
    default:
      return -1;
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface DecodePacketOptions {
  /** Bytes on the wire (default: all captured). A longer wire length marks snaplen truncation. */
  wireLength?: number;
  /** Decode RTP/RTCP (and registered application decoders) after UDP/TCP (default true). */
  application?: boolean;
}

/** What an application-layer decoder gets: the transport payload and the ports. */
export interface AppPayload {
  bytes: Uint8Array;
  offset: number;
  end: number;
  transport: "UDP" | "TCP";
  sport: number;
  dport: number;
}

/**
 * Decodes an application payload into layers (its own header layers and a trailing `Raw`), or
 * returns undefined to let the next decoder try. Registered decoders run before the built-in
 * RTP/RTCP heuristics.
 */
export type AppDecoder = (payload: AppPayload) => AnyLayer[] | undefined;

const appDecoders: AppDecoder[] = [];

export function registerAppDecoder(decoder: AppDecoder): void {
  if (!appDecoders.includes(decoder)) appDecoders.push(decoder);
}

type DecodedMeta = { anomalies: LayerAnomaly[]; headerLength: number; checksumStatus?: ChecksumStatus };

const META_KEYS = new Set(["headerLength", "complete", "anomalies", "checksumStatus", "fragment", "quotesPacket"]);

/** Header fields of a decoder result without the decode bookkeeping (`extra` = more keys to drop). */
function fieldsOf<F>(decoded: F & DecodedMeta, extra?: string): F {
  const out: Record<string, unknown> = {};
  const source = decoded as unknown as Record<string, unknown>;
  for (const key in source) {
    if (!META_KEYS.has(key) && key !== extra) out[key] = source[key];
  }
  return out as F;
}

class LayerDecoder {
  readonly layers: AnyLayer[] = [];

  constructor(
    readonly bytes: Uint8Array,
    readonly wireLength: number,
    readonly application: boolean,
  ) {}

  push(layer: AnyLayer, meta: DecodedMeta, offset: number, quoted: boolean): void {
    layer.offset = offset;
    layer.headerLength = meta.headerLength;
    layer.anomalies = quoted ? meta.anomalies.filter((a) => a.code !== "truncated") : meta.anomalies;
    if (meta.checksumStatus !== undefined) layer.checksumStatus = meta.checksumStatus;
    if (quoted) layer.quoted = true;
    this.layers.push(layer);
  }

  raw(offset: number, end: number, quoted: boolean, undecoded?: string, anomalies: LayerAnomaly[] = []): void {
    if (end <= offset && undecoded === undefined) return;
    const data = this.bytes.slice(offset, Math.max(offset, end));
    const fields = undecoded === undefined ? { data } : { data, undecoded };
    this.push({ type: "Raw", fields }, { anomalies, headerLength: data.length }, offset, quoted);
  }

  link(linkType: number, end: number): void {
    const b = this.bytes;
    switch (linkType) {
      case LinkType.ETHERNET: {
        const d = decodeEthernet(b, 0, end);
        if (!d.complete) {
          this.raw(0, end, false, "Ether", d.anomalies);
          return;
        }
        this.push({ type: "Ether", fields: fieldsOf(d) }, d, 0, false);
        this.trailer(this.etherPayload(d.type, ETHERNET_HEADER_SIZE, end, 0), end, true);
        return;
      }
      case LinkType.LINUX_SLL:
      case LinkType.LINUX_SLL2: {
        const d = linkType === LinkType.LINUX_SLL ? decodeSll(b, 0, end) : decodeSll2(b, 0, end);
        const type = linkType === LinkType.LINUX_SLL ? "SLL" : "SLL2";
        if (!d.complete) {
          this.raw(0, end, false, type, d.anomalies);
          return;
        }
        this.push({ type, fields: fieldsOf(d) } as AnyLayer, d, 0, false);
        this.trailer(this.etherPayload(d.protocol, d.headerLength, end, 0), end, false);
        return;
      }
      case LinkType.NULL:
      case LinkType.LOOP: {
        const d = decodeLoopback(b, 0, end);
        if (!d.complete) {
          this.raw(0, end, false, "Loopback", d.anomalies);
          return;
        }
        this.push({ type: "Loopback", fields: fieldsOf(d) }, d, 0, false);
        const type = d.family === 2 ? 0x0800 : isInet6Family(d.family) ? 0x86dd : 0;
        this.trailer(this.etherPayload(type, d.headerLength, end, 0), end, false);
        return;
      }
      case LinkType.RAW:
        this.trailer(this.etherPayload((b[0] ?? 0) >> 4 === 6 ? 0x86dd : 0x0800, 0, end, 0), end, false);
        return;
      case LinkType.IPV4:
        this.trailer(this.etherPayload(0x0800, 0, end, 0), end, false);
        return;
      case LinkType.IPV6:
        this.trailer(this.etherPayload(0x86dd, 0, end, 0), end, false);
        return;
      default:
        this.raw(0, end, false);
        return;
    }
  }

  /** Bytes after the network packet: Ethernet minimum-frame padding, else flagged. */
  trailer(networkEnd: number, end: number, ethernet: boolean): void {
    if (networkEnd >= end) return;
    const anomalies =
      ethernet && end <= ETHERNET_MIN_FRAME
        ? []
        : [anomaly("trailing-bytes", `${end - networkEnd} bytes after the end of the network packet`)];
    const data = this.bytes.slice(networkEnd, end);
    this.push({ type: "Padding", fields: { data } }, { anomalies, headerLength: data.length }, networkEnd, false);
  }

  /** Decodes what an EtherType announces; returns where the network packet ends. */
  etherPayload(type: number, offset: number, end: number, depth: number): number {
    if (isVlanTpid(type)) {
      const d = decodeVlan(this.bytes, offset, end);
      if (!d.complete) {
        this.raw(offset, end, false, "Dot1Q", d.anomalies);
        return end;
      }
      if (depth >= VLAN_MAX_DEPTH) {
        this.raw(offset, end, false, "Dot1Q", [anomaly("too-deep", `more than ${VLAN_MAX_DEPTH} stacked VLAN tags`)]);
        return end;
      }
      this.push({ type: "Dot1Q", fields: fieldsOf(d) }, d, offset, false);
      return this.etherPayload(d.type, offset + d.headerLength, end, depth + 1);
    }
    if (type === 0x0800) return this.ipv4(offset, end, false);
    if (type === 0x86dd) return this.ipv6(offset, end, false);
    if (type === 0x0806) {
      const d = decodeArp(this.bytes, offset, end);
      if (!d.complete) {
        this.raw(offset, end, false, "ARP", d.anomalies);
        return end;
      }
      this.push({ type: "ARP", fields: fieldsOf(d) }, d, offset, false);
      return offset + d.headerLength;
    }
    this.raw(offset, end, false);
    return end;
  }

  /** Bytes the wire had beyond `offset` (the frame starts at 0). */
  private wireAfter(offset: number): number {
    return this.wireLength - offset;
  }

  ipv4(offset: number, end: number, quoted: boolean): number {
    const b = this.bytes;
    const d = decodeIpv4(b, offset, end);
    if (!d.complete) {
      this.raw(offset, end, quoted, "IPv4", d.anomalies);
      return end;
    }
    const headerBytes = d.ihl * 4;
    const lengthOk = d.totalLength >= headerBytes;
    if (!quoted && lengthOk && d.totalLength > this.wireAfter(offset)) {
      d.anomalies.push(
        anomaly("bad-length", `IPv4 total length ${d.totalLength} > ${this.wireAfter(offset)} bytes on the wire`),
      );
    }
    this.push({ type: "IPv4", fields: fieldsOf(d) }, d, offset, quoted);
    const packetEnd = lengthOk ? Math.min(end, offset + d.totalLength) : end;
    if (d.version !== 4 || !lengthOk || d.fragOffset > 0) {
      this.raw(offset + headerBytes, packetEnd, quoted);
      return packetEnd;
    }
    const context: TransportContext = {
      pseudo: {
        src: b.subarray(offset + 12, offset + 16),
        dst: d.options.length === 0 ? b.subarray(offset + 16, offset + 20) : parseIp(ipv4FinalDestination(d)),
      },
      length: d.totalLength - headerBytes,
      fragment: d.mf === 1,
      quoted,
    };
    this.transport(d.protocol, offset + headerBytes, packetEnd, context);
    return packetEnd;
  }

  ipv6(offset: number, end: number, quoted: boolean): number {
    const b = this.bytes;
    const d = decodeIpv6(b, offset, end);
    if (!d.complete) {
      this.raw(offset, end, quoted, "IPv6", d.anomalies);
      return end;
    }
    const total = IPV6_HEADER_SIZE + d.payloadLength;
    if (!quoted && total > this.wireAfter(offset)) {
      d.anomalies.push(anomaly("bad-length", `IPv6 payload length ${d.payloadLength} exceeds the bytes on the wire`));
    }
    this.push({ type: "IPv6", fields: fieldsOf(d, "upperProtocol") }, d, offset, quoted);
    const packetEnd = Math.min(end, offset + total);
    const upper = offset + d.headerLength;
    if (d.version !== 6 || isIpv6Extension(d.upperProtocol) || (d.fragment !== undefined && d.fragment.offset > 0)) {
      this.raw(upper, packetEnd, quoted);
      return packetEnd;
    }
    const context: TransportContext = {
      pseudo: {
        src: b.subarray(offset + 8, offset + 24),
        dst: d.extensions.length === 0 ? b.subarray(offset + 24, offset + 40) : parseIp(ipv6FinalDestination(d)),
      },
      length: Math.max(0, total - d.headerLength),
      fragment: d.fragment !== undefined,
      quoted,
    };
    this.transport(d.upperProtocol, upper, packetEnd, context);
    return packetEnd;
  }

  transport(protocol: number, offset: number, end: number, context: TransportContext): void {
    const b = this.bytes;
    const quoted = context.quoted === true;
    switch (protocol) {
      case 6: {
        const d = decodeTcp(b, offset, end, context);
        if (!d.complete) {
          this.raw(offset, end, quoted, "TCP", d.anomalies);
          return;
        }
        this.push({ type: "TCP", fields: fieldsOf(d, "payloadLength") }, d, offset, quoted);
        this.app("TCP", offset + d.headerLength, end, d.sport, d.dport, quoted);
        return;
      }
      case 17: {
        const d = decodeUdp(b, offset, end, context);
        if (!d.complete) {
          this.raw(offset, end, quoted, "UDP", d.anomalies);
          return;
        }
        this.push({ type: "UDP", fields: fieldsOf(d, "payloadLength") }, d, offset, quoted);
        const lengthOk = d.length >= 8 && d.length <= context.length;
        const datagramEnd = lengthOk ? Math.min(end, offset + d.length) : end;
        this.app("UDP", offset + 8, datagramEnd, d.sport, d.dport, quoted);
        if (datagramEnd < end) {
          const extra = end - datagramEnd;
          const note = anomaly(
            "trailing-bytes",
            `${extra} bytes after the UDP datagram (length ${d.length}) inside the IP packet`,
          );
          this.raw(datagramEnd, end, quoted, undefined, quoted ? [] : [note]);
        }
        return;
      }
      case 1: {
        const d = decodeIcmp(b, offset, end, context.length);
        if (!d.complete) {
          this.raw(offset, end, quoted, "ICMP", d.anomalies);
          return;
        }
        this.push({ type: "ICMP", fields: fieldsOf(d) }, d, offset, quoted);
        if (d.quotesPacket && !quoted && end - offset > ICMP_HEADER_SIZE) {
          this.ipv4(offset + ICMP_HEADER_SIZE, end, true);
          return;
        }
        this.raw(offset + ICMP_HEADER_SIZE, end, quoted);
        return;
      }
      case 58: {
        const d = decodeIcmpv6(b, offset, end, context);
        if (d.headerLength < ICMPV6_HEADER_SIZE) {
          this.raw(offset, end, quoted, "ICMPv6", d.anomalies);
          return;
        }
        this.push({ type: "ICMPv6", fields: fieldsOf(d) }, d, offset, quoted);
        if (isIcmpv6Error(d.type) && !quoted && end - offset > ICMPV6_HEADER_SIZE) {
          this.ipv6(offset + ICMPV6_HEADER_SIZE, end, true);
          return;
        }
        this.raw(offset + d.headerLength, end, quoted);
        return;
      }
      case 4:
        this.ipv4(offset, end, quoted);
        return;
      case 41:
        this.ipv6(offset, end, quoted);
        return;
      default:
        this.raw(offset, end, quoted);
        return;
    }
  }

  app(transport: "UDP" | "TCP", offset: number, end: number, sport: number, dport: number, quoted: boolean): void {
    if (quoted || !this.application || end <= offset) {
      this.raw(offset, end, quoted);
      return;
    }
    const payload: AppPayload = { bytes: this.bytes, offset, end, transport, sport, dport };
    for (const decoder of appDecoders) {
      const layers = decoder(payload);
      if (layers !== undefined) {
        this.layers.push(...layers);
        return;
      }
    }
    if (this.sip(transport, offset, end, sport, dport)) return;
    if (transport === "UDP" && this.rtpOrRtcp(offset, end, sport, dport)) return;
    this.raw(offset, end, false);
  }

  /**
   * SIP on port 5060/5061 or when the payload starts like a SIP start line; the body becomes an
   * SDP layer when its Content-Type says so. Only taken when re-encoding reproduces the bytes
   * exactly (so `bytes()` of a decoded packet stays byte-identical); otherwise left as Raw.
   */
  private sip(transport: "UDP" | "TCP", offset: number, end: number, sport: number, dport: number): boolean {
    const b = this.bytes;
    const sipPort = (p: number) => p === 5060 || p === 5061;
    if (!sipPort(sport) && !sipPort(dport) && !looksLikeSipStart(b, offset, end)) return false;
    const d = decodeSip(b, offset, end - offset, { transport: transport === "UDP" ? "datagram" : "stream" });
    const message = d.message;
    if (message === null || offset + d.messageLength !== end) return false;
    const bodyStart = end - message.body.length;
    if (!sameBytes(encodeSip(message), b, offset, end)) return false;
    const { body, ...fields } = message;
    this.push(
      { type: "SIP", fields },
      { anomalies: d.anomalies as LayerAnomaly[], headerLength: bodyStart - offset },
      offset,
      false,
    );
    if (body.length > 0 && sipContentType(message) === "application/sdp") {
      const sdp = parseSdp(body);
      if (sameBytes(encodeSdpBytes(sdp.session), b, bodyStart, end)) {
        this.push(
          { type: "SDP", fields: sdp.session },
          { anomalies: sdp.anomalies as LayerAnomaly[], headerLength: body.length },
          bodyStart,
          false,
        );
        return true;
      }
    }
    this.raw(bodyStart, end, false);
    return true;
  }

  /** RTCP when the second byte is an RTCP packet type (200–207) and it decodes cleanly; RTP by heuristic on unprivileged ports. */
  private rtpOrRtcp(offset: number, end: number, sport: number, dport: number): boolean {
    const b = this.bytes;
    const length = end - offset;
    if (sport < 1024 || dport < 1024 || length < 8 || (b[offset]! & 0xc0) !== 0x80) return false;
    const second = b[offset + 1]!;
    if (second >= 200 && second <= 207) {
      const d = decodeRtcp(b, offset, length);
      if (!d.complete) return false;
      const packets = d.packets.map((p) => {
        const { version, packetType, count, lengthWords, paddingLength, offset: at, byteLength, ...fields } = p;
        void [version, packetType, count, lengthWords, paddingLength, at, byteLength];
        return fields as unknown as (typeof d.packets)[number];
      });
      // Taken only when it re-encodes byte for byte (bytes() of a decoded packet stays exact).
      if (!sameBytes(encodeRtcp(packets, d.packets.at(-1)?.paddingLength ?? 0), b, offset, end)) return false;
      const layer: AnyLayer = {
        type: "RTCP",
        fields: { packets, paddingLength: d.packets.at(-1)?.paddingLength ?? 0 },
      };
      this.push(layer, { anomalies: d.anomalies as LayerAnomaly[], headerLength: length }, offset, false);
      return true;
    }
    if (!looksLikeRtp(b, offset, length)) return false;
    const d = decodeRtp(b, offset, length);
    if (!d.complete) return false;
    const fields = {
      version: d.version,
      marker: d.marker,
      payloadType: d.payloadType,
      sequence: d.sequence,
      timestamp: d.timestamp,
      ssrc: d.ssrc,
      csrc: d.csrc,
      extension: d.extension,
      paddingLength: d.paddingLength,
    };
    this.push({ type: "RTP", fields }, d, offset, false);
    this.raw(d.payloadOffset, d.payloadOffset + d.payloadLength, false);
    return true;
  }
}

function sameBytes(encoded: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (encoded.length !== end - start) return false;
  for (let i = 0; i < encoded.length; i++) if (encoded[i] !== bytes[start + i]) return false;
  return true;
}

/** "SIP/2.0 " or an upper-case method followed by a space and a sip:/sips:/tel: URI. */
function looksLikeSipStart(bytes: Uint8Array, offset: number, end: number): boolean {
  const first = bytes[offset] ?? 0;
  if (first < 0x41 || first > 0x5a) return false;
  const head = String.fromCharCode(...bytes.subarray(offset, Math.min(end, offset + 24)));
  return /^(SIP\/2\.0 \d|[A-Z]+ (sips?|tel):)/.test(head);
}

/**
 * Decodes one captured frame into layers. Never throws: malformed or truncated headers become
 * anomalies and the undecodable rest a `Raw` layer (with `undecoded` naming the header).
 */
export function decodePacket(bytes: Uint8Array, linkType: number, options: DecodePacketOptions = {}): Packet {
  const decoder = new LayerDecoder(bytes, options.wireLength ?? bytes.length, options.application ?? true);
  decoder.link(linkType, bytes.length);
  return new Packet(decoder.layers, { linkType, decoded: true });
}

// ---------------------------------------------------------------------------------------------
// Encoding

const ETHER_TYPE_OF: Partial<Record<LayerType, number>> = { Dot1Q: 0x8100, ARP: 0x0806, IPv4: 0x0800, IPv6: 0x86dd };
const IP_PROTOCOL_OF: Partial<Record<LayerType, number>> = { IPv4: 4, IPv6: 41, ICMP: 1, ICMPv6: 58, TCP: 6, UDP: 17 };

function pseudoFor(layers: readonly AnyLayer[], index: number): PseudoHeader | undefined {
  for (let i = index - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (layer.type === "IPv4") {
      return { src: parseIp(layer.fields.src), dst: parseIp(ipv4FinalDestination(layer.fields)) };
    }
    if (layer.type === "IPv6") {
      return { src: parseIp(layer.fields.src), dst: parseIp(ipv6FinalDestination(layer.fields)) };
    }
  }
  return undefined;
}

function encodeLayer(layers: readonly AnyLayer[], index: number, payload: Uint8Array): Uint8Array {
  const layer = layers[index]!;
  const next = layers[index + 1]?.type;
  const etherType = next === undefined ? undefined : ETHER_TYPE_OF[next];
  const protocol = next === undefined ? undefined : IP_PROTOCOL_OF[next];
  switch (layer.type) {
    case "Ether":
      return encodeEthernet({ ...layer.fields, type: layer.fields.type ?? etherType }, payload);
    case "Dot1Q":
      return encodeVlan({ ...layer.fields, type: layer.fields.type ?? etherType }, payload);
    case "SLL":
      return encodeSll({ ...layer.fields, protocol: layer.fields.protocol ?? etherType }, payload);
    case "SLL2":
      return encodeSll2({ ...layer.fields, protocol: layer.fields.protocol ?? etherType }, payload);
    case "Loopback":
      return encodeLoopback(
        { ...layer.fields, family: layer.fields.family ?? (next === "IPv6" ? 24 : next === "IPv4" ? 2 : 0) },
        payload,
      );
    case "ARP":
      return encodeArp(layer.fields, payload);
    case "IPv4":
      return encodeIpv4({ ...layer.fields, protocol: layer.fields.protocol ?? protocol }, payload);
    case "IPv6":
      return encodeIpv6(layer.fields, payload, protocol ?? 59);
    case "ICMP":
      return encodeIcmp(layer.fields, payload);
    case "ICMPv6":
      return encodeIcmpv6(layer.fields, payload, pseudoFor(layers, index));
    case "UDP":
      return encodeUdp(layer.fields, payload, pseudoFor(layers, index));
    case "TCP":
      return encodeTcp(layer.fields, payload, pseudoFor(layers, index));
    case "RTP":
      return encodeRtp(layer.fields, payload);
    case "RTCP":
      return concatBytes(encodeRtcp(layer.fields.packets, layer.fields.paddingLength ?? 0), payload);
    case "SIP":
      return encodeSip({ ...layer.fields, body: payload } as SipMessage);
    case "SDP":
      return concatBytes(encodeSdpBytes(layer.fields), payload);
    case "Raw":
    case "Padding":
      return concatBytes(layer.fields.data, payload);
  }
}

/** Encodes layers innermost first; trailing `Padding` layers go after the whole frame. */
export function encodeLayers(layers: readonly AnyLayer[]): Uint8Array {
  let last = layers.length;
  while (last > 0 && layers[last - 1]!.type === "Padding") last--;
  let frame: Uint8Array = new Uint8Array(0);
  for (let i = last - 1; i >= 0; i--) frame = encodeLayer(layers, i, frame);
  for (let i = last; i < layers.length; i++) frame = concatBytes(frame, (layers[i] as Layer<"Padding">).fields.data);
  return frame;
}
