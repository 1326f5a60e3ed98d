import { anomaly, type ChecksumStatus, type DecodeInfo } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import { internetChecksum } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, pushHeader } from "../layer-def.ts";
import { checksumMeaning, showHex, showNum } from "../show-format.ts";
import type { TransportContext } from "../transport-context.ts";
import { verifyOwnChecksum } from "./checksum-field.ts";
import { ETHERTYPE_TRANSPARENT_ETHERNET, etherTypeName } from "./ethernet.ts";
import { variableHeaderExtent } from "./header-extent.ts";
import { ETHERTYPE_PPP } from "./ppp.ts";

/*
 * Generic Routing Encapsulation, IP protocol 47: RFC 2784 (C bit, version, protocol type,
 * checksum), RFC 2890 (K and S bits: key and sequence number) and RFC 1701's other bits as far as
 * the header length needs them (R: checksum, offset and routing present; s, Recur are fields):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |C|R|K|S|s|Recur|A| Flags | Ver |         Protocol Type         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Checksum (optional)      |  Reserved1 / Offset (optional)|  C or R set
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Key (optional)                        |  K set
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Sequence Number (optional)                    |  S set
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Acknowledgment Number (optional)                  |  version 1, A set
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 Routing (optional, RFC 1701) …                |  R set: not decoded
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The checksum (RFC 1071) covers the GRE header and payload. Version 1 is PPTP's enhanced GRE
 * (RFC 2637 §4.1): K always set, the key is the payload length (16 bits) and the peer's call id
 * (16 bits), A announces the acknowledgment number, the protocol type is 0x880B (PPP, ppp.ts).
 * The protocol type is an EtherType: 0x0800 IPv4, 0x86DD IPv6, 0x6558 an Ethernet frame
 * (ethernet.ts), 0x8847 MPLS, 0x88BE / 0x22EB ERSPAN (erspan.ts). 0x88BE with S clear is ERSPAN
 * type I: no ERSPAN header, the Ethernet frame follows at once (as tshark decodes it). 0x883E is
 * WCCP redirection (draft-wilson-wrec-wccp-v2 §4.12): an IPv4 packet, after a 4-byte redirect
 * header in WCCP v2 (told apart, as tshark does, by the first nibble not being 4):
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0 0 0 0|D|A|U|  Service ID   | Alternative B |  Primary B.   |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

const BIT_C = 0x8000;
const BIT_R = 0x4000;
const BIT_K = 0x2000;
const BIT_S = 0x1000;
const BIT_A = 0x0080;
export const GRE_HEADER_SIZE = 4;
export const IP_PROTOCOL_GRE = 47;
/** Protocol type of ERSPAN type II (and type I, without the S bit). */
const ETHERTYPE_ERSPAN = 0x88be;
/** Protocol type of WCCP redirection: IPv4, after a redirect header in version 2. */
const ETHERTYPE_WCCP = 0x883e;
const WCCP_REDIRECT_SIZE = 4;

export interface GreFields {
  /** C: checksum and reserved1 present; undefined: set when `checksum` or `reserved1` is given. */
  checksumPresent?: number;
  /** R (RFC 1701): offset and routing present; the routing entries are not decoded (a Raw layer). */
  routingPresent?: number;
  /** K: key present; undefined: set when `key` is given, and always in version 1. */
  keyPresent?: number;
  /** S: sequence number present; undefined: set when `sequence` is given, and for ERSPAN type II. */
  sequencePresent?: number;
  /** s (RFC 1701): strict source route, 0 or 1. */
  strictRoute: number;
  /** Recursion control (RFC 1701), 0..7. */
  recursion: number;
  /** A: acknowledgment number present (version 1; a reserved bit in version 0); undefined: set when `ack` is given. */
  ackPresent?: number;
  /** The reserved flag bits between A and the version, 0..15. */
  flags: number;
  /** 0: GRE; 1: PPTP's enhanced GRE. */
  version: number;
  /** EtherType of the payload; the builder fills it from the next layer. */
  protocol?: number;
  /** Computed over header and payload when undefined and C is set. */
  checksum?: number;
  /** Reserved1 (RFC 2784) or Offset (RFC 1701), after the checksum. */
  reserved1?: number;
  /** Version 0: the key (RFC 2890). */
  key?: number;
  /** Version 1: the key's high half, the payload's length (computed when undefined). */
  payloadLength?: number;
  /** Version 1: the key's low half, the peer's call id. */
  callId?: number;
  sequence?: number;
  /** Version 1: the highest sequence number received. */
  ack?: number;
  /** WCCP v2 redirect header (protocol 0x883E), after the GRE header. */
  wccpRedirect?: number;
}

