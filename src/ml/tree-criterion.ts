import type { Criterion, TreeTarget } from "./tree.ts";

/*
 * A split criterion's arithmetic over node statistics. Stats are S numbers per node or histogram
 * bin: count, then weight and the class weights (gini/entropy, S = K + 2), weight, Σwy, Σwy²
 * (mse, S = 4), or hessian and gradient sums (gradient, S = 3).
 */

// Criteria as numbers, so the kernels stay monomorphic whichever ensemble called them first.
export const GINI = 0;
export const ENTROPY = 1;
export const MSE = 2;
export const GRADIENT = 3;

/** Relative tolerance of the purity and improvement tests. */
export const EPS = 1e-12;

export function criterionCode(criterion: Criterion): number {
  return criterion === "gini" ? GINI : criterion === "entropy" ? ENTROPY : criterion === "mse" ? MSE : GRADIENT;
}

/** Numbers of stats per node for `K` classes. */
export function statsWidth(code: number, K: number): number {
  return code === GINI || code === ENTROPY ? K + 2 : code === MSE ? 4 : 3;
}

/**
 * What one row adds to a stats vector: 1 to the count, `a[i]` at 1, `b[i]` at `slot[i]` and, when
 * `hasC`, `c[i]` at 3. Weight and class weight (slot 2 + class), weight, wy and wy² (mse), hessian
 * and gradient. Precomputed once per tree so one kernel serves every criterion.
 */
export interface RowSums {
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  hasC: boolean;
  slot: Int32Array;
}

// Slot 2 for every row (mse, gradient), kept across trees (boosting grows hundreds on one n).
let twos = new Int32Array(0);

export function rowSumsOf(code: number, target: TreeTarget, n: number): RowSums {
  const weight = target.weight ?? new Float64Array(n).fill(1);
  if (code === GRADIENT || code === MSE) {
    if (twos.length !== n) twos = new Int32Array(n).fill(2);
    if (code === GRADIENT) {
      const hessian = target.hessian ?? new Float64Array(n);
      return { a: hessian, b: target.gradient ?? new Float64Array(n), c: hessian, hasC: false, slot: twos };
    }
    const y = target.y ?? new Float64Array(n);
    const wy = new Float64Array(n);
    const wyy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      wy[i] = weight[i]! * y[i]!;
      wyy[i] = weight[i]! * y[i]! * y[i]!;
    }
    return { a: weight, b: wy, c: wyy, hasC: true, slot: twos };
  }
  // Class indices as integers: a double used as an index is slower to look up.
  const slot = Int32Array.from(target.y ?? new Float64Array(n), (c) => 2 + c);
  return { a: weight, b: weight, c: weight, hasC: false, slot };
}

/** The criterion's split proxy (higher is better) of the stats at `s[o…]`. */
export function proxyOf(code: number, s: Float64Array, o: number, K: number, l2: number): number {
  const w = s[o + 1]!;
  if (code === GINI) {
    if (w <= 0) return 0;
    let sum = 0;
    for (let k = 0; k < K; k++) sum += s[o + 2 + k]! * s[o + 2 + k]!;
    return sum / w;
  }
  if (code === ENTROPY) {
    let sum = 0;
    for (let k = 0; k < K; k++) {
      const c = s[o + 2 + k]!;
      if (c > 0) sum += c * Math.log(c / w);
    }
    return sum;
  }
  if (code === MSE) return w > 0 ? (s[o + 2]! * s[o + 2]!) / w : 0;
  return (s[o + 2]! * s[o + 2]!) / (w + l2);
}

/** Whether the stats at `s[o…]` leave nothing to split (pure class or constant target). */
export function isPure(code: number, s: Float64Array, o: number, K: number): boolean {
  if (code === GINI || code === ENTROPY) {
    let max = 0;
    for (let k = 0; k < K; k++) max = Math.max(max, s[o + 2 + k]!);
    return max >= s[o + 1]! * (1 - EPS);
  }
  if (code === MSE) {
    const w = s[o + 1]!;
    return w <= 0 || s[o + 3]! - (s[o + 2]! * s[o + 2]!) / w <= EPS * Math.max(1, s[o + 3]!);
  }
  return false;
}

/** Values per node: class probabilities, or one regression / boosting value. */
export function valueWidth(code: number, K: number): number {
  return code === GINI || code === ENTROPY ? K : 1;
}

/** Node values from node stats: class distribution, mean, or −G/(H + λ)·shrinkage. */
export function nodeValues(
  code: number,
  stats: Float64Array,
  nodes: number,
  K: number,
  l2: number,
  shrinkage: number,
): Float64Array {
  const S = statsWidth(code, K);
  const width = valueWidth(code, K);
  const value = new Float64Array(nodes * width);
  for (let node = 0; node < nodes; node++) {
    const o = node * S;
    const w = stats[o + 1]!;
    if (code === GINI || code === ENTROPY)
      for (let k = 0; k < K; k++) value[node * K + k] = w > 0 ? stats[o + 2 + k]! / w : 0;
    else if (code === MSE) value[node] = w > 0 ? stats[o + 2]! / w : 0;
    else value[node] = (-stats[o + 2]! / (w + l2)) * shrinkage;
  }
  return value;
}
