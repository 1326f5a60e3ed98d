import type { DelayDistribution, Random } from "../../generator/index.ts";

/*
 * Delay, jitter and correlated chances with netem's meaning. netem correlates a draw with the previous
 * one by mixing uniforms, u' = (1 − ρ)·u + ρ·u_prev (its get_crandom), and turns u' into a delay through
 * the distribution's inverse CDF (its tables). We do the same with closed forms, so ρ = 0 gives exact
 * uniform/normal/pareto shapes and ρ > 0 gives netem's (imperfect, but expected) behaviour.
 */

/** netem's correlated uniform in [0, 1). */
export class CorrelatedUniform {
  private last = 0;
  constructor(
    private readonly rng: Random,
    private readonly rho: number,
  ) {}
  next(): number {
    const u = this.rng.next();
    if (this.rho === 0) return u;
    this.last = (1 - this.rho) * u + this.rho * this.last;
    return this.last;
  }
}

/** true with probability p, correlated as netem does for reorder/duplicate. */
export class CorrelatedChance {
  private readonly u: CorrelatedUniform;
  constructor(
    rng: Random,
    private readonly p: number,
    rho = 0,
  ) {
    this.u = new CorrelatedUniform(rng, rho);
  }
  next(): boolean {
    if (this.p <= 0) return false;
    if (this.p >= 1) return true;
    return this.u.next() < this.p;
  }
}

// Inverse of the standard normal CDF: P. J. Acklam's rational approximation (relative error < 1.2e-9).
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

export function inverseNormal(p: number): number {
  const [a0, a1, a2, a3, a4, a5] = A as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = B as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = C as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = D as [number, number, number, number];
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
    (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1)
  );
}

// Same shapes as generator/random.ts drawDelay: Pareto of shape 3 scaled to mean 0, sd 1.
const PARETO_ALPHA = 3;
const PARETO_MEAN = 1.5;
const PARETO_SD = Math.sqrt(3) / 2;
const PN_SCALE = 1 / Math.sqrt(0.25 * 0.25 + 0.75 * 0.75);

function paretoZ(u: number): number {
  return (1 / (1 - u) ** (1 / PARETO_ALPHA) - PARETO_MEAN) / PARETO_SD;
}

/** Per-packet delay in µs: mean ± jitter shaped by the distribution, never below 0. */
export class DelayModel {
  private readonly u1: CorrelatedUniform;
  private readonly u2: CorrelatedUniform;
  readonly meanUs: number;
  readonly jitterUs: number;
  constructor(
    rng: Random,
    delaySeconds: number,
    jitterSeconds: number,
    private readonly dist: DelayDistribution = "uniform",
    correlation = 0,
  ) {
    this.meanUs = delaySeconds * 1e6;
    this.jitterUs = jitterSeconds * 1e6;
    this.u1 = new CorrelatedUniform(rng, correlation);
    this.u2 = new CorrelatedUniform(rng, correlation);
  }
  drawUs(): number {
    if (this.jitterUs === 0) return this.meanUs;
    let z: number;
    switch (this.dist) {
      case "uniform":
        z = 2 * this.u1.next() - 1;
        break;
      case "normal":
        z = inverseNormal(this.u1.next());
        break;
      case "pareto":
        z = paretoZ(this.u1.next());
        break;
      case "paretonormal":
        z = (0.25 * inverseNormal(this.u1.next()) + 0.75 * paretoZ(this.u2.next())) * PN_SCALE;
        break;
    }
    const d = this.meanUs + this.jitterUs * z;
    return d > 0 ? d : 0;
  }
}
