import type { ChecksumStatus, LayerAnomaly } from "./anomaly.ts";
import type { PseudoHeader } from "./checksum.ts";
import type { Dissection } from "./dissection.ts";
import type { AnyLayer, Layer, LayerInfo, LayerType, ShowRow } from "./layer.ts";
import type { TransportContext } from "./transport-context.ts";

/**
 * What one protocol layer file (layers/*.ts) gives the registry: the numbers its enclosing layer
 * announces it by, a fast read into the reused `Dissection`, a slow decode into layer objects,
 * encode, header size, and its `show()` rows. registry.ts collects the definitions; the fast
 * walker (dissect.ts), the slow walker (packet.ts), the encoder and the filter compiler look
 * protocols up there, so a new protocol is one new file plus one line in registry.ts.
 */

/** Bookkeeping of one decoded header. */
export type DecodedMeta = { anomalies: LayerAnomaly[]; headerLength: number; checksumStatus?: ChecksumStatus };

/** A decoder's result: the header's fields, the bookkeeping, and whether the whole header was there. */
export type DecodedHeader = DecodedMeta & { complete: boolean };

/** What an application-layer decoder gets: the transport payload and the ports. */
export interface AppPayload {
  bytes: Uint8Array;
  offset: number;
  end: number;
  transport: "UDP" | "TCP";
  sport: number;
  dport: number;
}

/** The slow walker as a layer's decode sees it (implemented in packet.ts). */
export interface DecodeWalker {
  readonly bytes: Uint8Array;
  /** Bytes the frame had on the wire (the frame starts at offset 0). */
  readonly wireLength: number;
  push(layer: AnyLayer, meta: DecodedMeta, offset: number, quoted: boolean): void;
  /** A Raw layer over [offset, end) (`undecoded` names a header that could not be decoded). */
  raw(offset: number, end: number, quoted: boolean, undecoded?: string, anomalies?: LayerAnomaly[]): void;
  /**
   * Bytes after the network packet ending at `networkEnd`: Ethernet padding (`ethernet`, frames
   * from `frameStart`, default 0, up to `end` no longer than the minimum frame) or flagged.
   */
  trailer(networkEnd: number, end: number, ethernet: boolean, frameStart?: number): void;
  /** Decodes what an EtherType announces; returns where the network packet ends. */
  ether(type: number, offset: number, end: number, depth: number): number;
  /** Decodes what a PPP protocol number announces; returns where the network packet ends. */
  ppp(protocol: number, offset: number, end: number, depth: number): number;
  /** Decodes what an IP protocol number announces (transport, or a tunnelled IP packet). */
  ip(protocol: number, offset: number, end: number, context: TransportContext): void;
  /** A transport payload: registered decoders, then the registry's application layers, else Raw. */
  app(transport: "UDP" | "TCP", offset: number, end: number, sport: number, dport: number, quoted: boolean): void;
}

/** Where the fast walker looks up the header after this one. */
export type FastNext =
  /** By `out.etherType` (link layers, VLAN tags). */
  | "ether"
  /** By the PPP protocol number the layer left in `out.etherType` (PPPoE session). */
  | "ppp"
  /** By `out.ipProto`, at the offset returned, over [offset, out.l4End) (IPv4, IPv6). */
  | "ip"
  /** Nothing: the transport payload (TCP, UDP, ICMP…). */
  | "payload";

/** What `encode` knows about the layers around it. */
export interface EncodeContext {
  /** The next (inner) layer's type. */
  readonly next: LayerType | undefined;
  /** The number under which the next layer is announced, in each numbering (undefined when it has none). */
  readonly nextEtherType: number | undefined;
  readonly nextPppProtocol: number | undefined;
  readonly nextIpProtocol: number | undefined;
  /** The UDP port of a tunnel layer next (VXLAN, Geneve, GTP-U). */
  readonly nextUdpPort: number | undefined;
  /** Pseudo-header (addresses) of the nearest enclosing IP layer. */
  pseudo(): PseudoHeader | undefined;
}

