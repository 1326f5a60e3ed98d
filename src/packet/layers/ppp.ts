import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { showHex } from "../show-format.ts";
import { codeTable } from "./code-table.ts";
import { headerExtent } from "./header-extent.ts";

/*
 * PPP protocol field (RFC 1661 §2) as carried in a PPPoE session (RFC 2516 §5: no address and
 * control bytes). Protocol-field compression (RFC 1661 §6.5) sends values below 0x100 as one
 * byte; a first byte with its lowest bit set is such a compressed field:
 *
 *  0                   1
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Protocol            |  then the datagram (IPv4 0x0021, IPv6 0x0057, LCP 0xc021, …)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const PPP_HEADER_SIZE = 2;

const PPP_PROTOCOLS = codeTable({
  IPV4: [0x0021, "IPv4"],
  IPV6: [0x0057, "IPv6"],
  IPCP: [0x8021, "IPCP"],
  IPV6CP: [0x8057, "IPv6CP"],
  LCP: [0xc021, "LCP"],
  PAP: [0xc023, "PAP"],
  CHAP: [0xc223, "CHAP"],
});

export const PppProtocol = PPP_PROTOCOLS.codes;

export function pppProtocolName(protocol: number): string {
  return PPP_PROTOCOLS.names.get(protocol) ?? "unknown";
}

export interface PppFields {
  /** Filled by the builder from the next layer (IPv4 0x0021, IPv6 0x0057). */
  protocol?: number;
  /** One-byte (compressed) protocol field. */
  compressed?: boolean;
}

export interface DecodedPpp extends PppFields, DecodeInfo {
  protocol: number;
}

export function decodePpp(bytes: Uint8Array, offset: number, end: number): DecodedPpp {
  const available = end - offset;
  const compressed = available >= 1 && (bytes[offset]! & 1) === 1;
  const size = compressed ? 1 : PPP_HEADER_SIZE;
  return {
    protocol: compressed ? bytes[offset]! : available >= size ? readU16(bytes, offset) : 0,
    ...(compressed ? { compressed } : {}),
    ...headerExtent("PPP protocol field", size, available),
  };
}

export function encodePpp(fields: PppFields, payload: Uint8Array): Uint8Array {
  const size = fields.compressed ? 1 : PPP_HEADER_SIZE;
  const out = new Uint8Array(size + payload.length);
  if (fields.compressed) out[0] = fields.protocol ?? 0;
  else writeU16(out, 0, fields.protocol ?? 0);
  out.set(payload, size);
  return out;
}

export const pppLayer = defineLayer({
  type: "PPP",
  info: { title: "PPP", tcpip: "link", osi: 2 },
  decodeNetwork(w, offset, end, depth) {
    const d = decodePpp(w.bytes, offset, end);
    if (!pushHeader(w, "PPP", d, offset, end, false)) return end;
    return w.ppp(d.protocol, offset + d.headerLength, end, depth);
  },
  encode: (layer, payload, context) =>
    encodePpp({ ...layer.fields, protocol: layer.fields.protocol ?? context.nextPppProtocol }, payload),
  size: (layer) => (layer.fields.compressed ? 1 : PPP_HEADER_SIZE),
  rows: ({ fields: f }) => [
    ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : pppProtocolName(f.protocol)],
  ],
  summary: ({ fields: f }) => (f.protocol === undefined ? "PPP" : `PPP ${pppProtocolName(f.protocol)}`),
});
