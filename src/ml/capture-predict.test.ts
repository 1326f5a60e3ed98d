import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { promisify } from "node:util";
import { datasetToCsv, type ExportValue } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { captureFeatureRows, datasetFromFeatureRows, networkRow, predictCapture } from "./capture-predict.ts";
import { trainOnDataset } from "./evaluate.ts";
import { loadModel, modelFileFromTraining, saveModel } from "./model-file.ts";
import { writeVideoLikeCapture } from "./test-support/video-capture.ts";

const run = promisify(execFile);
const dir = await mkdtemp(join(tmpdir(), `qoelab-qoe-${process.pid}-`));
after(() => rm(dir, { recursive: true, force: true }));

// Twelve sessions: "fast" ones (≈ 40 segments/s, no stall) and "slow" ones (≈ 6/s, stalled).
const sessions: { path: string; stalled: boolean }[] = [];
for (let i = 0; i < 12; i++) {
  const stalled = i % 2 === 1;
  const path = join(dir, `session-${i}.pcap`);
  await writeVideoLikeCapture(path, { seconds: 30, segmentsPerSecond: stalled ? 6 : 40, seed: i + 1 });
  sessions.push({ path, stalled });
}
const rows: Map<string, ExportValue>[] = [];
for (const s of sessions) {
  const { session } = await captureFeatureRows(s.path);
  const row = networkRow(session);
  row.set("label_stalled", s.stalled);
  rows.push(row);
}
const dataset = datasetFromFeatureRows(rows);
const trained = await trainOnDataset(dataset, { label: "stalled", cv: 3, permutationRepeats: 0 });
const modelPath = join(dir, "model.json");
await saveModel(modelPath, modelFileFromTraining(trained));

test("capture features are the collection's net_* columns", () => {
  assert.ok(dataset.columns.includes("net_dl_tput_mean_bps"));
  assert.ok(trained.evaluation.features.every((f) => f.startsWith("net_")));
  assert.equal(trained.evaluation.classification?.accuracy, 1);
});

test("qoe predict: one prediction per 10 s window and one for the session", async () => {
  const model = await loadModel(modelPath);
  for (const [seed, stalled] of [
    [101, false],
    [102, true],
  ] as const) {
    const path = join(dir, `held-out-${seed}.pcap`);
    await writeVideoLikeCapture(path, { seconds: 30, segmentsPerSecond: stalled ? 6 : 40, seed });
    const result = await predictCapture(model, path, { windowSeconds: 10 });
    assert.equal(result.session.prediction, String(stalled));
    assert.deepEqual(
      result.windows.map((w) => [w.index, w.startS, w.endS]),
      [
        [0, 0, 10],
        [1, 10, 20],
        [2, 20, 30],
      ],
    );
    assert.ok(result.windows.every((w) => w.packets > 0 && typeof w.prediction === "string"));
  }
});

test("a model from another feature set is refused for a capture", async () => {
  const other = await trainOnDataset(
    {
      columns: ["net_something_else", "label_stalled"],
      rows: Array.from({ length: 12 }, (_, i) => [i, i % 2 === 0]),
    },
    { label: "stalled", cv: 2, permutationRepeats: 0 },
  );
  const file = modelFileFromTraining(other);
  await assert.rejects(
    predictCapture({ file, fitted: other.fitted }, sessions[0]!.path),
    (e: unknown) => e instanceof QoelabError && e.code === "ML_FEATURE_MISMATCH",
  );
});

test("CLI wiring: ml train --json, qoe predict --json, exit code on bad input", async () => {
  const csv = join(dir, "sessions.csv");
  const { writeFile } = await import("node:fs/promises");
  await writeFile(csv, datasetToCsv(dataset));
  const cli = ["tsx", "src/cli/main.ts"];
  const cwd = new URL("../../", import.meta.url).pathname;
  const train = await run("npx", [...cli, "ml", "train", csv, "--label", "stalled", "--cv", "3", "--json"], { cwd });
  const summary = JSON.parse(train.stdout) as { accuracy: number; features: string[] };
  assert.equal(summary.accuracy, 1);
  assert.ok(summary.features.length > 10);
  const capture = sessions[1]!.path;
  const predict = await run(
    "npx",
    [...cli, "qoe", "predict", capture, "--model", modelPath, "--window", "10s", "--json"],
    {
      cwd,
    },
  );
  const out = JSON.parse(predict.stdout) as { session: { prediction: string }; windows: unknown[] };
  assert.equal(out.session.prediction, "true");
  assert.equal(out.windows.length, 3);
  await assert.rejects(run("npx", [...cli, "ml", "train", csv, "--label", "label_nope"], { cwd }), (e: unknown) => {
    const err = e as { code: number; stderr: string };
    return err.code === 1 && /ML_UNKNOWN_LABEL/.test(err.stderr);
  });
});
