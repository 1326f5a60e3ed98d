/**
 * The Internet checksum (RFC 1071) and the pseudo-headers of TCP/UDP/ICMPv6 over IPv4 (RFC 768,
 * RFC 9293) and IPv6 (RFC 8200 §8.1). Sums are kept unfolded in a double (exact far beyond any
 * packet size) so partial sums over several ranges add up, and nothing is allocated: callers
 * pass the buffer and offsets. `updateChecksum` is the incremental form of RFC 1624.
 */

/** One's-complement sum of the 16-bit big-endian words in `bytes[start, end)` added to `sum`, unfolded.
 * An odd final byte is padded with zero on the right. */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  return sum;
}

/** Folds an unfolded sum to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/** The checksum field value for `bytes[start, end)` plus an optional unfolded `initial` sum. */
export function internetChecksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  return ~foldSum(onesComplementSum(bytes, start, end, initial)) & 0xffff;
}

/** True when the range, checksum field included, sums to 0xffff (RFC 1071 verification). */
export function checksumVerifies(bytes: Uint8Array, start: number, end: number, initial = 0): boolean {
  const folded = foldSum(onesComplementSum(bytes, start, end, initial));
  return folded === 0xffff;
}

/**
 * Unfolded pseudo-header sum over addresses read in place: `addressLength` bytes at `srcOffset`
 * and at `dstOffset` (4 for IPv4, 16 for IPv6), then the protocol and length.
 */
export function pseudoHeaderSumAt(
  bytes: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  addressLength: 4 | 16,
  protocol: number,
  length: number,
): number {
  const sum = onesComplementSum(bytes, srcOffset, srcOffset + addressLength);
  return protocolAndLengthSum(onesComplementSum(bytes, dstOffset, dstOffset + addressLength, sum), protocol, length);
}

/**
 * The rest of both pseudo-headers: IPv4's zero, protocol and 16-bit length (RFC 768) and IPv6's
 * 32-bit length and next header (RFC 8200 §8.1) add up to the same sum.
 */
function protocolAndLengthSum(sum: number, protocol: number, length: number): number {
  return sum + protocol + (length & 0xffff) + Math.floor(length / 65536);
}

/** Source and destination address bytes (4 or 16 each) of the enclosing IP header. */
export interface PseudoHeader {
  src: Uint8Array;
  dst: Uint8Array;
}

/** Unfolded pseudo-header sum for an IPv4 (4-byte) or IPv6 (16-byte) address pair. */
export function pseudoHeaderSum(pseudo: PseudoHeader, protocol: number, length: number): number {
  const sum = onesComplementSum(pseudo.dst, 0, pseudo.dst.length, onesComplementSum(pseudo.src, 0, pseudo.src.length));
  return protocolAndLengthSum(sum, protocol, length);
}

/**
 * RFC 1624 eqn. 3: the new checksum after one 16-bit word of the covered data changed from
 * `oldWord` to `newWord` (e.g. TTL/protocol word after a TTL decrement).
 */
export function updateChecksum(checksum: number, oldWord: number, newWord: number): number {
  const sum = (~checksum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}
