import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { claimNextSession, completeSession, createTraining, validateTrainingRequest } from "../collect/index.ts";
import { openTestDb, testDatabaseKinds } from "../db/test-support/test-db.ts";
import { QoelabError } from "../errors.ts";
import {
  classifyLabelChoices,
  classifyLabelInfo,
  classifyTraining,
  defaultLabel,
  parseClassifyRequest,
} from "./classify-training.ts";
import { Random } from "./random.ts";

for (const kind of testDatabaseKinds()) {
  describe(`classifying a training on ${kind}`, () => {
    const opened = openTestDb(kind);
    after(async () => (await opened).drop());

    /** A finished training of 18 sessions whose stall follows the achieved throughput. */
    async function collectedTraining() {
      const db = await opened;
      const v = validateTrainingRequest({
        number_of_videos: "18",
        session_duration: "30",
        bw_limitations: "0.5, 2, 8",
      });
      assert.ok(v.ok);
      const training = await createTraining(db, v.value);
      const rng = new Random(4);
      for (;;) {
        const s = await claimNextSession(db, "w", { trainingId: training.id });
        if (!s) break;
        const tput = (s.bw_limitation ?? 1) * 1e6 * (0.4 + 0.5 * rng.next());
        const stalled = tput < 1.5e6;
        await completeSession(db, s.id, {
          url: "http://origin/v.m3u8",
          channel: `ch${s.position % 3}`,
          applicationData: { stalls: stalled ? [{ start: 3, duration: 2 }] : [] },
          networkData: { features: { dl_tput_mean_bps: tput, retx_ratio: rng.next() * 0.01, flows: 2 } },
          labels: { stalled, stall_ratio: stalled ? 0.07 : 0, qoe_class: stalled ? "poor" : "good" },
          captureFile: null,
          captureSize: null,
        });
      }
      return training.id;
    }

    test("labels, the default label, cross-validation with progress, the majority baseline", async () => {
      const db = await opened;
      const id = await collectedTraining();
      const labels = await classifyLabelChoices(db, id);
      assert.deepEqual([...labels].sort(), ["label_qoe_class", "label_stall_ratio", "label_stalled"]);
      assert.equal(defaultLabel(await classifyLabelInfo(db, id)), "label_stalled");
      const request = parseClassifyRequest({ label: "label_stalled", model: "rf", cv: "3", group: "" });
      const progress: number[] = [];
      const result = await classifyTraining(db, id, request, (p) => progress.push(p.done));
      assert.deepEqual(progress, [0, 1, 2, 3, 4]);
      assert.equal(result.evaluation.rows, 18);
      assert.deepEqual([...result.evaluation.features].sort(), ["net_dl_tput_mean_bps", "net_flows", "net_retx_ratio"]);
      assert.ok((result.evaluation.classification?.accuracy ?? 0) >= 0.8);
      assert.deepEqual(
        result.evaluation.perBandwidth.map((b) => [b.bandwidthMbps, b.rows]),
        [
          [0.5, 6],
          [2, 6],
          [8, 6],
        ],
      );
      assert.ok(result.baseline !== null && result.baseline > 0.5, `baseline ${result.baseline}`);
      // Grouped by bandwidth: three groups, so three folds at most.
      const grouped = await classifyTraining(db, id, { label: "stalled", cv: 3, group: "bandwidth" });
      assert.equal(grouped.evaluation.foldKind, "grouped");
      assert.equal(grouped.evaluation.groupColumn, "bw_limitation_mbps");
    });

    test("bad requests are refused with the field named", () => {
      assert.throws(
        () => parseClassifyRequest({ label: "" }),
        (e: unknown) => e instanceof QoelabError && e.code === "CLASSIFY_INVALID_INPUT",
      );
      assert.throws(() => parseClassifyRequest({ label: "x", model: "svm" }), /rf or gbdt/);
      assert.throws(() => parseClassifyRequest({ label: "x", cv: "1" }), /2–50/);
    });
  });
}
