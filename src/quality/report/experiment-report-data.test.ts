import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { readExperimentReportData } from "./experiment-report-data.ts";
import { writeSyntheticExperiment } from "./synthetic-experiment.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-report-data-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

describe("experiment report data", () => {
  it("reads the folder and screens its ratings", async () => {
    const dir = join(work, "exp");
    await writeSyntheticExperiment(dir, { lossPercents: [0, 5, 20], simulatedRaters: 8, pesq: false, seed: 3 });
    const data = readExperimentReportData({ dir });
    assert.equal(data.folder?.experiment.conditions.length, 3);
    assert.equal(data.training, null);
    assert.equal(data.listening?.screened.conditions.length, 3);
  });

  it("names a missing or broken experiment folder", () => {
    assert.throws(() => readExperimentReportData({ dir: join(work, "nothing-here") }), {
      code: "EXPERIMENT_NOT_FOUND",
    });
    const bad = join(work, "bad");
    mkdirSync(bad);
    writeFileSync(
      join(bad, "experiment.json"),
      JSON.stringify({ format: "qoelab-experiment/1", kind: "voip", reference: "o.wav", conditions: [{ id: "x" }] }),
    );
    assert.throws(() => readExperimentReportData({ dir: bad }), {
      code: "EXPERIMENT_INVALID",
      message: /conditions\[0\]\.lossPercent must be a number/,
    });
  });
});
