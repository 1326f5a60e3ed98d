import { anomaly, type ChecksumStatus, type LayerAnomaly } from "../anomaly.ts";
import { foldSum, internetChecksum, onesComplementSum, type PseudoHeader, pseudoHeaderSum } from "../checksum.ts";

/*
 * A header's Internet checksum field (RFC 1071) as the layers see it: the value encode writes,
 * the check decode makes and the anomaly when it is off. IPv4 and ICMP sum their own bytes;
 * TCP, UDP and ICMPv6 add the IP pseudo-header (verified by transport-context.ts).
 */

/** The checksum of `segment` after the pseudo-header of `protocol`; 0 ("none") without the addresses. */
export function pseudoHeaderChecksum(
  segment: Uint8Array,
  pseudo: PseudoHeader | undefined,
  protocol: number,
  length = segment.length,
): number {
  if (pseudo === undefined) return 0;
  return internetChecksum(segment, 0, segment.length, pseudoHeaderSum(pseudo, protocol, length));
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