export interface DecodedGre extends GreFields, DecodeInfo {
  checksumPresent: number;
  routingPresent: number;
  keyPresent: number;
  sequencePresent: number;
  ackPresent: number;
  protocol: number;
  checksumStatus?: ChecksumStatus;
}

/** Bytes of a GRE header whose first 16 bits are `flags` (the routing entries of R not counted). */
export function greHeaderSize(flags: number): number {
  let size = GRE_HEADER_SIZE;
  if (flags & (BIT_C | BIT_R)) size += 4;
  if (flags & BIT_K) size += 4;
  if (flags & BIT_S) size += 4;
  if ((flags & 7) === 1 && flags & BIT_A) size += 4;
  return size;
}

/** The EtherType of what a GRE header with these `flags` and `protocol` carries (ERSPAN type I: the frame itself; WCCP: IPv4). */
export function greCarriedEtherType(flags: number, protocol: number): number {
  if (protocol === ETHERTYPE_ERSPAN && (flags & BIT_S) === 0) return ETHERTYPE_TRANSPARENT_ETHERNET;
  return protocol === ETHERTYPE_WCCP ? 0x0800 : protocol;
}

/** True when a WCCP v2 redirect header sits at `p` (GRE `protocol` 0x883E, what follows not IPv4). */
function hasWccpRedirect(bytes: Uint8Array, p: number, end: number, protocol: number): boolean {
  return protocol === ETHERTYPE_WCCP && p < end && bytes[p]! >> 4 !== 4;
}

/**
 * Decodes the GRE header at `offset`. With C set, the checksum is verified over the GRE packet
 * (`context.length` bytes, the IP payload): "unverified" when not all of it was captured, for a
 * fragment, inside an ICMP error quote or without a context.
 */
export function decodeGre(bytes: Uint8Array, offset: number, end: number, context?: TransportContext): DecodedGre {
  const available = end - offset;
  const first = readU16(bytes, offset);
  const version = first & 7;
  const size = greHeaderSize(first);
  const extent = variableHeaderExtent("GRE header", GRE_HEADER_SIZE, size, available, "optional fields");
  const d: DecodedGre = {
    checksumPresent: (first >> 15) & 1,
    routingPresent: (first >> 14) & 1,
    keyPresent: (first >> 13) & 1,
    sequencePresent: (first >> 12) & 1,
    strictRoute: (first >> 11) & 1,
    recursion: (first >> 8) & 7,
    ackPresent: (first >> 7) & 1,
    flags: (first >> 3) & 0x0f,
    version,
    protocol: readU16(bytes, offset + 2),
    ...extent,
  };
  if (!extent.complete) return d;
  d.headerLength = size;
  let at = offset + GRE_HEADER_SIZE;
  if (first & (BIT_C | BIT_R)) {
    d.checksum = readU16(bytes, at);
    d.reserved1 = readU16(bytes, at + 2);
    at += 4;
  }
  if (first & BIT_K) {
    if (version === 1) {
      d.payloadLength = readU16(bytes, at);
      d.callId = readU16(bytes, at + 2);
    } else d.key = readU32(bytes, at);
    at += 4;
  }
  if (first & BIT_S) {
    d.sequence = readU32(bytes, at);
    at += 4;
  }
  if (version === 1 && first & BIT_A) {
    d.ack = readU32(bytes, at);
    at += 4;
  }
  if ((first & BIT_R) === 0 && hasWccpRedirect(bytes, at, end, d.protocol)) {
    if (available < size + WCCP_REDIRECT_SIZE) {
      d.complete = false;
      d.headerLength = available;
      d.anomalies.push(anomaly("truncated", `WCCP redirect header needs 4 bytes, ${end - at} captured`));
      return d;
    }
    d.wccpRedirect = readU32(bytes, at);
    d.headerLength += WCCP_REDIRECT_SIZE;
  }
  if (first & BIT_C) {
    const length = context?.length ?? -1;
    const verifiable = context !== undefined && !context.fragment && !context.quoted && length >= size;
    d.checksumStatus =
      verifiable && available >= length
        ? verifyOwnChecksum("GRE", bytes, offset, offset + length, offset + GRE_HEADER_SIZE, d.anomalies)
        : "unverified";
  }
  if (version > 1) d.anomalies.push(anomaly("bad-version", `GRE version ${version} (0 and 1 are defined)`));
  return d;
}

