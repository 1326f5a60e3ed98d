import type { ChecksumStatus } from "./anomaly.ts";
import { foldSum, type PseudoHeader, pseudoHeaderSum } from "./checksum.ts";

/**
 * What a transport decoder needs from the enclosing IP header: the address pair for the
 * pseudo-header checksum and how many bytes the IP header assigns to the transport segment.
 */
export interface TransportContext {
  pseudo: PseudoHeader;
  /** IP payload length after extension headers (what the IP header claims, not what was captured). */
  length: number;
  /** True when this is an IP fragment: the checksum cannot be verified on one fragment. */
  fragment?: boolean;
  /** True inside an ICMP error quote (cut short on purpose: lengths may exceed what is there). */
  quoted?: boolean;
}

/**
 * Verifies a checksum that covers `bytes[offset, offset + length)` plus a pseudo-header, like
 * tshark: "unverified" when not all covered bytes were captured (snaplen) or the packet is a fragment.
 * Returns the status and, when bad, the expected value and whether it looks like a Linux TX-offload
 * partial checksum (the field holds the folded pseudo-header sum).
 */
export function verifyTransportChecksum(
  bytes: Uint8Array,
  offset: number,
  end: number,
  length: number,
  checksumOffset: number,
  protocol: number,
  context: TransportContext | undefined,
): { status: ChecksumStatus; expected: number; partial: boolean } {
  if (context === undefined || context.fragment || end - offset < length) {
    return { status: "unverified", expected: 0, partial: false };
  }
  const pseudo = pseudoHeaderSum(context.pseudo, protocol, length);
  let sum = pseudo;
  for (let i = offset; i < offset + length - 1; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (length & 1) sum += bytes[offset + length - 1]! << 8;
  if (foldSum(sum) === 0xffff) return { status: "good", expected: 0, partial: false };
  const field = ((bytes[checksumOffset] ?? 0) << 8) | (bytes[checksumOffset + 1] ?? 0);
  const expected = ~foldSum(sum - field) & 0xffff;
  return { status: "bad", expected, partial: field === foldSum(pseudo) };
}
