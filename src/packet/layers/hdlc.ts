import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { fastFixedLinkHeader } from "./fixed-link-header.ts";
import { headerExtent } from "./header-extent.ts";
import { pppLayer } from "./ppp.ts";

/*
 * HDLC framing of serial links, as captures hold it (tcpdump.org linktypes; the frames are not
 * byte- or bit-stuffed and carry no flag or FCS):
 *
 * PPP (LINKTYPE_PPP = 9, LINKTYPE_PPP_HDLC = 50), RFC 1662 §3.1: an optional address 0xff and
 * control 0x03, then the PPP protocol field (RFC 1661 §2, ppp.ts) and the datagram.
 * +---------------+---------------+---------------+---------------+
 * | Address 0xff  | Control 0x03  |     PPP protocol (1 or 2)     |
 * +---------------+---------------+---------------+---------------+
 *
 * Cisco HDLC (LINKTYPE_C_HDLC = 104): address 0x0f (unicast) or 0x8f (broadcast), control 0x00,
 * then an EtherType.
 * +---------------+---------------+---------------+---------------+
 * |  Address      |  Control 0x00 |       Protocol (EtherType)    |
 * +---------------+---------------+---------------+---------------+
 */

const PPP_ADDRESS = 0xff;
const PPP_CONTROL = 0x03;
export const HDLC_HEADER_SIZE = 2;
export const CISCO_HDLC_HEADER_SIZE = 4;

export interface HdlcFields {
  /** 0xff: all stations. */
  address: number;
  /** 0x03: unnumbered information. */
  control: number;
}

export interface CiscoHdlcFields {
  /** 0x0f unicast, 0x8f broadcast. */
  address: number;
  control: number;
  /** EtherType of the payload; the builder fills it from the next layer. */
  protocol?: number;
}

export interface DecodedCiscoHdlc extends CiscoHdlcFields, DecodeInfo {
  protocol: number;
}

/**
 * A PPP frame in HDLC-like framing starts with the address 0xff; without the framing the PPP
 * protocol comes first, and no protocol field starts with 0xff (0x00ff is reserved, RFC 1661 §2).
 */
function hasPppFraming(bytes: Uint8Array, p: number, end: number): boolean {
  return p < end && bytes[p] === PPP_ADDRESS;
}

export function decodeCiscoHdlc(bytes: Uint8Array, offset: number, end: number): DecodedCiscoHdlc {
  const available = end - offset;
  return {
    address: bytes[offset] ?? 0,
    control: bytes[offset + 1] ?? 0,
    protocol: available >= CISCO_HDLC_HEADER_SIZE ? readU16(bytes, offset + 2) : 0,
    ...headerExtent("Cisco HDLC header", CISCO_HDLC_HEADER_SIZE, available),
  };
}

export const hdlcLayer = defineLayer({
  type: "HDLC",
  info: { title: "HDLC (PPP framing)", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.PPP, LinkType.PPP_HDLC],
  fastNext: "ppp",
  fast(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
    if (hasPppFraming(buffer, p, end)) p += HDLC_HEADER_SIZE;
    const first = p < end ? buffer[p]! : 0;
    // p > end: the framing itself was cut; the protocol check below flags it.
    const size = (first & 1) === 1 ? 1 : 2; // protocol-field compression (RFC 1661 §6.5)
    if (end - p < size) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    out.etherType = size === 1 ? first : (first << 8) | buffer[p + 1]!;
    return p + size;
  },
  decodeLink(w, end) {
    let offset = 0;
    if (hasPppFraming(w.bytes, 0, end)) {
      const d = { address: PPP_ADDRESS, control: w.bytes[1] ?? 0, ...headerExtent("HDLC", HDLC_HEADER_SIZE, end) };
      if (!pushHeader(w, "HDLC", d, 0, end, false)) return;
      offset = HDLC_HEADER_SIZE;
    }
    w.trailer(pppLayer.decodeNetwork!(w, offset, end, 0), end, false);
  },
  encode: (layer, payload) => {
    const out = new Uint8Array(HDLC_HEADER_SIZE + payload.length);
    out[0] = layer.fields.address;
    out[1] = layer.fields.control;
    out.set(payload, HDLC_HEADER_SIZE);
    return out;
  },
  size: () => HDLC_HEADER_SIZE,
  rows: ({ fields: f }) => [
    ["address", showHex(f.address, 2), f.address === PPP_ADDRESS ? "all stations" : undefined],
    ["control", showHex(f.control, 2), f.control === PPP_CONTROL ? "unnumbered information" : undefined],
  ],
  summary: () => "HDLC",
});

export const ciscoHdlcLayer = defineLayer({
  type: "CiscoHDLC",
  info: { title: "Cisco HDLC", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.C_HDLC],
  fastNext: "ether",
  fast: fastFixedLinkHeader(CISCO_HDLC_HEADER_SIZE, 2),
  decodeLink(w, end) {
    const d = decodeCiscoHdlc(w.bytes, 0, end);
    if (pushHeader(w, "CiscoHDLC", d, 0, end, false)) {
      w.trailer(w.ether(d.protocol, CISCO_HDLC_HEADER_SIZE, end, 0), end, false);
    }
  },
  encode: (layer, payload, context) => {
    const out = new Uint8Array(CISCO_HDLC_HEADER_SIZE + payload.length);
    out[0] = layer.fields.address;
    out[1] = layer.fields.control;
    writeU16(out, 2, layer.fields.protocol ?? context.nextEtherType ?? 0);
    out.set(payload, CISCO_HDLC_HEADER_SIZE);
    return out;
  },
  size: () => CISCO_HDLC_HEADER_SIZE,
  rows: ({ fields: f }) => [
    ["address", showHex(f.address, 2), f.address === 0x0f ? "unicast" : f.address === 0x8f ? "broadcast" : undefined],
    ["control", showHex(f.control, 2)],
    ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : etherTypeName(f.protocol)],
  ],
  summary: ({ fields: f }) => (f.protocol === undefined ? "Cisco HDLC" : `Cisco HDLC ${etherTypeName(f.protocol)}`),
});
