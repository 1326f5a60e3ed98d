/** Seeded presentation orders: every rater gets their own, reproducible from the rater id. */
import { Random, seededShuffle } from "../../generator/index.ts";

export { seededShuffle };

/** Floats in [0, 1) from a seeded generator (simulated raters, synthetic experiments). */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.next();
}

/** FNV-1a 32-bit hash of a string (a stable seed from a rater id). */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The order of `items` for one rater of one test: seeded by the test seed and the rater id. */
export function raterOrder<T>(items: readonly T[], testSeed: number, raterKey: string): T[] {
  return seededShuffle(items, hashSeed(`${testSeed}:${raterKey}`));
}
