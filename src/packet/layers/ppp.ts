import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { type DecodeWalker, defineLayer, pushHeader } from "../layer-def.ts";
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
 *
 * PPTP carries PPP frames in enhanced GRE (RFC 2637 §4.1, GRE protocol type 0x880B) with the
 * RFC 1662 framing, address 0xff and control 0x03, in front of the protocol field, or without it
 * when address-and-control-field compression was negotiated (RFC 1661 §6.6); no protocol field
 * starts with 0xff (0x00ff is reserved, RFC 1661 §2), so the first byte tells which. The framing
 * is pushed as an HDLC layer (hdlc.ts), as on a serial link.
 */

export const PPP_HEADER_SIZE = 2;
/** The EtherType of PPP in GRE (RFC 2637 §4.1). */
export const ETHERTYPE_PPP = 0x880b;
/** RFC 1662 §3.1 framing: address 0xff (all stations), control 0x03 (unnumbered information). */
export const PPP_FRAMING_SIZE = 2;
export const PPP_FRAMING_ADDRESS = 0xff;
export const PPP_FRAMING_CONTROL = 0x03;

const PPP_PROTOCOLS = codeTable({
  IPV4: [0x0021, "IPv4"],
  IPV6: [0x0057, "IPv6"],
  IPCP: [0x8021, "IPCP"],
  IPV6CP: [0x8057, "IPv6CP"],
  LCP: [0xc021, "LCP"],
  PAP: [0xc023, "PAP"],
  CHAP: [0xc223, "CHAP"],
  MPLS: [0x0281, "MPLS"],
  MPLS_MULTICAST: [0x0283, "MPLS multicast"],
  CCP: [0x80fd, "CCP"],
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

/** True when the PPP frame at `p` starts with the RFC 1662 framing (address 0xff). */
export function hasPppFraming(bytes: Uint8Array, p: number, end: number): boolean {
  return p < end && bytes[p] === PPP_FRAMING_ADDRESS;
}

/**
 * Fast read of a PPP frame at `p`, with or without the RFC 1662 framing: the protocol (one byte
 * when compressed) into `out.etherType` for the registry's PPP table; the datagram's offset returned.
 */
export function fastFramedPpp(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (hasPppFraming(buffer, p, end)) p += PPP_FRAMING_SIZE;
  const first = p < end ? buffer[p]! : 0;
  // p > end: the framing itself was cut; the protocol check below flags it.
  const size = (first & 1) === 1 ? 1 : 2; // protocol-field compression (RFC 1661 §6.5)
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  out.etherType = size === 1 ? first : (first << 8) | buffer[p + 1]!;
  return p + size;
}

/** Slow decode of the protocol field at `offset` and the datagram it announces; returns where the packet ends. */
export function decodePppProtocol(w: DecodeWalker, offset: number, end: number, depth: number): number {
  const d = decodePpp(w.bytes, offset, end);
  if (!pushHeader(w, "PPP", d, offset, end, false)) return end;
  return w.ppp(d.protocol, offset + d.headerLength, end, depth);
}

/** Slow decode of a PPP frame at `offset`: the RFC 1662 framing (an HDLC layer) when there, then the protocol field. */
export function decodeFramedPpp(w: DecodeWalker, offset: number, end: number, depth: number): number {
  if (hasPppFraming(w.bytes, offset, end)) {
    const d = {
      address: PPP_FRAMING_ADDRESS,
      control: w.bytes[offset + 1] ?? 0,
      ...headerExtent("HDLC", PPP_FRAMING_SIZE, end - offset),
    };
    if (!pushHeader(w, "HDLC", d, offset, end, false)) return end;
    offset += PPP_FRAMING_SIZE;
  }
  return decodePppProtocol(w, offset, end, depth);
}

export const pppLayer = defineLayer({
  type: "PPP",
  info: { title: "PPP", tcpip: "link", osi: 2 },
  etherTypes: [ETHERTYPE_PPP],
  fast: fastFramedPpp,
  fastNext: "ppp",
  decodeNetwork: decodeFramedPpp,
  encode: (layer, payload, context) =>
    encodePpp({ ...layer.fields, protocol: layer.fields.protocol ?? context.nextPppProtocol }, payload),
  size: (layer) => (layer.fields.compressed ? 1 : PPP_HEADER_SIZE),
  rows: ({ fields: f }) => [
    ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : pppProtocolName(f.protocol)],
  ],
  summary: ({ fields: f }) => (f.protocol === undefined ? "PPP" : `PPP ${pppProtocolName(f.protocol)}`),
});
