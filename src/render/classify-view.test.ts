import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ClassifyResult, LabelChoice } from "../ml/index.ts";
import { renderClassifyForm, renderClassifyProgress, renderClassifyResult } from "./classify-view.ts";
import { syntheticModel } from "./test-support/synthetic-model.ts";

describe("the Classify view", () => {
  it("the form selects label_stalled when it can be trained and names the labels that cannot", () => {
    const labels: LabelChoice[] = [
      { name: "label_qoe_class", rows: 18, classes: { good: 12, poor: 6 }, trainable: true },
      { name: "label_stalled", rows: 18, classes: { true: 6, false: 12 }, trainable: true },
      { name: "label_<odd>", rows: 1, classes: { x: 1 }, trainable: false, reason: "only 1 row with a value" },
    ];
    const form = renderClassifyForm(7, labels);
    assert.match(form, /<option value="label_stalled" selected>/);
    assert.match(form, /action="\/trainings\/7\/classify"/);
    assert.match(form, /label_&lt;odd&gt; \(not trainable here: only 1 row with a value\)/);
    assert.match(form, /Trainable on these sessions: label_qoe_class, label_stalled\./);
    assert.match(
      renderClassifyProgress({ done: 1, total: 4, message: "fold <1>" }),
      /<progress max="4" value="1"><\/progress> <span>fold &lt;1&gt;<\/span>/,
    );
  });

  it("the result: baseline, notes, evaluation and the model's download link", async () => {
    const { result, file } = await syntheticModel();
    const classified: ClassifyResult = {
      trainingId: 3,
      model: file,
      evaluation: result.evaluation,
      baseline: 0.6,
      notes: ["3 folds instead of 5"],
    };
    const html = renderClassifyResult(classified);
    assert.match(html, /confusion matrix/);
    assert.match(html, /Download the model/);
    assert.match(html, /href="\/trainings\/3\/classify\/model\.json"/);
    assert.match(html, /against <b>60\.0 %<\/b> for always guessing/);
    assert.match(html, /<p class="warning" id="classify-note">3 folds instead of 5<\/p>/);
  });
});
