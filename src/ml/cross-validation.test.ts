import assert from "node:assert/strict";
import { test } from "node:test";
import { QoelabError } from "../errors.ts";
import { foldRows, groupKFold, kFold, stratifiedKFold } from "./cross-validation.ts";

const code = (c: string) => (e: unknown) => e instanceof QoelabError && e.code === c;

test("stratified folds keep each class in proportion and sizes within one", () => {
  const y = [...new Array(60).fill(0), ...new Array(30).fill(1), ...new Array(10).fill(2)];
  const folds = stratifiedKFold(y, 5, 3);
  for (let f = 0; f < 5; f++) {
    const { test: rows } = foldRows(folds, f);
    const count = (c: number) => rows.filter((r) => y[r] === c).length;
    assert.deepEqual([count(0), count(1), count(2)], [12, 6, 2]);
  }
  assert.deepEqual(folds, stratifiedKFold(y, 5, 3), "seeded");
  assert.notDeepEqual(folds, stratifiedKFold(y, 5, 4));
  // Every row is tested exactly once.
  const tested = new Array(y.length).fill(0);
  for (let f = 0; f < 5; f++) for (const r of foldRows(folds, f).test) tested[r]++;
  assert.ok(tested.every((t) => t === 1));
});

test("stratified k-fold refuses k above the rarest class's rows", () => {
  assert.throws(
    () => stratifiedKFold([0, 0, 0, 0, 1, 1], 3, 0, ["no", "yes"]),
    (e: unknown) => {
      return code("ML_TOO_FEW_ROWS")(e) && /class "yes" has 2 rows/.test((e as Error).message);
    },
  );
  assert.throws(() => stratifiedKFold([0, 1], 1, 0), code("ML_BAD_FOLDS"));
});

test("grouped folds never split a group; too few groups is refused", () => {
  const groups = Array.from({ length: 90 }, (_, i) => `g${i % 9}`);
  const folds = groupKFold(groups, 3, 1);
  for (let f = 0; f < 3; f++) {
    const { train, test } = foldRows(folds, f);
    const trainGroups = new Set(train.map((r) => groups[r]));
    const testGroups = new Set(test.map((r) => groups[r]));
    assert.ok(
      [...testGroups].every((g) => !trainGroups.has(g)),
      "disjoint",
    );
    assert.equal(test.length, 30, "balanced by size");
  }
  assert.throws(() => groupKFold(["a", "a", "b"], 3, 0, "bw_limitation_mbps"), code("ML_TOO_FEW_GROUPS"));
});

test("plain k-fold covers every row once", () => {
  const folds = kFold(11, 3, 0);
  const sizes = [0, 1, 2].map((f) => foldRows(folds, f).test.length);
  assert.deepEqual(sizes, [4, 4, 3]);
  assert.throws(() => kFold(2, 3, 0), code("ML_TOO_FEW_ROWS"));
});
