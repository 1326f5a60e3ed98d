import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { predictCapture } from "./capture-predict.ts";
import { datasetFromCsv } from "./dataset.ts";
import { trainOnDataset } from "./evaluate.ts";
import { modelFileFromTraining, parseModelFile } from "./model-file.ts";

// test-data/collect/: 30 sessions qoelab collected itself (real chromium, tbf, tcpdump; see
// test-data/SOURCE.md). Two sessions' captures are held out of training.
const dir = new URL("../../test-data/collect/", import.meta.url).pathname;
const heldOut = readdirSync(dir)
  .filter((f) => f.endsWith(".labels.json"))
  .map((f) => ({
    pcap: dir + f.replace(".labels.json", ".pcap"),
    ...(JSON.parse(readFileSync(dir + f, "utf8")) as { session: number; labels: { stalled: boolean } }),
  }));

function trainingRows() {
  const all = datasetFromCsv(readFileSync(`${dir}sessions.csv`, "utf8"), "sessions.csv");
  const id = all.columns.indexOf("session_id");
  const held = new Set(heldOut.map((h) => h.session));
  return { ...all, rows: all.rows.filter((r) => !held.has(Number(r[id]))) };
}

test("stall / no stall from network features alone, grouped by channel", async () => {
  const result = await trainOnDataset(trainingRows(), {
    label: "label_stalled",
    model: "rf",
    cv: 3,
    group: "channel",
    seed: 1,
    permutationRepeats: 0,
  });
  assert.ok(
    result.matrix.features.every((f) => f.startsWith("net_")),
    "network columns only",
  );
  assert.equal(result.evaluation.foldKind, "grouped");
  const accuracy = result.evaluation.classification?.accuracy ?? 0;
  assert.ok(accuracy >= 0.9, `grouped 3-fold accuracy ${accuracy}`);
});

test("qoe predict on a held-out session's capture gives the label its player recorded", async () => {
  assert.equal(heldOut.length, 2);
  const result = await trainOnDataset(trainingRows(), {
    label: "label_stalled",
    model: "rf",
    cv: 3,
    seed: 1,
    permutationRepeats: 0,
  });
  const model = parseModelFile(JSON.parse(JSON.stringify(modelFileFromTraining(result))));
  for (const session of heldOut) {
    const predicted = await predictCapture(model, session.pcap, { windowSeconds: 10 });
    assert.equal(String(predicted.session.prediction), String(session.labels.stalled), session.pcap);
    assert.ok(predicted.windows.length >= 2, "per-window predictions too");
  }
});
