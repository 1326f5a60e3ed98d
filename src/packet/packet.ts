import { formatHex, parseIp } from "./address-text.ts";
import type { LayerAnomaly, PacketAnomaly } from "./anomaly.ts";
import { anomaly } from "./anomaly.ts";
import { concatBytes } from "./byte-order.ts";
import type { PseudoHeader } from "./checksum.ts";
import { type AnyLayer, type Layer, type LayerFieldMap, type LayerType, layerSummary, showLayer } from "./layer.ts";
import type { AppPayload, DecodedMeta, DecodeWalker, EncodeContext } from "./layer-def.ts";
import { ETHERNET_MIN_FRAME } from "./layers/ethernet.ts";
import { ipv4FinalDestination } from "./layers/ipv4.ts";
import { ipv6FinalDestination } from "./layers/ipv6.ts";
import { tunnelDatagramLengthOk } from "./layers/udp-tunnel.ts";
import { LinkType } from "./link-type.ts";
import {
  decodeAppPayload,
  etherLayer,
  etherTypeOf,
  headerlessLinkEtherType,
  ipLayer,
  ipProtocolOf,
  layerDef,
  linkLayer,
  pppLayerFor,
  pppProtocolOf,
  udpPortOf,
  udpTunnelLayer,
} from "./registry.ts";
import type { TransportContext } from "./transport-context.ts";

export type { AppPayload } from "./layer-def.ts";

/**
 * A packet in the slow-path layer model: decoded from bytes (`decodePacket`) or built from layers
 * (builder.ts). Layers are outermost first; `get("TCP")` finds one by type with typed fields.
 * `bytes()` encodes the layers, filling what was left undefined (lengths, checksums, EtherType and
 * protocol numbers); a decoded packet has every field set, so `bytes()` gives back its bytes.
 */
type LowerLayerTypes = { [K in LayerType as Lowercase<K>]: K };
/** A layer type as declared ("IPv4") or in lower case ("ipv4"). */
export type LayerName = LayerType | keyof LowerLayerTypes;
export type CanonicalLayerType<N extends LayerName> = N extends LayerType
  ? N
  : N extends keyof LowerLayerTypes
    ? LowerLayerTypes[N]
    : never;

/** The properties of a layer itself; every other property of a `LayerView` is one of its fields. */
const LAYER_OWN_KEYS = new Set<PropertyKey>([
  "type",
  "fields",
  "anomalies",
  "checksumStatus",
  "offset",
  "headerLength",
  "quoted",
]);

/** A layer whose fields are also its properties (`view.src` reads and assigns `view.fields.src`). */
export type LayerView<T extends LayerType> = Layer<T> & Omit<LayerFieldMap[T], keyof Layer<T>>;

const layerViews = new WeakMap<object, object>();

