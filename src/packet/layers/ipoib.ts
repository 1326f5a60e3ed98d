import { formatHex, formatIpv6, parseHex } from "../address-text.ts";
import type { DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16 } from "../byte-order.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { LinkType } from "../link-type.ts";
import { showHex } from "../show-format.ts";
import { etherTypeName } from "./ethernet.ts";
import { fastFixedLinkHeader } from "./fixed-link-header.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";

/*
 * IP over InfiniBand (tcpdump.org LINKTYPE_IPOIB = 242). The encapsulation header of RFC 4391 §6
 * is 4 bytes, an EtherType and 2 reserved bytes; Linux captures (and so the pcap files tcpdump
 * and tshark read) put 40 bytes before it, where the driver keeps an InfiniBand Global Route
 * Header or, when its first two bytes are zero, nothing in the first 20 and the destination
 * hardware address (RFC 4391 §9.1.1: a flags byte, the 24-bit queue pair number, the 16-byte port
 * GID) in the next 20:
 *
 * +---------------+---------------+---------------+---------------+
 * |      Zeros, or a Global Route Header (bytes 0–19) …           |  0
 * +---------------+---------------+---------------+---------------+
 * |     Flags     |          Destination queue pair number        |  20
 * +---------------+---------------+---------------+---------------+
 * |             Destination port GID (16 bytes) …                 |  24
 * +---------------+---------------+---------------+---------------+
 * |             Type (EtherType)  |           Reserved            |  40
 * +---------------+---------------+---------------+---------------+
 *
 * A Global Route Header (InfiniBand Architecture §8.3) is laid out as IPv6's: version (4 bits),
 * traffic class (8), flow label (20), payload length (2 bytes), next header, hop limit, source
 * GID (bytes 8–23), destination GID (bytes 24–39). tshark shows the bytes so whenever the first
 * two are not zero; Linux leaves them unset in some captures.
 */

const IPOIB = headerLayout({ grh: 20, daddr: 20, type: 2, reserved: 2 });
export const IPOIB_HEADER_SIZE = IPOIB.size;
/** Where the destination port GID is, from the start of the header. */
const DGID_AT = IPOIB.daddr + 4;

export interface IpoibFields {
  /** Bytes 0–19 as hex (40 digits): zeros, or the first 20 bytes of a Global Route Header. */
  grh: string;
  /** Bytes 20–39 as hex (40 digits): the destination hardware address (flags, QPN, GID), or a GRH's last 20 bytes. */
  daddr: string;
  /** EtherType of the payload; the builder fills it from the next layer. */
  type?: number;
  reserved: number;
}

export interface DecodedIpoib extends IpoibFields, DecodeInfo {
  type: number;
}

export function decodeIpoib(bytes: Uint8Array, offset: number, end: number): DecodedIpoib {
  const extent = headerExtent("IPoIB header", IPOIB_HEADER_SIZE, end - offset);
  const hex = (at: number, size: number) => (extent.complete ? formatHex(bytes, offset + at, offset + at + size) : "");
  return {
    grh: hex(IPOIB.grh, IPOIB.daddr - IPOIB.grh),
    daddr: hex(IPOIB.daddr, IPOIB.type - IPOIB.daddr),
    type: extent.complete ? readU16(bytes, offset + IPOIB.type) : 0,
    reserved: extent.complete ? readU16(bytes, offset + IPOIB.reserved) : 0,
    ...extent,
  };
}

/** The 40 bytes before the encapsulation header: `grh` then `daddr`, each cut or zero padded to 20 bytes. */
export function ipoibPseudoHeader(fields: Pick<IpoibFields, "grh" | "daddr">): Uint8Array {
  const out = new Uint8Array(IPOIB.type);
  out.set(parseHex(fields.grh).subarray(0, IPOIB.daddr), IPOIB.grh);
  out.set(parseHex(fields.daddr).subarray(0, IPOIB.type - IPOIB.daddr), IPOIB.daddr);
  return out;
}

export function encodeIpoib(fields: IpoibFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(IPOIB_HEADER_SIZE + payload.length);
  out.set(ipoibPseudoHeader(fields), 0);
  writeU16(out, IPOIB.type, fields.type ?? 0);
  writeU16(out, IPOIB.reserved, fields.reserved);
  out.set(payload, IPOIB_HEADER_SIZE);
  return out;
}

/** What the 40 bytes say, read as tshark does: a GRH when its first two bytes are not zero, else the destination. */
export interface IpoibAddressing {
  /** The destination port GID (bytes 24–39) in both readings. */
  dgid: string;
  /** No GRH: the destination's flags byte and queue pair number. */
  daddr?: { flags: number; qpn: number };
  /** A GRH: version, traffic class, flow label, the 24 bits at bytes 5–7 tshark calls source QPN, source GID. */
  grh?: { version: number; trafficClass: number; flowLabel: number; sqpn: number; sgid: string };
}

export function ipoibAddressing(fields: Pick<IpoibFields, "grh" | "daddr">): IpoibAddressing {
  const b = ipoibPseudoHeader(fields);
  const dgid = formatIpv6(b, DGID_AT);
  if (readU16(b, 0) === 0) return { dgid, daddr: { flags: b[IPOIB.daddr]!, qpn: readU32(b, IPOIB.daddr) & 0xffffff } };
  const word = readU32(b, 0);
  return {
    dgid,
    grh: {
      version: word >>> 28,
      trafficClass: (word >>> 20) & 0xff,
      flowLabel: word & 0xfffff,
      sqpn: readU32(b, 4) & 0xffffff,
      sgid: formatIpv6(b, 8),
    },
  };
}

const hex = (value: number, digits: number) => `0x${value.toString(16).padStart(digits, "0")}`;

function ipoibRows(f: IpoibFields): ShowRow[] {
  const a = ipoibAddressing(f);
  const rows: ShowRow[] = [];
  if (a.grh !== undefined) {
    const g = a.grh;
    rows.push(
      ["grh", f.grh, `Global Route Header: version ${g.version}, class ${g.trafficClass}, flow ${g.flowLabel}`],
      ["daddr", f.daddr, `source GID ${g.sgid}, destination GID ${a.dgid}`],
    );
  } else {
    rows.push(
      ["grh", f.grh, "no Global Route Header"],
      ["daddr", f.daddr, `destination QPN ${hex(a.daddr!.qpn, 6)}, GID ${a.dgid}`],
    );
  }
  rows.push(
    ["type", showHex(f.type, 4), f.type === undefined ? undefined : etherTypeName(f.type)],
    ["reserved", showHex(f.reserved, 4)],
  );
  return rows;
}

export const ipoibLayer = defineLayer({
  type: "IPoIB",
  info: { title: "IP over InfiniBand", tcpip: "link", osi: 2 },
  linkTypes: [LinkType.IPOIB],
  fastNext: "ether",
  fast: fastFixedLinkHeader(IPOIB_HEADER_SIZE, IPOIB.type),
  decodeLink(w, end) {
    const d = decodeIpoib(w.bytes, 0, end);
    if (pushHeader(w, "IPoIB", d, 0, end, false)) w.trailer(w.ether(d.type, IPOIB_HEADER_SIZE, end, 0), end, false);
  },
  encode: (layer, payload, context) =>
    encodeIpoib({ ...layer.fields, type: layer.fields.type ?? context.nextEtherType ?? 0 }, payload),
  size: () => IPOIB_HEADER_SIZE,
  rows: ({ fields }) => ipoibRows(fields),
  summary: ({ fields: f }) => (f.type === undefined ? "IPoIB" : `IPoIB ${etherTypeName(f.type)}`),
});
