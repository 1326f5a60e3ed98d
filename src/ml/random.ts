/**
 * Seeded pseudo-random numbers for every model and split in qoelab's ML: the shared xoshiro128**
 * core (`src/common/xoshiro128.ts`), one 32-bit word per [0, 1) draw, so the same seed gives the
 * same forests, folds and permutations on every machine (32-bit integer arithmetic only).
 */
import { Xoshiro128 } from "../common/index.ts";

export class Random extends Xoshiro128 {
  constructor(seed: number) {
    super(seed >>> 0);
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    return this.nextU32();
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = array[i];
      array[i] = array[j];
      array[j] = t;
    }
    return array;
  }

  /** A child generator whose stream depends on this one (for per-tree seeds). */
  fork(): Random {
    return new Random(this.nextUint32());
  }
}
