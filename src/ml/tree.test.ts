import assert from "node:assert/strict";
import { test } from "node:test";
import { binMatrix, binOf, binThresholds } from "./binning.ts";
import { Random } from "./random.ts";
import { leafIndex } from "./tree.ts";
import { growTree } from "./tree-grow.ts";

const rowsOf = (n: number) => Uint32Array.from({ length: n }, (_, i) => i);

test("bins: midpoints between distinct values; value <= threshold means the lower bin; NaN last", () => {
  const t = binThresholds(Float64Array.of(3, 1, 2, 2, 5));
  assert.deepEqual([...t], [1.5, 2.5, 4]);
  assert.equal(binOf(1, t), 0);
  assert.equal(binOf(1.5, t), 0);
  assert.equal(binOf(2, t), 1);
  assert.equal(binOf(5, t), 3);
  assert.equal(binOf(Number.NaN, t), 4);
  const many = binThresholds(Float64Array.from({ length: 1000 }, (_, i) => i));
  assert.equal(many.length, 254, "255 bins when there are more distinct values");
  assert.ok(many.every((v, i) => i === 0 || v > many[i - 1]!));
});

test("gini tree on four points splits once at 2.5 into pure leaves", () => {
  const x = Float64Array.of(1, 2, 3, 4);
  const y = Float64Array.of(0, 0, 1, 1);
  const { tree } = growTree(binMatrix(x, 4, 1), { y }, { criterion: "gini", classes: 2 }, rowsOf(4), null);
  assert.deepEqual([...tree.feature], [0, -1, -1]);
  assert.equal(tree.threshold[0], 2.5);
  assert.deepEqual([...tree.value], [0.5, 0.5, 1, 0, 0, 1]);
  // Gini decrease, weighted: 4·0.5 − 2·0 − 2·0 = 2 (Σc²/w form: (4/2 + 4/2) − (4+4)/4).
  assert.equal(tree.improvement[0], 2);
});

test("gini picks the better of two features; hand-computed impurity decrease", () => {
  // Rows (f0, f1): feature 0 separates the classes exactly, feature 1 misplaces row 3.
  const x = Float64Array.of(0, 0, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1);
  const y = Float64Array.of(0, 0, 1, 1, 1, 1);
  const data = binMatrix(x, 6, 2);
  const { tree } = growTree(data, { y }, { criterion: "gini", classes: 2, maxDepth: 1 }, rowsOf(6), null);
  assert.equal(tree.feature[0], 0);
  // Parent Σc²/w = (4 + 16)/6; children pure: 4/2 + 16/4 = 6 → decrease 6 − 20/6 = 8/3.
  assert.ok(Math.abs(tree.improvement[0]! - 8 / 3) < 1e-12);
});

test("entropy and mse criteria; regression leaves hold the means", () => {
  const x = Float64Array.of(1, 2, 3, 4, 5, 6);
  const yc = Float64Array.of(0, 0, 0, 1, 1, 1);
  const e = growTree(binMatrix(x, 6, 1), { y: yc }, { criterion: "entropy", classes: 2 }, rowsOf(6), null).tree;
  assert.equal(e.threshold[0], 3.5);
  // Entropy decrease (nats, weighted): 6·ln 2.
  assert.ok(Math.abs(e.improvement[0]! - 6 * Math.log(2)) < 1e-12);
  const yr = Float64Array.of(1, 1, 1, 5, 5, 7);
  const r = growTree(binMatrix(x, 6, 1), { y: yr }, { criterion: "mse" }, rowsOf(6), null).tree;
  assert.equal(r.threshold[0], 3.5);
  const leafOf = (v: number) => r.value[leafIndex(r, Float64Array.of(v), 0)];
  assert.equal(leafOf(2), 1);
  assert.equal(leafOf(4), 5);
  assert.equal(leafOf(6), 7);
  assert.equal(leafOf(5.4), 5);
});

test("missing values get their own side; unseen missing follows the larger child", () => {
  const x = Float64Array.of(1, 2, Number.NaN, Number.NaN, 3, 4);
  const y = Float64Array.of(0, 0, 1, 1, 0, 0);
  const { tree } = growTree(binMatrix(x, 6, 1), { y }, { criterion: "gini", classes: 2 }, rowsOf(6), null);
  const predict = (v: number) => tree.value[leafIndex(tree, Float64Array.of(v), 0) * 2 + 1];
  assert.equal(predict(Number.NaN), 1);
  assert.equal(predict(2.5), 0);
  const x2 = Float64Array.of(1, 2, 3, 10, 11);
  const y2 = Float64Array.of(0, 0, 0, 1, 1);
  const t2 = growTree(binMatrix(x2, 5, 1), { y: y2 }, { criterion: "gini", classes: 2 }, rowsOf(5), null).tree;
  assert.equal(t2.value[leafIndex(t2, Float64Array.of(Number.NaN), 0) * 2], 1, "missing → the 3-row side");
});

test("boosting tree: leaf value −G/(H+λ)·shrinkage; min samples per leaf holds", () => {
  const n = 40;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const gradient = Float64Array.from({ length: n }, (_, i) => (i < 20 ? -1 : 1));
  const hessian = new Float64Array(n).fill(0.5);
  const { tree } = growTree(
    binMatrix(x, n, 1),
    { gradient, hessian },
    { criterion: "gradient", maxLeafNodes: 31, minSamplesLeaf: 20, shrinkage: 0.1 },
    rowsOf(n),
    null,
  );
  assert.deepEqual([...tree.feature], [0, -1, -1], "20 per leaf allows exactly one split");
  assert.equal(tree.threshold[0], 19.5);
  assert.ok(Math.abs(tree.value[1]! - 0.2) < 1e-12); // −(−20)/(10)·0.1
  assert.ok(Math.abs(tree.value[2]! + 0.2) < 1e-12);
});

test("feature subsampling is seeded: same seed, same tree", () => {
  const rng = new Random(1);
  const n = 200;
  const p = 6;
  const x = Float64Array.from({ length: n * p }, () => rng.next());
  const y = Float64Array.from({ length: n }, (_, i) => (x[i * p]! + x[i * p + 3]! > 1 ? 1 : 0));
  const grow = (seed: number) =>
    growTree(binMatrix(x, n, p), { y }, { criterion: "gini", classes: 2, maxFeatures: 2 }, rowsOf(n), new Random(seed))
      .tree;
  assert.deepEqual(grow(7), grow(7));
  assert.notDeepEqual([...grow(7).feature], [...grow(8).feature]);
});
