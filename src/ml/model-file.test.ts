import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QoelabError } from "../errors.ts";
import { trainOnDataset } from "./evaluate.ts";
import { loadModel, modelFileFromTraining, predictRows, saveModel, trainingDataHash } from "./model-file.ts";
import { syntheticSessions } from "./test-support/synthetic.ts";

const code = (c: string) => (e: unknown) => e instanceof QoelabError && e.code === c;
const dir = await mkdtemp(join(tmpdir(), `qoelab-ml-${process.pid}-`));
after(() => rm(dir, { recursive: true, force: true }));

const data = syntheticSessions(150, 1);
const result = await trainOnDataset(data, { label: "stalled", model: "gbdt", cv: 3, seed: 2 });

test("the evaluation is complete and holds no NaN", () => {
  const e = result.evaluation;
  assert.equal(e.foldKind, "stratified");
  assert.ok(e.classification && e.classification.accuracy > 0.9);
  assert.ok(e.classification.rocAuc !== null && e.classification.rocAuc > 0.95);
  assert.deepEqual(
    e.perBandwidth.map((b) => b.bandwidthMbps),
    [0.5, 1, 2, 4, 8],
  );
  assert.equal(
    e.perBandwidth.reduce((s, b) => s + b.rows, 0),
    150,
  );
  assert.equal(e.permutationImportance?.[0]?.feature, "net_dl_tput_mean_bps");
  assert.ok(!/NaN/.test(JSON.stringify(e)));
});

test("model file: save, load, same predictions; hash follows the rows", async () => {
  const file = modelFileFromTraining(result, { source: "synthetic" });
  assert.equal(file.format, "qoelab-model");
  assert.equal(file.version, 1);
  assert.match(file.trainingDataHash, /^[0-9a-f]{64}$/);
  assert.equal(file.trainingDataHash, trainingDataHash(result.matrix));
  const other = await trainOnDataset(syntheticSessions(150, 2), { label: "stalled", cv: 3, permutationRepeats: 0 });
  assert.notEqual(trainingDataHash(other.matrix), file.trainingDataHash);
  const path = join(dir, "model.json");
  await saveModel(path, file);
  const loaded = await loadModel(path);
  const fresh = syntheticSessions(40, 7);
  const before = predictRows({ file, fitted: result.fitted }, fresh);
  const afterLoad = predictRows(loaded, fresh);
  assert.deepEqual(afterLoad, before);
});

test("loading checks format, version and features", async () => {
  const file = modelFileFromTraining(result);
  const write = async (name: string, value: unknown) => {
    const path = join(dir, name);
    await writeFile(path, JSON.stringify(value));
    return path;
  };
  await assert.rejects(loadModel(await write("v2.json", { ...file, version: 2 })), code("ML_MODEL_VERSION"));
  await assert.rejects(loadModel(await write("other.json", { format: "x" })), code("ML_BAD_MODEL"));
  const broken = JSON.parse(JSON.stringify(file));
  broken.trees[0].feature[0] = 99;
  await assert.rejects(loadModel(await write("broken.json", broken)), code("ML_BAD_MODEL"));
  await assert.rejects(loadModel(join(dir, "missing.json")), code("ML_MODEL_NOT_FOUND"));
  const model = await loadModel(await write("ok.json", file));
  const foreign = { columns: ["net_a", "net_b"], rows: [[1, 2]] };
  assert.throws(() => predictRows(model, foreign), code("ML_FEATURE_MISMATCH"));
  assert.ok((await readFile(join(dir, "ok.json"), "utf8")).includes('"features":["net_dl_tput_mean_bps"'));
});
