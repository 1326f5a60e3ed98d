import type { DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { fastFixedLinkHeader } from "./fixed-link-header.ts";
import { headerExtent } from "./header-extent.ts";
import {
  decodeFramedPpp,
  ETHERTYPE_PPP,
  fastFramedPpp,
  PPP_FRAMING_ADDRESS,
  PPP_FRAMING_CONTROL,
  PPP_FRAMING_SIZE,
} from "./ppp.ts";

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

export const HDLC_HEADER_SIZE = PPP_FRAMING_SIZE;
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
  // In GRE (PPTP) the framing comes with the PPP frame under EtherType 0x880B (ppp.ts).
  etherTypeFor: () => ETHERTYPE_PPP,
  fastNext: "ppp",
  fast: fastFramedPpp,
  decodeLink(w, end) {
    w.trailer(decodeFramedPpp(w, 0, end, 0), end, false);
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
    ["address", showHex(f.address, 2), f.address === PPP_FRAMING_ADDRESS ? "all stations" : undefined],
    ["control", showHex(f.control, 2), f.control === PPP_FRAMING_CONTROL ? "unnumbered information" : undefined],
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
