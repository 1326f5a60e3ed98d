import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateLabel, evaluationMarkdown, THROUGHPUT_COLUMN, withTraceGroup } from "./benchmark-eval.ts";
import type { Dataset } from "./dataset.ts";

// 48 sessions over 8 traces and 2 constant limits, 4 contents: stalls come with low throughput, and
// a second feature separates what throughput alone cannot (the "cuts" content stalls at more).
function dataset(): Dataset {
  const columns = [
    "session_id",
    "trace",
    "bw_limitation_mbps",
    "content",
    THROUGHPUT_COLUMN,
    "net_chunk_gap_max_ms",
    "label_stalled",
  ];
  const rows: Dataset["rows"] = [];
  for (let i = 0; i < 48; i++) {
    const trace = i % 10 < 8 ? `t${i % 10}` : "";
    const content = ["talk", "sport", "cuts", "noise"][i % 4]!;
    const tput = 200_000 + ((i * 7919) % 40) * 100_000;
    const gap = content === "cuts" ? 4000 : 500;
    const stalled = tput < 1_000_000 || (content === "cuts" && tput < 2_500_000);
    rows.push([i, trace, trace ? 1.2 : i % 2 ? 0.5 : 3, content, tput, gap, stalled]);
  }
  return withTraceGroup({ columns, rows });
}

test("a label is scored by the forest and both baselines on the same grouped folds", async () => {
  const ds = dataset();
  assert.ok(ds.columns.includes("trace_group"));
  const groups = new Set(ds.rows.map((r) => r[ds.columns.indexOf("trace_group")]));
  assert.ok(groups.has("limit 0.5") && groups.has("limit 3") && groups.has("t0"));
  const byTrace = await evaluateLabel(
    ds,
    { name: "stalled", column: "label_stalled" },
    { name: "trace", column: "trace_group", folds: 5 },
  );
  assert.equal(byTrace.rows, 48);
  assert.deepEqual(byTrace.classes, ["false", "true"]);
  // The majority baseline predicts one class per fold: its macro-F1 is at most that of one class.
  assert.ok(byTrace.majority.macroF1 <= 0.75);
  assert.ok(byTrace.model.accuracy >= byTrace.majority.accuracy, JSON.stringify(byTrace));
  const total = (m: number[][]) => m.flat().reduce((a, b) => a + b, 0);
  assert.equal(total(byTrace.model.confusion), 48);
  assert.equal(total(byTrace.throughputOnly.confusion), 48);
  const markdown = evaluationMarkdown([byTrace], []);
  assert.match(markdown, /Folds grouped by trace \(5 folds, 48 sessions\)/);
  assert.match(markdown, /\| stalled \| false/);
});
