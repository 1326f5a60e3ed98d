import { QoelabError } from "../../../errors.ts";
import { type AppAnomaly, appAnomaly } from "../../app-anomaly.ts";
import { writeU32 } from "../../byte-order.ts";

/*
 * RTCP (RFC 3550 §6). Every packet starts with the common header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  count  |      PT       |             length            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * `length` is the packet size in 32-bit words minus one; `count` is RC (SR, RR), SC (SDES, BYE),
 * the subtype (APP) or FMT (RTPFB, PSFB). Each packet type's body is one file beside this one;
 * ../rtcp.ts walks a compound packet and picks the body codec by PT.
 */

export const RtcpPacketType = {
  SR: 200,
  RR: 201,
  SDES: 202,
  BYE: 203,
  APP: 204,
  RTPFB: 205,
  PSFB: 206,
  XR: 207,
} as const;

export const RTCP_COMMON_HEADER_SIZE = 4;

/** What every decoded packet carries beside its fields. */
export interface RtcpHeaderInfo {
  version: number;
  packetType: number;
  /** The 5-bit count / subtype / FMT field. */
  count: number;
  /** Length field: 32-bit words minus one. */
  lengthWords: number;
  /** Padding octets at the end of this packet (0 when P is clear). */
  paddingLength: number;
  /** Absolute offset of the packet in the buffer, and its size in bytes. */
  offset: number;
  byteLength: number;
}

/** Where a body decoder reports a malformed body (it then returns null). */
export interface RtcpBodyErrors {
  anomalies: AppAnomaly[];
  /** Index of the packet in its compound. */
  index: number;
}

/** One packet type's body: decode from [p, end) (after the common header) and encode. */
export interface RtcpBodyCodec<F extends { kind: string }> {
  readonly packetTypes: readonly number[];
  readonly kinds: readonly F["kind"][];
  /** The fixed part every body starts with (`name` in the anomaly): the walker reports a shorter body. */
  readonly fixedPart?: { readonly name: string; readonly size: number };
  decode(bytes: Uint8Array, p: number, end: number, header: RtcpHeaderInfo, errors: RtcpBodyErrors): F | null;
  /** The body bytes and the 5-bit count field. */
  encode(fields: F): { packetType: number; count: number; body: Uint8Array };
}

export function badBody(errors: RtcpBodyErrors, packetType: number, what: string): null {
  errors.anomalies.push(appAnomaly("bad-length", `RTCP packet ${errors.index} (PT ${packetType}): ${what}`));
  return null;
}

/**
 * A body of 32-bit `words` (SSRCs and the like) then `data` kept raw (APP data, XR blocks,
 * feedback FCI), which must fill whole words: `field` names it when it does not.
 */
export function wordsThenData(field: string, words: readonly number[], data: Uint8Array): Uint8Array {
  if (data.length % 4 !== 0) failField(field, data.length, "a multiple of 4 bytes");
  const body = new Uint8Array(4 * words.length + data.length);
  words.forEach((word, i) => {
    writeU32(body, 4 * i, word);
  });
  body.set(data, 4 * words.length);
  return body;
}

export function failField(field: string, value: number, expected: string): never {
  throw new QoelabError("PACKET_BAD_FIELD", `RTCP ${field} ${value}: must be ${expected}`, { field, value });
}

export function pushU32(parts: number[], value: number): void {
  parts.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

export const utf8 = new TextDecoder("utf-8");
export const utf8Encoder = new TextEncoder();

/** Short name of a packet type as tshark prints it (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR). */
export function rtcpTypeName(packetType: number): string {
  for (const [name, value] of Object.entries(RtcpPacketType)) if (value === packetType) return name;
  return `PT${packetType}`;
}
