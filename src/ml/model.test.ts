import assert from "node:assert/strict";
import { test } from "node:test";
import { prepareData } from "./design-matrix.ts";
import { classificationMetrics, regressionMetrics } from "./metrics.ts";
import { argmaxRows, fitModel, predictOutput } from "./model.ts";
import { Random } from "./random.ts";
import { syntheticSessions } from "./test-support/synthetic.ts";

const train = prepareData(syntheticSessions(300, 1), { label: "stalled" });
const heldOut = prepareData(syntheticSessions(200, 2), { label: "stalled" });

for (const kind of ["rf", "gbdt"] as const) {
  test(`${kind}: a known rule is learnt and holds on held-out data`, () => {
    const model = fitModel(kind, train.x, train.n, train.p, train.y, "classification", 2, {}, 1);
    const predicted = argmaxRows(predictOutput(model, heldOut.x, heldOut.n, heldOut.p), heldOut.n, 2);
    const m = classificationMetrics(heldOut.y, predicted, heldOut.classes);
    assert.ok(m.accuracy >= 0.95, `accuracy ${m.accuracy}`);
    const top = [...model.importance].indexOf(Math.max(...model.importance));
    assert.equal(train.features[top], "net_dl_tput_mean_bps");
  });

  test(`${kind}: same seed, same model; another seed changes a forest`, () => {
    const a = fitModel(kind, train.x, train.n, train.p, train.y, "classification", 2, { nEstimators: 10 }, 5);
    const b = fitModel(kind, train.x, train.n, train.p, train.y, "classification", 2, { nEstimators: 10 }, 5);
    assert.deepEqual(a.trees, b.trees);
    if (kind === "rf") {
      const c = fitModel(kind, train.x, train.n, train.p, train.y, "classification", 2, { nEstimators: 10 }, 6);
      assert.notDeepEqual(a.trees, c.trees);
    }
  });

  test(`${kind}: multiclass and regression`, () => {
    const tc = prepareData(syntheticSessions(400, 3), { label: "qoe_class" });
    const hc = prepareData(syntheticSessions(200, 4), { label: "qoe_class" });
    const k = tc.classes.length;
    const mc = fitModel(kind, tc.x, tc.n, tc.p, tc.y, "classification", k, {}, 1);
    const pc = argmaxRows(predictOutput(mc, hc.x, hc.n, hc.p), hc.n, k);
    assert.ok(classificationMetrics(hc.y, pc, hc.classes).accuracy >= 0.9);
    const tr = prepareData(syntheticSessions(400, 3), { label: "qoe_score" });
    const hr = prepareData(syntheticSessions(200, 4), { label: "qoe_score" });
    const mr = fitModel(kind, tr.x, tr.n, tr.p, tr.y, "regression", 0, {}, 1);
    const r2 = regressionMetrics(hr.y, predictOutput(mr, hr.x, hr.n, hr.p)).r2!;
    assert.ok(r2 > 0.9, `R² ${r2}`);
  });
}

test("gbdt probabilities sum to 1; early stopping ends a fit on a noise label", () => {
  const rng = new Random(9);
  const n = 600;
  const x = Float64Array.from({ length: n * 3 }, () => rng.next());
  const y = Float64Array.from({ length: n }, () => (rng.next() < 0.5 ? 1 : 0));
  const model = fitModel("gbdt", x, n, 3, y, "classification", 2, { earlyStopping: true }, 1);
  assert.ok(model.iterations < 100, `stopped after ${model.iterations}`);
  const out = predictOutput(model, x, 10, 3);
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(out[i * 2]! + out[i * 2 + 1]! - 1) < 1e-12);
  assert.equal(fitModel("gbdt", x, n, 3, y, "classification", 2, {}, 1).iterations, 100, "auto: off at 600 rows");
});
