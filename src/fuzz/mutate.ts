import type { FuzzSeed } from "./corpus.ts";
import type { Prng } from "./prng.ts";

/** The mutation kinds, by name (a campaign reports how often each ran). */
export const MUTATIONS = [
  "bit-flip",
  "byte-overwrite",
  "truncate",
  "length-field",
  "huge-caplen",
  "time-warp",
  "insert-delete",
  "splice",
  "word-overwrite",
] as const;
export type MutationName = (typeof MUTATIONS)[number];

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x20, 0x10];
const INTERESTING_32 = [
  0, 1, 2, 3, 4, 8, 12, 16, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 65535, 65536, 262_144, 262_145, 0x7fffffff,
  0x80000000, 0xfffffffc, 0xffffffff,
];

function setU32(bytes: Uint8Array, at: number, value: number, little: boolean): void {
  if (at < 0 || at + 4 > bytes.length) return;
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(at, value >>> 0, little);
}

function getU32(bytes: Uint8Array, at: number, little: boolean): number {
  if (at < 0 || at + 4 > bytes.length) return 0;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, little);
}

/** Position biased to the start (headers) a quarter of the time. */
function position(rng: Prng, length: number): number {
  if (length === 0) return 0;
  return rng.chance(0.25) ? rng.below(Math.min(length, 64)) : rng.below(length);
}

/**
 * One mutated input from `seed`: 1-4 mutations drawn from MUTATIONS. `other` supplies bytes for
 * splices. Never allocates more than a few times the seed's size.
 */
export function mutate(seed: FuzzSeed, other: FuzzSeed, rng: Prng, applied?: MutationName[]): Uint8Array {
  let bytes = seed.bytes.slice();
  const little = seed.littleEndian;
  const rounds = 1 + rng.below(4);
  for (let r = 0; r < rounds; r++) {
    const kind = rng.pick(MUTATIONS);
    applied?.push(kind);
    switch (kind) {
      case "bit-flip": {
        const flips = 1 + rng.below(8);
        for (let i = 0; i < flips && bytes.length > 0; i++) bytes[position(rng, bytes.length)]! ^= 1 << rng.below(8);
        break;
      }
      case "byte-overwrite": {
        const count = 1 + rng.below(4);
        for (let i = 0; i < count && bytes.length > 0; i++) {
          bytes[position(rng, bytes.length)] = rng.chance(0.5) ? rng.pick(INTERESTING_8) : rng.below(256);
        }
        break;
      }
      case "truncate":
        if (bytes.length > 0) bytes = bytes.slice(0, rng.below(bytes.length));
        break;
      case "length-field": {
        if (seed.lengthFields.length === 0) break;
        const at = rng.pick(seed.lengthFields);
        const old = getU32(bytes, at, little);
        const choices = [old + 1, old - 1, old + 4, old - 4, old * 2, old >>> 1, rng.u32()];
        setU32(bytes, at, rng.chance(0.5) ? rng.pick(INTERESTING_32) : rng.pick(choices), little);
        break;
      }
      case "huge-caplen": {
        if (seed.lengthFields.length === 0) break;
        const at = rng.pick(seed.lengthFields);
        setU32(bytes, at, rng.pick([0xffffffff, 0x7fffffff, 262_145, 262_144, 1 << 20, 1 << 24, 65_536]), little);
        break;
      }
      case "time-warp": {
        // Timestamps far apart: a sparse capture spanning days to decades, or going backwards.
        if (seed.timeFields.length === 0) break;
        const count = 1 + rng.below(3);
        for (let i = 0; i < count; i++) {
          const at = rng.pick(seed.timeFields);
          const old = getU32(bytes, at, little);
          const jumps = [86_400, 30 * 86_400, 365 * 86_400, 1 << 30, -86_400, -(1 << 30)];
          setU32(bytes, at, rng.chance(0.3) ? rng.u32() : old + rng.pick(jumps), little);
        }
        break;
      }
      case "insert-delete": {
        const at = position(rng, bytes.length);
        if (rng.chance(0.5)) {
          const n = 1 + rng.below(16);
          const out = new Uint8Array(bytes.length + n);
          out.set(bytes.subarray(0, at));
          for (let i = 0; i < n; i++) out[at + i] = rng.below(256);
          out.set(bytes.subarray(at), at + n);
          bytes = out;
        } else {
          const n = 1 + rng.below(Math.min(64, Math.max(1, bytes.length - at)));
          const out = new Uint8Array(Math.max(0, bytes.length - n));
          out.set(bytes.subarray(0, at));
          out.set(bytes.subarray(at + n), at);
          bytes = out;
        }
        break;
      }
      case "splice": {
        // A run of units repeated, or another seed's tail appended at a unit boundary.
        const units = seed.units;
        if (units.length < 2) break;
        const a = rng.below(units.length - 1);
        const from = units[a]!;
        const to = units[Math.min(units.length - 1, a + 1 + rng.below(4))]!;
        if (to > bytes.length || to <= from) break;
        const piece =
          rng.chance(0.5) || other.units.length < 2
            ? bytes.slice(from, to)
            : other.bytes.slice(other.units[1]!, Math.min(other.bytes.length, other.units[1]! + 4096));
        if (bytes.length + piece.length > 4 * seed.bytes.length + 8192) break;
        const at = rng.pick(units.filter((u) => u <= bytes.length));
        const out = new Uint8Array(bytes.length + piece.length);
        out.set(bytes.subarray(0, at));
        out.set(piece, at);
        out.set(bytes.subarray(at), at + piece.length);
        bytes = out;
        break;
      }
      case "word-overwrite": {
        const at = position(rng, Math.max(0, bytes.length - 3));
        if (rng.chance(0.5)) setU32(bytes, at, rng.pick(INTERESTING_32), rng.chance(0.5));
        else if (at + 2 <= bytes.length) {
          bytes[at] = rng.below(256);
          bytes[at + 1] = rng.pick(INTERESTING_8);
        }
        break;
      }
    }
  }
  return bytes;
}
