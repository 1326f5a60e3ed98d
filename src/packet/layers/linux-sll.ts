import { formatHex, parseHex } from "../address-text.ts";
import type { DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import type { Layer, LayerFieldMap, ShowRow } from "../layer.ts";
import { defineLayer, type LayerDef, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { fastFixedLinkHeader } from "./fixed-link-header.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * Linux "cooked" capture headers (tcpdump.org linktypes LINUX_SLL = 113, LINUX_SLL2 = 276).
 *
 * SLL (16 bytes):
 * +---------------+---------------+---------------+---------------+
 * |         Packet type           |        ARPHRD_ type           |
 * +---------------+---------------+---------------+---------------+
 * |  Link-layer address length    |                               |
 * +---------------+---------------+     Link-layer address        +
 * |                        (8 bytes, zero padded)                 |
 * +                               +---------------+---------------+
 * |                               |        Protocol type          |
 * +---------------+---------------+---------------+---------------+
 *
 * SLL2 (20 bytes):
 * +---------------+---------------+---------------+---------------+
 * |        Protocol type          |        Reserved (MBZ)         |
 * +---------------+---------------+---------------+---------------+
 * |                       Interface index                         |
 * +---------------+---------------+---------------+---------------+
 * |        ARPHRD_ type           |  Packet type  | Address length|
 * +---------------+---------------+---------------+---------------+
 * |                 Link-layer address (8 bytes)                  |
 * +                                                               +
 * |                                                               |
 * +---------------+---------------+---------------+---------------+
 */

/** The fields in wire order with their sizes; both keep the link-layer address in 8 bytes (as hex). */
const SLL_FIELDS = { pktType: 2, hatype: 2, addrLength: 2, addr: 8, protocol: 2 } as const;
const SLL2_FIELDS = { protocol: 2, reserved: 2, ifindex: 4, hatype: 2, pktType: 1, addrLength: 1, addr: 8 } as const;
const SLL = headerLayout(SLL_FIELDS);
const SLL2 = headerLayout(SLL2_FIELDS);
export const SLL_HEADER_SIZE = SLL.size;
export const SLL2_HEADER_SIZE = SLL2.size;

export interface SllFields {
  /** 0 to us, 1 broadcast, 2 multicast, 3 to another host, 4 sent by us. */
  pktType: number;
  /** ARPHRD_ type (1 Ethernet, 772 loopback, …). */
  hatype: number;
  /** Address length as written (may exceed 8; only 8 bytes are kept). */
  addrLength: number;
  /** The 8-byte address field as hex (zero padded). */
  addr: string;
  /** EtherType (or Linux protocol value for non-Ethernet payloads); the builder fills it. */
  protocol?: number;
}

export interface Sll2Fields extends SllFields {
  reserved: number;
  ifindex: number;
}

export interface DecodedSll extends SllFields, DecodeInfo {
  protocol: number;
}
export interface DecodedSll2 extends Sll2Fields, DecodeInfo {
  protocol: number;
}

/**
 * SLL and SLL2 hold the same kind of fields in other orders and sizes, so one reader and one
 * writer go through `sizes` (wire order): numbers big-endian, the address as hex.
 */
function decodeCooked<D extends DecodedSll | DecodedSll2>(
  what: string,
  sizes: Readonly<Record<string, number>>,
  bytes: Uint8Array,
  offset: number,
  end: number,
): D {
  const extent = headerExtent(what, headerLayout(sizes).size, end - offset);
  const fields: Record<string, number | string> = {};
  let at = offset;
  for (const [name, size] of Object.entries(sizes)) {
    if (name === "addr") fields[name] = extent.complete ? formatHex(bytes, at, at + size) : "";
    else fields[name] = size === 1 ? (bytes[at] ?? 0) : size === 2 ? readU16(bytes, at) : readU32(bytes, at);
    at += size;
  }
  return { ...fields, ...extent } as D;
}

function encodeCooked(sizes: Readonly<Record<string, number>>, fields: SllFields, payload: Uint8Array): Uint8Array {
  const values = fields as unknown as Record<string, number | string | undefined>;
  const headerSize = headerLayout(sizes).size;
  const out = new Uint8Array(headerSize + payload.length);
  let at = 0;
  for (const [name, size] of Object.entries(sizes)) {
    const value = values[name] ?? 0;
    if (typeof value === "string") out.set(parseHex(value).subarray(0, size), at);
    else if (size === 1) out[at] = value;
    else if (size === 2) writeU16(out, at, value);
    else writeU32(out, at, value);
    at += size;
  }
  out.set(payload, headerSize);
  return out;
}

export const decodeSll = (bytes: Uint8Array, offset: number, end: number): DecodedSll =>
  decodeCooked("Linux cooked (SLL) header", SLL_FIELDS, bytes, offset, end);
export const decodeSll2 = (bytes: Uint8Array, offset: number, end: number): DecodedSll2 =>
  decodeCooked("Linux cooked (SLL2) header", SLL2_FIELDS, bytes, offset, end);
export const encodeSll = (fields: SllFields, payload: Uint8Array): Uint8Array =>
  encodeCooked(SLL_FIELDS, fields, payload);
export const encodeSll2 = (fields: Sll2Fields, payload: Uint8Array): Uint8Array =>
  encodeCooked(SLL2_FIELDS, fields, payload);

const packetTypeNames = ["unicast to us", "broadcast", "multicast", "unicast to another host", "sent by us"];

export function sllPacketTypeName(pktType: number): string {
  return packetTypeNames[pktType] ?? "unknown";
}

function sllRows(layer: Layer<"SLL"> | Layer<"SLL2">): ShowRow[] {
  const f = layer.fields;
  const rows: ShowRow[] = [
    ["pktType", String(f.pktType), sllPacketTypeName(f.pktType)],
    ["hatype", String(f.hatype), f.hatype === 1 ? "Ethernet" : f.hatype === 772 ? "loopback" : undefined],
    ["addrLength", String(f.addrLength)],
    ["addr", f.addr],
    ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : etherTypeName(f.protocol)],
  ];
  if (layer.type === "SLL2") {
    rows.push(["reserved", String(layer.fields.reserved)], ["ifindex", String(layer.fields.ifindex)]);
  }
  return rows;
}

/**
 * SLL and SLL2 differ only in their layout (size, where the protocol sits, decode and encode),
 * so one definition serves both.
 */
function sllLayerDef<T extends "SLL" | "SLL2">(
  type: T,
  title: string,
  linkType: number,
  size: number,
  protocolAt: number,
  decode: (bytes: Uint8Array, offset: number, end: number) => DecodedSll | DecodedSll2,
  encode: (fields: LayerFieldMap[T], payload: Uint8Array) => Uint8Array,
): LayerDef<T> {
  return defineLayer<T>({
    type,
    info: { title, tcpip: "link", osi: 2 },
    linkTypes: [linkType],
    fastNext: "ether",
    fast: fastFixedLinkHeader(size, protocolAt),
    decodeLink(w, end) {
      const d = decode(w.bytes, 0, end);
      if (pushHeader(w, type, d, 0, end, false)) w.trailer(w.ether(d.protocol, d.headerLength, end, 0), end, false);
    },
    encode: (layer, payload, context) =>
      encode({ ...layer.fields, protocol: layer.fields.protocol ?? context.nextEtherType }, payload),
    size: () => size,
    rows: (layer) => sllRows(layer as Layer<"SLL"> | Layer<"SLL2">),
    summary: () => type,
  });
}

export const sllLayer = sllLayerDef(
  "SLL",
  "Linux cooked (SLL)",
  LinkType.LINUX_SLL,
  SLL_HEADER_SIZE,
  SLL.protocol,
  decodeSll,
  encodeSll,
);
export const sll2Layer = sllLayerDef(
  "SLL2",
  "Linux cooked v2 (SLL2)",
  LinkType.LINUX_SLL2,
  SLL2_HEADER_SIZE,
  SLL2.protocol,
  decodeSll2,
  encodeSll2,
);
