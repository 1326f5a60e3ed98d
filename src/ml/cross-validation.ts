import { QoelabError } from "../errors.ts";
import { Random } from "./random.ts";

/** Fold number (0..k−1) of every row. */
export type FoldAssignment = Int32Array;

function checkK(k: number): void {
  if (!Number.isInteger(k) || k < 2)
    throw new QoelabError("ML_BAD_FOLDS", `cross-validation needs a whole number of folds ≥ 2 (got ${k})`, { k });
}

/**
 * Stratified k-fold: each class's rows are shuffled (seeded) and dealt round-robin into the folds,
 * continuing where the previous class stopped, so every fold holds each class in proportion and
 * fold sizes differ by at most one.
 */
export function stratifiedKFold(y: ArrayLike<number>, k: number, seed: number, classNames?: readonly string[]) {
  checkK(k);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const list = byClass.get(y[i]!);
    if (list) list.push(i);
    else byClass.set(y[i]!, [i]);
  }
  const keys = [...byClass.keys()].sort((a, b) => a - b);
  for (const key of keys) {
    const count = byClass.get(key)!.length;
    if (count < k) {
      const name = classNames?.[key] ?? String(key);
      throw new QoelabError(
        "ML_TOO_FEW_ROWS",
        `class "${name}" has ${count} row${count === 1 ? "" : "s"}, fewer than the ${k} folds of stratified cross-validation (use --cv ${Math.max(2, count)} or collect more sessions)`,
        { class: name, rows: count, folds: k },
      );
    }
  }
  const rng = new Random(seed);
  const folds = new Int32Array(y.length);
  let next = 0;
  for (const key of keys) {
    const list = rng.shuffle(byClass.get(key)!.slice());
    for (const i of list) {
      folds[i] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** Plain shuffled k-fold (for regression). */
export function kFold(n: number, k: number, seed: number): FoldAssignment {
  checkK(k);
  if (n < k) throw new QoelabError("ML_TOO_FEW_ROWS", `${n} rows cannot fill ${k} folds`, { rows: n, folds: k });
  const order = new Random(seed).shuffle(Array.from({ length: n }, (_, i) => i));
  const folds = new Int32Array(n);
  order.forEach((row, position) => {
    folds[row] = position % k;
  });
  return folds;
}

/**
 * Grouped k-fold: all rows of a group land in the same fold, so near-identical sessions (same
 * training, channel or bandwidth) never sit on both sides. Groups are shuffled with the seed, then
 * placed largest first into the fold with the fewest rows so far.
 */
export function groupKFold(groups: readonly string[], k: number, seed: number, column = "group"): FoldAssignment {
  checkK(k);
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  if (members.size < k)
    throw new QoelabError(
      "ML_TOO_FEW_GROUPS",
      `grouped cross-validation by "${column}" has ${members.size} group${members.size === 1 ? "" : "s"}, fewer than the ${k} folds (use --cv ${Math.max(2, members.size)})`,
      { column, groups: members.size, folds: k },
    );
  const names = new Random(seed).shuffle([...members.keys()].sort());
  // Stable sort keeps the shuffled order among equal sizes.
  names.sort((a, b) => members.get(b)!.length - members.get(a)!.length);
  const sizes = new Array<number>(k).fill(0);
  const folds = new Int32Array(groups.length);
  for (const name of names) {
    let target = 0;
    for (let f = 1; f < k; f++) if (sizes[f]! < sizes[target]!) target = f;
    for (const i of members.get(name)!) folds[i] = target;
    sizes[target]! += members.get(name)!.length;
  }
  return folds;
}

/** Rows of the training and test side of fold `f`. */
export function foldRows(folds: FoldAssignment, f: number): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  for (let i = 0; i < folds.length; i++) (folds[i] === f ? test : train).push(i);
  return { train, test };
}
