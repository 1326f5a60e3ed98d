import { anomaly, type ChecksumStatus, type LayerAnomaly } from "../anomaly.ts";
import { foldSum, internetChecksum, onesComplementSum, type PseudoHeader, pseudoHeaderSum } from "../checksum.ts";
import { type TransportContext, verifyTransportChecksum } from "../transport-context.ts";

/*
 * A header's Internet checksum field (RFC 1071) as the layers see it: the value encode writes,
 * the check decode makes and the anomaly when it is off. IPv4 and ICMP sum their own bytes;
 * TCP, UDP and ICMPv6 add the IP pseudo-header.
 */

/** Where a transport header (TCP, UDP, ICMPv6) keeps its pseudo-header checksum, and how it is sent. */
export interface PseudoChecksumField {
  /** The header as anomalies name it ("TCP"). */
  what: string;
  /** The IP protocol number the pseudo-header carries. */
  protocol: number;
  /** Offset of the field in the header. */
  at: number;
  /** What a computed 0 is sent as: 0 unless said (UDP: 0xffff, its 0 meaning "no checksum"). */
  zeroSentAs?: number;
}

/** The checksum of `segment` after the pseudo-header of `field`'s protocol; 0 ("none") without the addresses. */
export function pseudoHeaderChecksum(
  segment: Uint8Array,
  pseudo: PseudoHeader | undefined,
  field: PseudoChecksumField,
  length = segment.length,
): number {
  if (pseudo === undefined) return 0;
  const sum = internetChecksum(segment, 0, segment.length, pseudoHeaderSum(pseudo, field.protocol, length));
  return sum === 0 ? (field.zeroSentAs ?? 0) : sum;
}

/**
 * Verifies the pseudo-header checksum of the `length`-byte segment at `offset` (as
 * verifyTransportChecksum does); when bad, adds an anomaly with the value found and the one expected.
 */
export function verifyPseudoHeaderChecksum(
  field: PseudoChecksumField,
  bytes: Uint8Array,
  offset: number,
  end: number,
  length: number,
  context: TransportContext | undefined,
  anomalies: LayerAnomaly[],
): ChecksumStatus {
  const at = offset + field.at;
  const check = verifyTransportChecksum(bytes, offset, end, length, at, field.protocol, context);
  if (check.status === "bad") {
    const expected = check.expected === 0 ? (field.zeroSentAs ?? 0) : check.expected;
    anomalies.push(badChecksum(field.what, (bytes[at]! << 8) | bytes[at + 1]!, expected, check.partial));
  }
  return check.status;
}

/**
 * Verifies a checksum over bytes[start, end) alone whose field sits at `checksumAt` (an even
 * distance from `start`); when bad, adds an anomaly naming `what` with the value found and the
 * one expected (the sum without the field, so nothing is copied).
 */
export function verifyOwnChecksum(
  what: string,
  bytes: Uint8Array,
  start: number,
  end: number,
  checksumAt: number,
  anomalies: LayerAnomaly[],
): ChecksumStatus {
  const sum = onesComplementSum(bytes, start, end);
  if (foldSum(sum) === 0xffff) return "good";
  const high = (bytes[checksumAt] ?? 0) << 8;
  const low = bytes[checksumAt + 1] ?? 0;
  // What the field added to the sum (a range cut short may hold only part of it, or none).
  const summed = (checksumAt < end ? high : 0) + (checksumAt + 1 < end ? low : 0);
  anomalies.push(badChecksum(what, high | low, ~foldSum(sum - summed) & 0xffff));
  return "bad";
}

/** "bad-checksum": `what` (e.g. "TCP") held `found` where `expected` belongs; `partial`: a TX-offload partial sum. */
export function badChecksum(what: string, found: number, expected: number, partial = false): LayerAnomaly {
  const offload = partial ? " (partial checksum: TX checksum offload)" : "";
  return anomaly("bad-checksum", `${what} checksum 0x${hex4(found)}, expected 0x${hex4(expected)}${offload}`);
}

function hex4(value: number): string {
  return value.toString(16).padStart(4, "0");
}
