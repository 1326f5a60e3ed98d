import type { DecodeInfo } from "../anomaly.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showNum } from "../show-format.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * BSD loopback encapsulation (tcpdump.org LINKTYPE_NULL = 0, LINKTYPE_LOOP = 108):
 *
 * +---------------+---------------+---------------+---------------+
 * |          Address family (AF_INET = 2, AF_INET6 = 24/28/30)     |
 * +---------------+---------------+---------------+---------------+
 * NULL writes the 32-bit family in the capturing host's byte order, LOOP in network order.
 * Families are small, so a non-zero first byte means little-endian.
 */

const FAMILY = 0;
export const LOOPBACK_HEADER_SIZE = 4;

export const AddressFamily = { INET: 2, INET6_BSD: 24, INET6_FREEBSD: 28, INET6_DARWIN: 30 } as const;

export interface LoopbackFields {
  /** Address family; the builder fills it from the next layer. */
  family?: number;
  /** Byte order the family was (or is to be) written in. */
  byteOrder: "be" | "le";
}

export interface DecodedLoopback extends LoopbackFields, DecodeInfo {
  family: number;
}

export function decodeLoopback(bytes: Uint8Array, offset: number, end: number): DecodedLoopback {
  const b = (i: number) => bytes[offset + FAMILY + i] ?? 0;
  const littleEndian = b(0) !== 0 && b(3) === 0;
  const family = littleEndian
    ? (b(0) | (b(1) << 8) | (b(2) << 16) | (b(3) << 24)) >>> 0
    : ((b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3)) >>> 0;
  return {
    family,
    byteOrder: littleEndian ? "le" : "be",
    ...headerExtent("loopback header", LOOPBACK_HEADER_SIZE, end - offset),
  };
}

export function encodeLoopback(fields: LoopbackFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(LOOPBACK_HEADER_SIZE + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(FAMILY, (fields.family ?? 0) >>> 0, fields.byteOrder === "le");
  out.set(payload, LOOPBACK_HEADER_SIZE);
  return out;
}

export function isInet6Family(family: number): boolean {
  return family === 24 || family === 28 || family === 30 || family === 10;
}

export function addressFamilyName(family: number): string {
  if (family === AddressFamily.INET) return "AF_INET (IPv4)";
  if (isInet6Family(family)) return "AF_INET6 (IPv6)";
  return "unknown";
}

export const loopbackLayer = defineLayer({
  type: "Loopback",
  info: { title: "Loopback", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.NULL, LinkType.LOOP],
  fastNext: "ether",
  fast(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
    if (end - p < LOOPBACK_HEADER_SIZE) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    // NULL is host byte order of the capturing machine: accept either order.
    const b0 = buffer[p]!;
    const b3 = buffer[p + 3]!;
    const family = out.linkType === LinkType.LOOP || b0 === 0 ? b3 : b0;
    out.etherType = family === AddressFamily.INET ? 0x0800 : isInet6Family(family) ? 0x86dd : 0;
    return p + LOOPBACK_HEADER_SIZE;
  },
  decodeLink(w, end) {
    const d = decodeLoopback(w.bytes, 0, end);
    if (!pushHeader(w, "Loopback", d, 0, end, false)) return;
    const type = d.family === AddressFamily.INET ? 0x0800 : isInet6Family(d.family) ? 0x86dd : 0;
    w.trailer(w.ether(type, d.headerLength, end, 0), end, false);
  },
  encode: (layer, payload, context) =>
    encodeLoopback(
      {
        ...layer.fields,
        family:
          layer.fields.family ?? (context.next === "IPv6" ? AddressFamily.INET6_BSD : context.next === "IPv4" ? 2 : 0),
      },
      payload,
    ),
  size: () => LOOPBACK_HEADER_SIZE,
  rows: ({ fields: f }) => [
    ["family", showNum(f.family), f.family === undefined ? undefined : addressFamilyName(f.family)],
    ["byteOrder", f.byteOrder, f.byteOrder === "le" ? "little-endian" : "big-endian"],
  ],
  summary: () => "Loopback",
});
