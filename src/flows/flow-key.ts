import { ipv4Text, ipv6WordsText } from "../common/index.ts";
import type { Dissection } from "../packet/index.ts";

/**
 * Numeric flow keys. A key is 12 unsigned 32-bit words:
 *   [proto, ipVersion, portA, portB, addrA0..3, addrB0..3]
 * (IPv4 addresses use word 0 only). The hash is symmetric — swapping the two endpoints gives the
 * same value — so both directions of a connection land in the same table slot chain.
 */
export const KEY_WORDS = 12;

/** murmur3's 32-bit finaliser: every input bit affects every output bit. */
function finalMix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** Hash of one endpoint (address folded to 32 bits, port). */
function endpointHash(address: number, port: number): number {
  return finalMix(Math.imul(address ^ Math.imul(port + 1, 0x9e3779b1), 0xcc9e2d51));
}

/** An IPv6 address's four words folded into one (order-sensitive). */
function foldAddress(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x2545f491, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ w1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ w2, 0x85ebca6b);
  return h ^ (h >>> 16) ^ w3;
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

/**
 * Symmetric 32-bit hash of a key in `key` (as written by `loadKey`), a signed int32 (a small
 * integer to V8, never a boxed double). It picks table slots and worker shards only (no result
 * depends on its value), so it is built for speed: one mix per endpoint, combined by sum and
 * product (symmetric, and unlike xor not zero when A == B).
 */
export function keyHash(key: Uint32Array): number {
  let a = key[4]!;
  let b = key[8]!;
  if (key[1] === 6) {
    a = foldAddress(a, key[5]!, key[6]!, key[7]!);
    b = foldAddress(b, key[9]!, key[10]!, key[11]!);
  }
  const ha = endpointHash(a, key[2]!);
  const hb = endpointHash(b, key[3]!);
  return finalMix(((ha + hb) | 0) ^ Math.imul(ha | 1, hb | 1) ^ (key[0]! | (key[1]! << 8)));
}

/** Text of one endpoint address of a stored key (side 0 = A, 1 = B). */
export function keyAddressText(keys: Uint32Array, base: number, side: 0 | 1): string {
  const at = base + 4 + side * 4;
  return keys[base + 1] === 4 ? ipv4Text(keys[at]!) : ipv6WordsText(keys.subarray(at, at + 4));
}
