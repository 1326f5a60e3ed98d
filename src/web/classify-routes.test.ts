import assert from "node:assert/strict";
import { after, test } from "node:test";
import { openTestDb } from "../db/test-support/test-db.ts";
import { createApp } from "./app.ts";
import { capturedTraining } from "./test-support/captured-training.ts";

const opened = openTestDb("pglite");
after(async () => (await opened).drop());

test("the Classify view: form, cross-validation with progress, result and model download", async () => {
  const db = await opened;
  const app = createApp({ db });
  const trainingId = await capturedTraining(
    app,
    db,
    { number_of_videos: 20, session_duration: 20, bw_limitations: [0.5, 4] },
    (session, i) => {
      // Throughput tells stalls apart: a learnable rule with a little noise.
      const slow = session.bw_limitation < 1;
      return {
        url: null,
        channel: null,
        applicationData: {},
        networkData: { features: { down_mbps_mean: (slow ? 0.4 : 3.6) + (i % 5) * 0.05, rtt_ms: 20 + (i % 3) } },
        labels: { stalled: slow },
        captureFile: null,
        captureSize: null,
      };
    },
  );
  const form = await (await app.request(`/trainings/${trainingId}/classify`)).text();
  assert.match(form, /<option value="label_stalled" selected>/);
  const started = await app.request(`/trainings/${trainingId}/classify`, {
    method: "POST",
    body: new URLSearchParams({ label: "label_stalled", model: "rf", cv: "4" }),
  });
  assert.equal(started.status, 303);
  const jobUrl = started.headers.get("location") ?? "";
  const jobId = jobUrl.split("/").pop();
  let state = "running";
  for (let i = 0; i < 200 && state === "running"; i++) {
    await new Promise((r) => setTimeout(r, 100));
    state = ((await (await app.request(`/api/classify/jobs/${jobId}`)).json()) as { state: string }).state;
  }
  assert.equal(state, "done");
  const result = await (await app.request(jobUrl)).text();
  assert.match(result, /Download the model/);
  const model = (await (await app.request(`${jobUrl}/model.json`)).json()) as {
    label: string;
    features: string[];
    metrics: { accuracy?: number };
  };
  assert.equal(model.label, "label_stalled");
  assert.ok(
    model.features.every((f) => f.startsWith("net_")),
    "network columns only",
  );
  const bad = await app.request(`/trainings/${trainingId}/classify`, {
    method: "POST",
    body: new URLSearchParams({ label: "", model: "svm" }),
  });
  assert.equal(bad.status, 400);
});
