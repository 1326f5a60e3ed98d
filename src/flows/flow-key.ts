import type { Dissection } from "../packet/dissect.ts";

/**
 * Numeric flow keys. A key is 12 unsigned 32-bit words:
 *   [proto, ipVersion, portA, portB, addrA0..3, addrB0..3]
 * (IPv4 addresses use word 0 only). The hash is symmetric — swapping the two endpoints gives the
 * same value — so both directions of a connection land in the same table slot chain.
 */
export const KEY_WORDS = 12;

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Writes the packet's key (sender as side A) into `out` (length ≥ KEY_WORDS). */
export function loadKey(d: Dissection, out: Uint32Array): void {
  out[0] = d.ipProto;
  out[1] = d.ipVersion;
  out[2] = d.srcPort;
  out[3] = d.dstPort;
  if (d.ipVersion === 4) {
    out[4] = d.src4;
    out[5] = 0;
    out[6] = 0;
    out[7] = 0;
    out[8] = d.dst4;
    out[9] = 0;
    out[10] = 0;
    out[11] = 0;
  } else {
    const s = d.src6;
    const t = d.dst6;
    out[4] = s[0]!;
    out[5] = s[1]!;
    out[6] = s[2]!;
    out[7] = s[3]!;
    out[8] = t[0]!;
    out[9] = t[1]!;
    out[10] = t[2]!;
    out[11] = t[3]!;
  }
}

/** Symmetric 32-bit hash of a key in `key` (as written by `loadKey`). */
export function keyHash(key: Uint32Array): number {
  return hashWords(
    key[0]!,
    key[1]!,
    key[2]!,
    key[3]!,
    key[4]!,
    key[5]!,
    key[6]!,
    key[7]!,
    key[8]!,
    key[9]!,
    key[10]!,
    key[11]!,
  );
}

/** `keyHash` of an IPv4 key given by fields (for a pre-dissection shard check). */
export function keyHashV4(proto: number, portA: number, portB: number, addrA: number, addrB: number): number {
  return hashWords(proto, 4, portA, portB, addrA, 0, 0, 0, addrB, 0, 0, 0);
}

function hashWords(
  proto: number,
  version: number,
  portA: number,
  portB: number,
  a0: number,
  a1: number,
  a2: number,
  a3: number,
  b0: number,
  b1: number,
  b2: number,
  b3: number,
): number {
  let a = mix(mix(mix(mix(mix(0x2545f491, portA), a0), a1), a2), a3);
  let b = mix(mix(mix(mix(mix(0x2545f491, portB), b0), b1), b2), b3);
  a = finalMix(a);
  b = finalMix(b);
  // Sum and product of the two endpoint hashes: symmetric, and unlike xor not zero when A == B.
  return finalMix(mix(mix(proto | (version << 8), (a + b) | 0), Math.imul(a | 1, b | 1)));
}

/**
 * Flow hash straight from the bytes of an Ethernet / IPv4 (no options, not a later fragment) /
 * TCP or UDP frame with its ports captured, or -1 for anything else. Equals `keyHash` of the key
 * the dissector would give, so worker shards can skip other shards' packets without dissecting.
 */
export function quickHashV4(buffer: Uint8Array, offset: number, caplen: number, linkType: number): number {
  if (linkType !== 1 || caplen < 38) return -1;
  const p = offset + 14;
  if (buffer[offset + 12] !== 0x08 || buffer[offset + 13] !== 0x00 || buffer[p] !== 0x45) return -1;
  if (((buffer[p + 6]! & 0x1f) | buffer[p + 7]!) !== 0) return -1;
  const proto = buffer[p + 9]!;
  if (proto !== 6 && proto !== 17) return -1;
  const src = ((buffer[p + 12]! << 24) | (buffer[p + 13]! << 16) | (buffer[p + 14]! << 8) | buffer[p + 15]!) >>> 0;
  const dst = ((buffer[p + 16]! << 24) | (buffer[p + 17]! << 16) | (buffer[p + 18]! << 8) | buffer[p + 19]!) >>> 0;
  const sport = (buffer[p + 20]! << 8) | buffer[p + 21]!;
  const dport = (buffer[p + 22]! << 8) | buffer[p + 23]!;
  return keyHashV4(proto, sport, dport, src, dst);
}

/** Text of one endpoint address of a stored key (side 0 = A, 1 = B). */
export function keyAddressText(keys: Uint32Array, base: number, side: 0 | 1): string {
  const version = keys[base + 1]!;
  const at = base + 4 + side * 4;
  if (version === 4) {
    const v = keys[at]!;
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = keys[at + i]!;
    groups.push(w >>> 16, w & 0xffff);
  }
  return formatIpv6Groups(groups);
}

/** RFC 5952 canonical text: lower case, longest run (≥ 2) of zero groups compressed. */
export function formatIpv6Groups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength && j - i >= 2) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  const head = hex.slice(0, bestStart).join(":");
  const tail = hex.slice(bestStart + bestLength).join(":");
  return `${head}::${tail}`;
}