/** The optional fields' presence bits as `encode` writes them (derived from the fields when undefined). */
function presence(f: GreFields, nextIsErspan: boolean) {
  const erspanII = nextIsErspan && f.protocol === ETHERTYPE_ERSPAN;
  return {
    c: f.checksumPresent ?? (f.checksum !== undefined || f.reserved1 !== undefined ? 1 : 0),
    r: f.routingPresent ?? 0,
    k: f.keyPresent ?? (f.version === 1 || f.key !== undefined || f.callId !== undefined ? 1 : 0),
    s: f.sequencePresent ?? (f.sequence !== undefined || erspanII ? 1 : 0),
    a: f.ackPresent ?? (f.version === 1 && f.ack !== undefined ? 1 : 0),
  };
}

function flagsWord(f: GreFields, nextIsErspan: boolean): number {
  const { c, r, k, s, a } = presence(f, nextIsErspan);
  return (
    ((c & 1) << 15) |
    ((r & 1) << 14) |
    ((k & 1) << 13) |
    ((s & 1) << 12) |
    ((f.strictRoute & 1) << 11) |
    ((f.recursion & 7) << 8) |
    ((a & 1) << 7) |
    ((f.flags & 0x0f) << 3) |
    (f.version & 7)
  );
}

/** The first 16 bits (flags and version) `encode` writes for these fields. */
export function greFlagsAndVersion(fields: GreFields): number {
  return flagsWord(fields, false);
}

/** `nextIsErspan`: an ERSPAN header follows (type II needs the S bit). */
export function encodeGre(fields: GreFields, payload: Uint8Array, nextIsErspan = false): Uint8Array {
  const first = flagsWord(fields, nextIsErspan);
  const size = greHeaderSize(first) + (fields.wccpRedirect !== undefined ? WCCP_REDIRECT_SIZE : 0);
  const out = new Uint8Array(size + payload.length);
  writeU16(out, 0, first);
  writeU16(out, 2, fields.protocol ?? 0);
  let at = GRE_HEADER_SIZE;
  const checksumAt = first & (BIT_C | BIT_R) ? at : -1;
  if (checksumAt >= 0) {
    writeU16(out, at + 2, fields.reserved1 ?? 0);
    at += 4;
  }
  if (first & BIT_K) {
    if (fields.version === 1) {
      writeU16(out, at, fields.payloadLength ?? payload.length);
      writeU16(out, at + 2, fields.callId ?? 0);
    } else writeU32(out, at, fields.key ?? 0);
    at += 4;
  }
  if (first & BIT_S) {
    writeU32(out, at, fields.sequence ?? 0);
    at += 4;
  }
  if ((first & 7) === 1 && first & BIT_A) writeU32(out, at, fields.ack ?? 0);
  if (fields.wccpRedirect !== undefined) writeU32(out, size - WCCP_REDIRECT_SIZE, fields.wccpRedirect);
  out.set(payload, size);
  if (checksumAt >= 0) {
    const computed = first & BIT_C ? internetChecksum(out, 0, out.length) : 0;
    writeU16(out, checksumAt, fields.checksum ?? computed);
  }
  return out;
}

/**
 * Fast read: the header length from the flags, the carried EtherType into `out.etherType`; the
 * payload's offset returned. The walk stops (-1) at routing entries (not decoded), an unknown
 * version or an empty payload (a PPTP acknowledgment), and on a cut header (TRUNCATED).
 */
function fastGre(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  if (end - p < GRE_HEADER_SIZE) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  const first = (buffer[p]! << 8) | buffer[p + 1]!;
  const protocol = (buffer[p + 2]! << 8) | buffer[p + 3]!;
  let size = greHeaderSize(first);
  if ((first & BIT_R) === 0 && hasWccpRedirect(buffer, p + size, end, protocol)) size += WCCP_REDIRECT_SIZE;
  if (end - p < size) {
    out.anomalies |= Anomaly.TRUNCATED;
    return -1;
  }
  // Nothing carried (a PPTP acknowledgment) when the IP length says so too; else the next header is cut.
  if (first & BIT_R || (first & 7) > 1 || (end - p === size && out.l4Length <= size)) {
    out.etherType = 0;
    return -1;
  }
  out.etherType = greCarriedEtherType(first, protocol);
  return p + size;
}

