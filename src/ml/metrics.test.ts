import assert from "node:assert/strict";
import { test } from "node:test";
import { classificationMetrics, regressionMetrics, rocAuc } from "./metrics.ts";

test("classification metrics match hand-computed values", () => {
  // true:      a a a b b c
  // predicted: a a b b c c
  const m = classificationMetrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2], ["a", "b", "c"]);
  assert.deepEqual(m.confusion, [
    [2, 1, 0],
    [0, 1, 1],
    [0, 0, 1],
  ]);
  assert.equal(m.accuracy, 4 / 6);
  // Recalls 2/3, 1/2, 1 → balanced (2/3 + 1/2 + 1)/3.
  assert.ok(Math.abs(m.balancedAccuracy - (2 / 3 + 0.5 + 1) / 3) < 1e-12);
  const [a, b, c] = m.perClass;
  assert.deepEqual([a!.precision, a!.recall, a!.support], [1, 2 / 3, 3]);
  assert.ok(Math.abs(a!.f1 - 0.8) < 1e-12);
  assert.deepEqual([b!.precision, b!.recall], [0.5, 0.5]);
  assert.deepEqual([c!.precision, c!.recall], [0.5, 1]);
  assert.ok(Math.abs(c!.f1 - 2 / 3) < 1e-12);
  assert.equal(m.rocAuc, null, "no AUC for three classes");
});

test("a class never predicted has precision 0, not NaN", () => {
  const m = classificationMetrics([0, 1, 1], [1, 1, 1], ["no", "yes"], [0.9, 0.8, 0.7]);
  assert.equal(m.perClass[0]!.precision, 0);
  assert.equal(m.perClass[0]!.f1, 0);
  assert.ok(!JSON.stringify(m).includes("NaN") && !JSON.stringify(m).includes("null,"));
});

test("ROC AUC: Mann–Whitney with ties counted one half", () => {
  assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 0.75);
  assert.equal(rocAuc([0, 1], [0.5, 0.5]), 0.5);
  assert.equal(rocAuc([1, 1], [0.2, 0.3]), null);
  assert.equal(rocAuc([0, 0, 1], [0.1, 0.2, 0.9]), 1);
});

test("regression metrics: MAE, RMSE, R²; constant truth gives R² null", () => {
  const m = regressionMetrics([1, 2, 3, 4], [1, 2, 3, 6]);
  assert.equal(m.mae, 0.5);
  assert.equal(m.rmse, 1);
  // SS_res = 4, SS_tot = 5 → R² = 0.2.
  assert.ok(Math.abs(m.r2! - 0.2) < 1e-12);
  assert.equal(regressionMetrics([2, 2], [1, 3]).r2, null);
});
