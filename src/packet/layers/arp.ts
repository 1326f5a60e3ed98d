import { formatHex, formatIpv4, formatMac, parseHex, parseIpv4, parseMac } from "../address-text.ts";
import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * ARP (RFC 826), shown for Ethernet/IPv4 (hlen 6, plen 4):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        Hardware type          |         Protocol type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  HW addr len  | Proto addr len|           Opcode              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Sender hardware address (hlen) | Sender protocol address (plen)
 * |  Target hardware address (hlen) | Target protocol address (plen)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Addresses of other sizes are kept as hex strings.
 */

/** The fixed part; the addresses follow it. */
const ARP = headerLayout({ hwType: 2, protoType: 2, hwLength: 1, protoLength: 1, op: 2 });
export const ARP_FIXED_SIZE = ARP.size;

export interface ArpFields {
  hwType: number;
  protoType: number;
  hwLength: number;
  protoLength: number;
  op: number;
  /** MAC text when hwLength is 6, else hex. */
  hwSrc: string;
  /** Dotted quad when protoLength is 4, else hex. */
  protoSrc: string;
  hwDst: string;
  protoDst: string;
}

export interface DecodedArp extends ArpFields, DecodeInfo {}

export function arpHeaderSize(hwLength: number, protoLength: number): number {
  return ARP_FIXED_SIZE + 2 * (hwLength + protoLength);
}

function formatHw(bytes: Uint8Array, at: number, length: number): string {
  return length === 6 ? formatMac(bytes, at) : formatHex(bytes, at, at + length);
}

function formatProto(bytes: Uint8Array, at: number, length: number): string {
  return length === 4 ? formatIpv4(bytes, at) : formatHex(bytes, at, at + length);
}

export function decodeArp(bytes: Uint8Array, offset: number, end: number): DecodedArp {
  const available = end - offset;
  const hwLength = bytes[offset + ARP.hwLength] ?? 0;
  const protoLength = bytes[offset + ARP.protoLength] ?? 0;
  const size = arpHeaderSize(hwLength, protoLength);
  const extent = headerExtent("ARP packet", size, available);
  const complete = extent.complete;
  let at = offset + ARP.size;
  const field = (length: number, format: typeof formatHw) => {
    const text = complete ? format(bytes, at, length) : "";
    at += length;
    return text;
  };
  return {
    hwType: readU16(bytes, offset + ARP.hwType),
    protoType: readU16(bytes, offset + ARP.protoType),
    hwLength,
    protoLength,
    op: readU16(bytes, offset + ARP.op),
    hwSrc: field(hwLength, formatHw),
    protoSrc: field(protoLength, formatProto),
    hwDst: field(hwLength, formatHw),
    protoDst: field(protoLength, formatProto),
    ...extent,
  };
}

export function encodeArp(fields: ArpFields, payload: Uint8Array): Uint8Array {
  const size = arpHeaderSize(fields.hwLength, fields.protoLength);
  const out = new Uint8Array(size + payload.length);
  writeU16(out, ARP.hwType, fields.hwType);
  writeU16(out, ARP.protoType, fields.protoType);
  out[ARP.hwLength] = fields.hwLength;
  out[ARP.protoLength] = fields.protoLength;
  writeU16(out, ARP.op, fields.op);
  let at = ARP.size;
  const put = (text: string, length: number, special: number, parse: (t: string) => Uint8Array) => {
    const value = length === special && !/^[0-9a-f]+$/i.test(text) ? parse(text) : parseHex(text);
    out.set(value.subarray(0, length), at);
    at += length;
  };
  put(fields.hwSrc, fields.hwLength, 6, parseMac);
  put(fields.protoSrc, fields.protoLength, 4, parseIpv4);
  put(fields.hwDst, fields.hwLength, 6, parseMac);
  put(fields.protoDst, fields.protoLength, 4, parseIpv4);
  out.set(payload, size);
  return out;
}

export function arpOpName(op: number): string {
  return ["reserved", "request", "reply", "RARP request", "RARP reply"][op] ?? "unknown";
}

export const arpLayer = defineLayer({
  type: "ARP",
  info: { title: "ARP", tcpip: "link", osi: 2 },
  etherTypes: [0x0806],
  decodeNetwork(w, offset, end) {
    const d = decodeArp(w.bytes, offset, end);
    if (!pushHeader(w, "ARP", d, offset, end, false)) return end;
    return offset + d.headerLength;
  },
  encode: (layer, payload) => encodeArp(layer.fields, payload),
  size: ({ fields: f }) => arpHeaderSize(f.hwLength, f.protoLength),
  rows: ({ fields: f }) => [
    ["hwType", String(f.hwType), f.hwType === 1 ? "Ethernet" : undefined],
    ["protoType", showHex(f.protoType, 4), etherTypeName(f.protoType)],
    ["hwLength", String(f.hwLength)],
    ["protoLength", String(f.protoLength)],
    ["op", String(f.op), arpOpName(f.op)],
    ["hwSrc", f.hwSrc],
    ["protoSrc", f.protoSrc],
    ["hwDst", f.hwDst],
    ["protoDst", f.protoDst],
  ],
  summary({ fields: f }) {
    if (f.op === 1) return `ARP who-has ${f.protoDst} tell ${f.protoSrc}`;
    if (f.op === 2) return `ARP ${f.protoSrc} is-at ${f.hwSrc}`;
    return `ARP ${arpOpName(f.op)}`;
  },
});
