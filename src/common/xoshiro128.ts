/**
 * The one seeded generator: xoshiro128** (Blackman & Vigna) on 32-bit integer arithmetic, its state
 * seeded by four splitmix32 draws from a 32-bit seed word, so one seed gives the same sequence on
 * every machine. Draws allocate nothing. Domains derive their floats from `nextU32` (ml: one word
 * per [0, 1) draw; generator: 53 bits from two words) and keep their own distributions.
 */
export class Xoshiro128 {
  protected s0: number;
  protected s1: number;
  protected s2: number;
  protected s3: number;

  /** `seedWord` is taken as an unsigned 32-bit integer. */
  constructor(seedWord: number) {
    let s = seedWord >>> 0;
    const splitmix32 = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = splitmix32();
    this.s1 = splitmix32();
    this.s2 = splitmix32();
    this.s3 = splitmix32();
    // An all-zero state would stay zero (no splitmix32 seed gives one in practice).
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }
}