export const greLayer = defineLayer({
  type: "GRE",
  info: { title: "GRE", tcpip: "internet", osi: 3 },
  ipProtocols: [IP_PROTOCOL_GRE],
  fast: fastGre,
  fastNext: "ether",
  decodeTransport(w, offset, end, context) {
    const quoted = context.quoted === true;
    const d = decodeGre(w.bytes, offset, end, context);
    if (!pushHeader(w, "GRE", d, offset, end, quoted)) return;
    const payload = offset + d.headerLength;
    // Nothing carried (a PPTP acknowledgment), unless the IP length says more was sent than captured.
    if (payload >= end && (quoted || context.length <= d.headerLength)) return;
    if (quoted || d.routingPresent === 1 || d.version > 1) {
      // Inside an ICMP error the rest stays quoted bytes; routing entries (RFC 1701) are not decoded.
      w.raw(payload, end, quoted, d.routingPresent === 1 ? "GRE routing" : undefined);
      return;
    }
    const networkEnd = w.ether(greCarriedEtherType(readU16(w.bytes, offset), d.protocol), payload, end, 0);
    w.trailer(networkEnd, end, false);
  },
  encode: (layer, payload, context) =>
    encodeGre(
      {
        ...layer.fields,
        // PPTP's enhanced GRE carries PPP (RFC 2637 §4.1), even with no payload (an acknowledgment).
        protocol: layer.fields.protocol ?? context.nextEtherType ?? (layer.fields.version === 1 ? ETHERTYPE_PPP : 0),
      },
      payload,
      context.next === "ERSPAN",
    ),
  size: (layer) =>
    greHeaderSize(flagsWord(layer.fields, false)) + (layer.fields.wccpRedirect !== undefined ? WCCP_REDIRECT_SIZE : 0),
  rows(layer) {
    const f = layer.fields;
    const rows: ShowRow[] = [
      ["checksumPresent", showNum(f.checksumPresent), "C"],
      ["routingPresent", showNum(f.routingPresent), f.routingPresent ? "R: routing not decoded" : "R"],
      ["keyPresent", showNum(f.keyPresent), "K"],
      ["sequencePresent", showNum(f.sequencePresent), "S"],
      ["strictRoute", String(f.strictRoute), "strict source route"],
      ["recursion", String(f.recursion), "recursion control"],
      ["ackPresent", showNum(f.ackPresent), f.version === 1 ? "A" : "reserved"],
      ["flags", String(f.flags), "reserved"],
      ["version", String(f.version), f.version === 0 ? "GRE" : f.version === 1 ? "enhanced GRE (PPTP)" : "unknown"],
      ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : greProtocolName(f)],
    ];
    if (f.checksum !== undefined || f.checksumPresent) {
      rows.push(["checksum", showHex(f.checksum, 4), checksumMeaning(layer.checksumStatus)]);
    }
    if (f.reserved1 !== undefined) rows.push(["reserved1", String(f.reserved1), "offset (RFC 1701)"]);
    if (f.key !== undefined) rows.push(["key", showHex(f.key, 8), String(f.key)]);
    if (f.payloadLength !== undefined) rows.push(["payloadLength", String(f.payloadLength)]);
    if (f.callId !== undefined) rows.push(["callId", String(f.callId), "call id"]);
    if (f.sequence !== undefined) rows.push(["sequence", String(f.sequence)]);
    if (f.ack !== undefined) rows.push(["ack", String(f.ack), "acknowledgment number"]);
    if (f.wccpRedirect !== undefined) {
      const w = f.wccpRedirect;
      const meaning = `service ${(w >>> 16) & 0xff}, buckets ${(w >>> 8) & 0xff}/${w & 0xff}, flags 0x${(w >>> 24).toString(16)}`;
      rows.push(["wccpRedirect", showHex(w, 8), `WCCP redirect: ${meaning}`]);
    }
    return rows;
  },
  summary({ fields: f }) {
    const parts = ["GRE"];
    if (f.protocol !== undefined) parts.push(greProtocolName(f));
    if (f.key !== undefined) parts.push(`key=0x${f.key.toString(16).padStart(8, "0")}`);
    if (f.callId !== undefined) parts.push(`call=${f.callId}`);
    if (f.sequence !== undefined) parts.push(`seq=${f.sequence}`);
    if (f.ack !== undefined) parts.push(`ack=${f.ack}`);
    return parts.join(" ");
  },
});

function greProtocolName(f: GreFields): string {
  if (f.protocol === ETHERTYPE_ERSPAN && f.sequencePresent === 0) return "ERSPAN type I";
  if (f.protocol === ETHERTYPE_WCCP) return "WCCP";
  return etherTypeName(f.protocol ?? 0);
}
