/**
 * Seeded pseudo-random numbers for traffic and impairment: the shared xoshiro128** core
 * (`src/common/xoshiro128.ts`) with 53-bit floats and the distributions netem uses.
 * Every draw is allocation-free; two generators with one seed give the same sequence on any machine.
 */
import { Xoshiro128 } from "../common/index.ts";

const TWO_POW_32 = 4294967296;

export class Random extends Xoshiro128 {
  private spareNormal = 0;
  private hasSpare = false;
  readonly seed: number;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed ${seed}: expected a safe integer`);
    // Fold the high bits in too, so seeds that differ only above bit 32 differ.
    super((seed | 0) ^ Math.floor(seed / TWO_POW_32));
    this.seed = seed;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  uniform(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Normal (Gaussian) by the Box–Muller transform; the second value is kept for the next call. */
  normal(mean = 0, sd = 1): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return mean + sd * this.spareNormal;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    const angle = 2 * Math.PI * v;
    this.spareNormal = radius * Math.sin(angle);
    this.hasSpare = true;
    return mean + sd * radius * Math.cos(angle);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(1 - this.next());
  }

  /** Pareto with scale xm (the minimum) and shape alpha. */
  pareto(xm: number, alpha: number): number {
    return xm / (1 - this.next()) ** (1 / alpha);
  }

  /** Copy of the full generator state, to replay a sequence. */
  snapshot(): Uint32Array {
    return Uint32Array.of(this.s0, this.s1, this.s2, this.s3, this.hasSpare ? 1 : 0);
  }
}

/** Delay distributions as netem names them; each returns mean + sigma·(a zero-mean, unit-variance draw). */
export type DelayDistribution = "uniform" | "normal" | "pareto" | "paretonormal";

// Pareto with shape 3 (netem's table uses a heavy tail of this kind): mean 1.5·xm, sd xm·√3/2.
const PARETO_ALPHA = 3;
const PARETO_MEAN = 1.5;
const PARETO_SD = Math.sqrt(3) / 2;
// netem's paretonormal mixes a quarter normal and three quarters pareto.
const PN_SCALE = 1 / Math.sqrt(0.25 * 0.25 + 0.75 * 0.75);

/**
 * One draw of a delay: `mean` ± `sigma` shaped by `dist`. "uniform" spans mean ± sigma like netem
 * without a table; the others have standard deviation sigma. Negative results are clamped to 0.
 */
export function drawDelay(rng: Random, dist: DelayDistribution, mean: number, sigma: number): number {
  if (sigma === 0) return mean;
  let z: number;
  switch (dist) {
    case "uniform":
      return Math.max(0, mean + sigma * (2 * rng.next() - 1));
    case "normal":
      z = rng.normal();
      break;
    case "pareto":
      z = (rng.pareto(1, PARETO_ALPHA) - PARETO_MEAN) / PARETO_SD;
      break;
    case "paretonormal":
      z = (0.25 * rng.normal() + 0.75 * ((rng.pareto(1, PARETO_ALPHA) - PARETO_MEAN) / PARETO_SD)) * PN_SCALE;
      break;
  }
  return Math.max(0, mean + sigma * z);
}

/** A Fisher–Yates shuffle of a copy of `items`, reproducible from `seed`. */
export function seededShuffle<T>(items: readonly T[], seed: number): T[] {
  const out = items.slice();
  const random = new Random(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random.next() * (i + 1));
    const swap = out[i]!;
    out[i] = out[j]!;
    out[j] = swap;
  }
  return out;
}