export interface LayerDef<T extends LayerType> {
  readonly type: T;
  readonly info: LayerInfo;
  /** LINKTYPE_* values whose frames start with this layer. */
  readonly linkTypes?: readonly number[];
  /** EtherTypes that announce this layer (the first is the one `encode` writes). */
  readonly etherTypes?: readonly number[];
  /** PPP protocol numbers (RFC 1661 §2) that announce it. */
  readonly pppProtocols?: readonly number[];
  /** IP protocol / IPv6 next-header numbers that announce it. */
  readonly ipProtocols?: readonly number[];
  /**
   * UDP ports whose datagrams carry this header (a UDP tunnel: VXLAN, Geneve, GTP-U), the first
   * the one a builder writes. The slow walker decodes it with `decodeNetwork` before trying
   * application layers; the fast walker reads it (`fast`, `fastNext`) only when asked for the
   * packet inside (`dissectTunnelled`).
   */
  readonly udpPorts?: readonly number[];
  /** The UDP port written for these fields when not `udpPorts[0]` (e.g. VXLAN-GPE vs VXLAN). */
  readonly udpPortFor?: (layer: Layer<T>) => number;
  /**
   * Fast read of the header at `p` (captured bytes end at `end`) into `out`: sets the fields and
   * the key of the next header (`out.etherType` or `out.ipProto`), returns the next header's
   * offset, or -1 when the walk stops (anomaly bits set when malformed). Never allocates.
   */
  readonly fast?: (buffer: Uint8Array, p: number, end: number, out: Dissection) => number;
  readonly fastNext?: FastNext;
  /** The EtherType written for these fields when not `etherTypes[0]` (e.g. PPPoE discovery vs session). */
  readonly etherTypeFor?: (layer: Layer<T>) => number;
  /** Slow decode of a link layer at offset 0 (frames of `linkTypes`). */
  readonly decodeLink?: (w: DecodeWalker, end: number) => void;
  /** Slow decode of a header announced by an EtherType or PPP protocol; returns the network packet's end. */
  readonly decodeNetwork?: (w: DecodeWalker, offset: number, end: number, depth: number) => number;
  /** Slow decode of a header announced by an IP protocol. */
  readonly decodeTransport?: TransportDecoder;
  /** Slow decode of an application payload: true when it took it (pushed its layers). */
  readonly decodeApp?: (w: DecodeWalker, payload: AppPayload) => boolean;
  /** Encodes this layer's header in front of `payload` (the inner layers, already encoded). */
  readonly encode: (layer: Layer<T>, payload: Uint8Array, context: EncodeContext) => Uint8Array;
  /** Header size in bytes that `encode` writes for these fields. */
  readonly size: (layer: Layer<T>) => number;
  /** Every field with its value and meaning (`show()`); `previous` is the enclosing layer. */
  readonly rows: (layer: Layer<T>, previous: AnyLayer | undefined) => ShowRow[];
  /** One-line summary (Scapy/tshark style). */
  readonly summary: (layer: Layer<T>, previous: AnyLayer | undefined) => string;
}

/** Typed helper for a layer file: `export const ipv4Layer = defineLayer({ type: "IPv4", … })`. */
export function defineLayer<T extends LayerType>(def: LayerDef<T>): LayerDef<T> {
  return def;
}

const META_KEYS = new Set(["headerLength", "complete", "anomalies", "checksumStatus", "fragment", "quotesPacket"]);

/** Header fields of a decoder result without the decode bookkeeping (`extra` = more keys to drop). */
export function fieldsOf<F>(decoded: F & DecodedMeta, extra?: string): F {
  const out: Record<string, unknown> = {};
  const source = decoded as unknown as Record<string, unknown>;
  for (const key in source) {
    if (!META_KEYS.has(key) && key !== extra) out[key] = source[key];
  }
  return out as F;
}

/**
 * Pushes a decoded header as a `type` layer (its fields without the bookkeeping and the `extra`
 * key) or, when the decoder found it incomplete, a Raw layer naming it. True when it was pushed.
 */
export function pushHeader(
  w: DecodeWalker,
  type: LayerType,
  decoded: DecodedHeader,
  offset: number,
  end: number,
  quoted: boolean,
  extra?: string,
): boolean {
  if (!decoded.complete) {
    w.raw(offset, end, quoted, type, decoded.anomalies);
    return false;
  }
  w.push({ type, fields: fieldsOf(decoded, extra) } as AnyLayer, decoded, offset, quoted);
  return true;
}

/** A transport layer's slow decode (`LayerDef.decodeTransport`). */
export type TransportDecoder = (w: DecodeWalker, offset: number, end: number, context: TransportContext) => void;

/**
 * The slow decode of a transport header: `decode` reads it at `offset`, it is pushed (as with
 * `pushHeader`, without the `extra` key) and, when complete, `next` decodes what it carries.
 */
export function transportDecoder<D extends DecodedHeader>(
  type: LayerType,
  decode: (bytes: Uint8Array, offset: number, end: number, context: TransportContext) => D,
  next: (w: DecodeWalker, d: D, offset: number, end: number, quoted: boolean, context: TransportContext) => void,
  extra?: string,
): TransportDecoder {
  return (w, offset, end, context) => {
    const quoted = context.quoted === true;
    const d = decode(w.bytes, offset, end, context);
    if (pushHeader(w, type, d, offset, end, quoted, extra)) next(w, d, offset, end, quoted, context);
  };
}

/** True when `encoded` equals bytes[start, end). */
export function sameBytes(encoded: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (encoded.length !== end - start) return false;
  for (let i = 0; i < encoded.length; i++) if (encoded[i] !== bytes[start + i]) return false;
  return true;
}