function layerView(layer: AnyLayer): object {
  let view = layerViews.get(layer);
  if (!view) {
    const fieldsOf = (target: AnyLayer) => target.fields as unknown as Record<PropertyKey, unknown>;
    view = new Proxy(layer, {
      get: (target, key, receiver) =>
        LAYER_OWN_KEYS.has(key) || !(key in fieldsOf(target))
          ? Reflect.get(target, key, receiver)
          : fieldsOf(target)[key],
      set: (target, key, value) => {
        if (LAYER_OWN_KEYS.has(key)) return Reflect.set(target, key, value);
        fieldsOf(target)[key] = value;
        return true;
      },
    });
    layerViews.set(layer, view);
  }
  return view;
}

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

  /**
   * The `index`-th layer of this type (0 = outermost), or undefined; the type in any case ("IPv4",
   * "ipv4"). Its fields read and assign directly, as in Scapy (`p.get("ipv4").src = "10.0.0.1"`, the
   * same as `.fields.src`; `.type` is the layer's type, so Ethernet's EtherType is `.fields.type`): a built packet
   * computes the lengths and checksums left undefined when encoded; call `rebuilt()` on a decoded one.
   */
  get<N extends LayerName>(type: N, index = 0): LayerView<CanonicalLayerType<N>> | undefined {
    let seen = 0;
    const wanted = type.toLowerCase();
    for (const layer of this.layers) {
      if ((layer.type === type || layer.type.toLowerCase() === wanted) && seen++ === index)
        return layerView(layer) as unknown as LayerView<CanonicalLayerType<N>>;
    }
    return undefined;
  }

  /**
   * A built copy whose lengths and checksums are computed again on encode (Scapy's `del p[IP].chksum`
   * for every layer): for a decoded packet whose fields were changed.
   */
  rebuilt(): Packet {
    const derived = ["checksum", "totalLength", "length", "payloadLength", "ihl", "dataOffset"];
    return new Packet(
      this.layers.map((layer) => {
        const fields = { ...(layer.fields as Record<string, unknown>) };
        for (const key of derived) if (key in fields) fields[key] = undefined;
        return { ...layer, fields } as AnyLayer;
      }),
      { linkType: this.linkType },
    );
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
    case "HDLC":
    case "PPP":
      return LinkType.PPP;
    case "CiscoHDLC":
      return LinkType.C_HDLC;
    case "NFLOG":
      return LinkType.NFLOG;
    case "IPoIB":
      return LinkType.IPOIB;
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

/**
 * Decodes an application payload into layers (its own header layers and a trailing `Raw`), or
 * returns undefined to let the next decoder try. Registered decoders run before the registry's
 * application layers (SIP, RTCP, RTP).
 */
export type AppDecoder = (payload: AppPayload) => AnyLayer[] | undefined;

const appDecoders: AppDecoder[] = [];

export function registerAppDecoder(decoder: AppDecoder): void {
  if (!appDecoders.includes(decoder)) appDecoders.push(decoder);
}

/** More nested network layers than this (VLAN in PPPoE in …) stop the walk. */
const MAX_NETWORK_DEPTH = 16;
/**
 * More headers announced by an IP protocol number, one inside the other (IP in IP, GRE, AH, the
 * transports), than this are malformed: the walk stops there (a tunnel in a tunnel in … would
 * otherwise exhaust the stack; the fast path stops after 8 tunnels).
 */
const MAX_IP_NESTING = 32;

/** The slow walker: each layer's decode (layers/*.ts) pushes its layer and hands over through the registry. */
class LayerDecoder implements DecodeWalker {
  readonly layers: AnyLayer[] = [];
  /** `ip()` calls under way, one inside the other. */
  private ipNesting = 0;

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
    const def = linkLayer(linkType);
    if (def !== undefined) {
      def.decodeLink!(this, end);
      return;
    }
    const etherType = headerlessLinkEtherType(linkType, this.bytes[0] ?? 0);
    if (etherType === undefined) {
      this.raw(0, end, false);
      return;
    }
    this.trailer(this.ether(etherType, 0, end, 0), end, false);
  }

  trailer(networkEnd: number, end: number, ethernet: boolean, frameStart = 0): void {
    if (networkEnd >= end) return;
    const anomalies =
      ethernet && end - frameStart <= ETHERNET_MIN_FRAME
        ? []
        : [anomaly("trailing-bytes", `${end - networkEnd} bytes after the end of the network packet`)];
    const data = this.bytes.slice(networkEnd, end);
    this.push({ type: "Padding", fields: { data } }, { anomalies, headerLength: data.length }, networkEnd, false);
  }

  ether(type: number, offset: number, end: number, depth: number): number {
    const def = etherLayer(type);
    if (def?.decodeNetwork === undefined || depth > MAX_NETWORK_DEPTH) {
      this.raw(offset, end, false);
      return end;
    }
    return def.decodeNetwork(this, offset, end, depth);
  }

  ppp(protocol: number, offset: number, end: number, depth: number): number {
    const def = pppLayerFor(protocol);
    if (def?.decodeNetwork === undefined || depth > MAX_NETWORK_DEPTH) {
      this.raw(offset, end, false);
      return end;
    }
    return def.decodeNetwork(this, offset, end, depth + 1);
  }

  ip(protocol: number, offset: number, end: number, context: TransportContext): void {
    const def = ipLayer(protocol);
    if (def?.decodeTransport === undefined) {
      this.raw(offset, end, context.quoted === true);
      return;
    }
    if (this.ipNesting >= MAX_IP_NESTING) {
      const deep = anomaly("too-deep", `more than ${MAX_IP_NESTING} headers nested in IP (tunnels)`);
      this.raw(offset, end, context.quoted === true, def.type, [deep]);
      return;
    }
    this.ipNesting++;
    try {
      def.decodeTransport(this, offset, end, context);
    } finally {
      this.ipNesting--;
    }
  }

  app(transport: "UDP" | "TCP", offset: number, end: number, sport: number, dport: number, quoted: boolean): void {
    // A UDP tunnel is network, not application: decoded whatever `application` says, as tshark does.
    const tunnel = transport === "UDP" && !quoted && end > offset ? udpTunnelLayer(sport, dport) : undefined;
    if (tunnel?.decodeNetwork !== undefined) {
      // A datagram whose UDP length is under its own header's is not read as a tunnel (as tshark).
      if (tunnelDatagramLengthOk(this.bytes, offset)) tunnel.decodeNetwork(this, offset, end, 0);
      else this.raw(offset, end, false);
      return;
    }
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
    if (decodeAppPayload(this, payload)) return;
    this.raw(offset, end, false);
  }
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
  const next = layers[index + 1];
  const context: EncodeContext = {
    next: next?.type,
    nextEtherType: etherTypeOf(next),
    nextPppProtocol: pppProtocolOf(next),
    nextIpProtocol: ipProtocolOf(next),
    nextUdpPort: udpPortOf(next),
    pseudo: () => pseudoFor(layers, index),
  };
  return layerDef(layer.type).encode(layer as Layer<LayerType>, payload, context);
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
