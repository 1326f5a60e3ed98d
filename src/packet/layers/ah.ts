import { formatHex } from "../address-text.ts";
import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { defineLayer, transportDecoder } from "../layer-def.ts";
import { showNum } from "../show-format.ts";
import type { TransportContext } from "../transport-context.ts";
import { headerExtent } from "./header-extent.ts";
import { ipProtocolName } from "./ipv4.ts";

/*
 * IP Authentication Header (RFC 4302 §2), IP protocol 51, over IPv4. (Over IPv6 AH is an
 * extension header and ipv6.ts walks it with the others.)
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Header   |  Payload Len  |          RESERVED             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Security Parameters Index (SPI)               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Sequence Number Field                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                Integrity Check Value-ICV (variable)           |
 * ~                                                               ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Payload Len is the header's length in 4-octet units minus 2. What follows is the protocol
 * Next Header names (transport mode: TCP, UDP…; tunnel mode: IPv4 4). The ICV is not checked
 * (it needs the security association's key).
 */

export const AH_FIXED_SIZE = 12;
export const IP_PROTOCOL_AH = 51;

export interface AhFields {
  /** Protocol after AH; the builder fills it from the next layer. */
  nextHeader?: number;
  /** Payload Len: header length in 4-octet units minus 2; computed from the ICV when undefined. */
  length?: number;
  reserved: number;
  spi: number;
  sequence: number;
  /** Integrity check value (zero-padded to a 4-octet multiple on encode). */
  icv: Uint8Array;
}

export interface DecodedAh extends AhFields, DecodeInfo {
  nextHeader: number;
  length: number;
}

/** Bytes of the AH header whose Payload Len byte is `length`. */
export function ahHeaderSize(length: number): number {
  return (length + 2) * 4;
}

/**
 * Decodes the AH header at `offset`; its length is checked against what the IP header gives it
 * (`context.length`: beyond it is "bad-length") and what was captured ("truncated").
 */
export function decodeAh(bytes: Uint8Array, offset: number, end: number, context?: TransportContext): DecodedAh {
  const available = end - offset;
  const length = bytes[offset + 1] ?? 0;
  const size = ahHeaderSize(length);
  const extent = headerExtent("AH header", AH_FIXED_SIZE, available);
  if (extent.complete) {
    const claimed = context?.quoted ? Number.POSITIVE_INFINITY : (context?.length ?? available);
    if (size < AH_FIXED_SIZE || size > claimed) {
      extent.complete = false;
      const why = size < AH_FIXED_SIZE ? `< ${AH_FIXED_SIZE}` : `> ${claimed} bytes of IP payload`;
      extent.anomalies.push(anomaly("bad-length", `AH length ${size} bytes (Payload Len ${length}) ${why}`));
    } else if (size > available) {
      extent.complete = false;
      extent.headerLength = available;
      extent.anomalies.push(anomaly("truncated", `AH header needs ${size} bytes, ${available} captured`));
    } else extent.headerLength = size;
  }
  return {
    nextHeader: bytes[offset] ?? 0,
    length,
    reserved: readU16(bytes, offset + 2),
    spi: readU32(bytes, offset + 4),
    sequence: readU32(bytes, offset + 8),
    icv: extent.complete ? bytes.slice(offset + AH_FIXED_SIZE, offset + size) : new Uint8Array(0),
    ...extent,
  };
}

export function encodeAh(fields: AhFields, payload: Uint8Array): Uint8Array {
  const size = AH_FIXED_SIZE + Math.ceil(fields.icv.length / 4) * 4;
  const out = new Uint8Array(size + payload.length);
  out[0] = fields.nextHeader ?? 0;
  out[1] = fields.length ?? size / 4 - 2;
  writeU16(out, 2, fields.reserved);
  writeU32(out, 4, fields.spi);
  writeU32(out, 8, fields.sequence);
  out.set(fields.icv, AH_FIXED_SIZE);
  out.set(payload, size);
  return out;
}

/**
 * Fast read: skips AH, leaves its Next Header in `out.ipProto` and takes its length off
 * `out.l4Length`; returns where the protected payload starts. A length below the fixed part or
 * beyond the IP payload is BAD_LENGTH, a header cut by the capture TRUNCATED.
 */
function fastAh(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < AH_FIXED_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const size = ahHeaderSize(buffer[p + 1]!);
  if (size < AH_FIXED_SIZE || size > out.l4Length) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.ipProto = buffer[p]!;
  out.l4Length -= size;
  return p + size;
}

export const ahLayer = defineLayer({
  type: "AH",
  info: { title: "IPsec AH", tcpip: "internet", osi: 3 },
  ipProtocols: [IP_PROTOCOL_AH],
  fast: fastAh,
  fastNext: "ip",
  decodeTransport: transportDecoder("AH", decodeAh, (w, d, offset, end, _quoted, context) => {
    const length = Math.max(0, context.length - d.headerLength);
    w.ip(d.nextHeader, offset + d.headerLength, end, { ...context, length });
  }),
  encode: (layer, payload, context) =>
    encodeAh({ ...layer.fields, nextHeader: layer.fields.nextHeader ?? context.nextIpProtocol }, payload),
  size: (layer) => AH_FIXED_SIZE + Math.ceil(layer.fields.icv.length / 4) * 4,
  rows: ({ fields: f }) => [
    ["nextHeader", showNum(f.nextHeader), f.nextHeader === undefined ? undefined : ipProtocolName(f.nextHeader)],
    ["length", showNum(f.length), f.length === undefined ? undefined : `${ahHeaderSize(f.length)} bytes`],
    ["reserved", String(f.reserved)],
    ["spi", `0x${f.spi.toString(16).padStart(8, "0")}`, "security parameters index"],
    ["sequence", String(f.sequence)],
    ["icv", formatHex(f.icv), `${f.icv.length} bytes, integrity check value`],
  ],
  summary: ({ fields: f }) => `AH spi=0x${f.spi.toString(16).padStart(8, "0")} seq=${f.sequence}`,
});
