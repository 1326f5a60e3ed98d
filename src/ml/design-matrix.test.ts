import assert from "node:assert/strict";
import { test } from "node:test";
import { datasetToCsv, datasetToParquet } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import { parseCsv } from "./csv.ts";
import { datasetFromCsv, datasetFromParquet } from "./dataset.ts";
import { prepareData } from "./design-matrix.ts";
import { trainOnDataset } from "./evaluate.ts";
import { syntheticSessions } from "./test-support/synthetic.ts";

const code = (c: string) => (e: unknown) => e instanceof QoelabError && e.code === c;

test("RFC 4180: quotes, doubled quotes, commas and line breaks inside fields, CRLF", () => {
  const text = 'a,b,c\r\n1,"x, y","say ""hi"""\r\n2,"two\nlines",\r\n';
  assert.deepEqual(parseCsv(text), [
    ["a", "b", "c"],
    ["1", "x, y", 'say "hi"'],
    ["2", "two\nlines", ""],
  ]);
  assert.throws(() => parseCsv('a\n"open'), code("ML_CSV_UNTERMINATED_QUOTE"));
  assert.throws(() => datasetFromCsv("a,b\n1\n"), code("ML_CSV_RAGGED"));
  const d = datasetFromCsv("net_x,label_y,t\n1.5,true,\n-2e3,false,hello\n");
  assert.deepEqual(d.rows, [
    [1.5, true, null],
    [-2000, false, "hello"],
  ]);
});

test("CSV and Parquet exports of a dataset load back to the same values", async () => {
  const original = syntheticSessions(12);
  const fromCsv = datasetFromCsv(datasetToCsv(original));
  assert.deepEqual(fromCsv, original);
  const fromParquet = await datasetFromParquet(await datasetToParquet(original));
  assert.deepEqual(fromParquet.columns, original.columns);
  assert.deepEqual(fromParquet.rows, original.rows);
});

test("default features are the net_* columns; the label resolves by short name", () => {
  const m = prepareData(syntheticSessions(20), { label: "stalled" });
  assert.equal(m.label, "label_stalled");
  assert.equal(m.task, "classification");
  assert.deepEqual(m.features, ["net_dl_tput_mean_bps", "net_retx_ratio", "net_noise"]);
  assert.deepEqual(m.classes, ["false", "true"]);
  const withBw = prepareData(syntheticSessions(20), { label: "stalled", includeBandwidth: true });
  assert.deepEqual(withBw.features.at(-1), "bw_limitation_mbps");
  assert.equal(prepareData(syntheticSessions(20), { label: "label_qoe_score" }).task, "regression");
});

test("leakage and non-network columns are refused as features", () => {
  const d = syntheticSessions(20);
  assert.throws(
    () => prepareData(d, { label: "stalled", features: ["net_noise", "label_stall_ratio"] }),
    (e) => {
      return code("ML_LABEL_LEAKAGE")(e) && /label_stall_ratio/.test((e as Error).message);
    },
  );
  assert.throws(() => prepareData(d, { label: "stalled", features: ["label_stalled"] }), code("ML_LABEL_LEAKAGE"));
  assert.throws(() => prepareData(d, { label: "stalled", features: ["channel"] }), code("ML_NOT_NETWORK_FEATURE"));
  // A pattern skips labels and session facts instead of failing.
  const m = prepareData(d, { label: "stalled", features: ["*"] });
  assert.deepEqual(m.features, ["net_dl_tput_mean_bps", "net_retx_ratio", "net_noise"]);
});

test("bad input gets a coded error each: missing label, constant label, text features", () => {
  const d = syntheticSessions(20);
  assert.throws(() => prepareData(d, { label: "label_nope" }), code("ML_UNKNOWN_LABEL"));
  const constant = { columns: d.columns, rows: d.rows.map((r) => r.map((v, i) => (i === 7 ? false : v))) };
  assert.throws(() => prepareData(constant, { label: "stalled" }), code("ML_CONSTANT_LABEL"));
  const text = { columns: [...d.columns, "net_codec"], rows: d.rows.map((r, i) => [...r, i % 2 ? "h264" : "vp9"]) };
  assert.throws(
    () => prepareData(text, { label: "stalled" }),
    (e) => {
      return code("ML_NON_NUMERIC_FEATURE")(e) && /net_codec/.test((e as Error).message);
    },
  );
  const encoded = prepareData(text, { label: "stalled", oneHot: true });
  assert.deepEqual(encoded.features.slice(-2), ["net_codec=h264", "net_codec=vp9"]);
  assert.throws(() => prepareData(d, { label: "qoe_class", task: "regression" }), code("ML_NON_NUMERIC_LABEL"));
  const noNet = { columns: ["a", "y"], rows: [[1, 0] as (number | null)[], [2, 1]] };
  assert.throws(() => prepareData(noNet, { label: "y" }), code("ML_NO_FEATURES"));
});

test("rows without a label are left out and counted", () => {
  const d = syntheticSessions(20);
  d.rows[3]![7] = null;
  const m = prepareData(d, { label: "stalled" });
  assert.equal(m.n, 19);
  assert.equal(m.droppedRows, 1);
});

test("too few rows per fold is refused before any fit, never NaN metrics", async () => {
  const d = syntheticSessions(8);
  await assert.rejects(trainOnDataset(d, { label: "stalled", cv: 5 }), code("ML_TOO_FEW_ROWS"));
  await assert.rejects(trainOnDataset(d, { label: "stalled", cv: 6, group: "bandwidth" }), code("ML_TOO_FEW_GROUPS"));
});
