import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { computeWindowLabels } from "../collect/index.ts";
import { captureFeatureRows, predictCapture } from "./capture-predict.ts";
import { datasetFromCsv } from "./dataset.ts";
import { trainOnDataset } from "./evaluate.ts";
import { modelFileFromTraining } from "./model-file.ts";

// The benchmark dataset (datasets/video-qoe/) and its held-out captures: sessions collected by
// qoelab, kept out of the model's training rows here, predicted from their captures alone.
const root = new URL("../../datasets/video-qoe/", import.meta.url);
const dataset = datasetFromCsv(readFileSync(new URL("sessions.csv", root), "utf8"), "sessions.csv");
const heldOutDir = new URL("held-out/", root);
const heldOut = readdirSync(heldOutDir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => ({
    pcap: new URL(f.replace(/\.json$/, ".pcap"), heldOutDir).pathname,
    meta: JSON.parse(readFileSync(new URL(f, heldOutDir), "utf8")) as {
      session_id: number;
      duration: number;
      samples: Array<{ t: number; height: number }>;
      stalls: Array<{ start: number; duration: number }>;
      window: { record_start_s: number };
      labels: Record<string, string>;
    },
  }));
const idColumn = dataset.columns.indexOf("session_id");
const heldIds = new Set(heldOut.map((h) => h.meta.session_id));

test("the benchmark's sessions: traces, contents and both ends of every label", () => {
  assert.ok(heldOut.length >= 2);
  const column = (name: string) => dataset.rows.map((r) => r[dataset.columns.indexOf(name)]);
  assert.ok(dataset.columns.filter((c) => c.startsWith("net_")).length > 30);
  assert.ok(new Set(column("trace").filter((t) => typeof t === "string")).size >= 8);
  assert.ok(new Set(column("content")).size >= 6);
  assert.ok(new Set(column("label_stalled")).size === 2);
  assert.ok(new Set(column("label_resolution_class")).size === 3);
});

test("a held-out capture's recorded window gives exactly the net_* columns the collection stored", async () => {
  for (const { pcap, meta } of heldOut) {
    const row = dataset.rows.find((r) => r[idColumn] === meta.session_id);
    assert.ok(row, `session ${meta.session_id} is in sessions.csv`);
    const { session } = await captureFeatureRows(pcap, { startS: meta.window.record_start_s });
    for (const [key, value] of Object.entries(session)) {
      const stored = row[dataset.columns.indexOf(`net_${key}`)];
      if (typeof value !== "number" || !Number.isFinite(value)) continue;
      assert.ok(
        typeof stored === "number" && Math.abs(stored - value) <= 1e-6 * Math.max(1, Math.abs(value)),
        `net_${key}: ${stored} stored, ${value} now`,
      );
    }
  }
});

test("qoe predict on the held-out captures: the session and its 10 s windows, the last one partial", async () => {
  const training = { columns: dataset.columns, rows: dataset.rows.filter((r) => !heldIds.has(Number(r[idColumn]))) };
  const trained = await trainOnDataset(training, { label: "resolution_class", cv: 3, permutationRepeats: 0 });
  const model = { file: modelFileFromTraining(trained), fitted: trained.fitted };
  for (const { pcap, meta } of heldOut) {
    const start = meta.window.record_start_s;
    const result = await predictCapture(model, pcap, { windowSeconds: 10, startS: start });
    assert.ok(trained.matrix.classes.includes(String(result.session.prediction)));
    // 24 s recorded: windows 0–10, 10–20 and the partial 20–24 (the capture ends with the session).
    const labels = computeWindowLabels({ duration: meta.duration, samples: meta.samples, stalls: meta.stalls }, 10);
    assert.deepEqual(
      labels.map((w) => [w.index, w.partial]),
      [
        [0, false],
        [1, false],
        [2, true],
      ],
    );
    const windows = result.windows.slice(0, 3);
    assert.deepEqual(
      windows.map((w) => [w.index, Math.round((w.startS - start) * 1000) / 1000, w.partial]),
      [
        [0, 0, false],
        [1, 10, false],
        [2, 20, true],
      ],
    );
  }
});
