import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ANNEX_A_TEST_2, ANNEX_A_TEST_2_STATEMENT } from "./conformance.ts";
import { pesq } from "./pesq.ts";
import { conformanceDir, loadConformanceSignal, reportConformance, runConformanceSet } from "./test-support.ts";

/**
 * ITU-T P.862 Annex A, conformance test 2 (VoIP set, 40 pairs) at 16000 Hz, narrowband: at most 1 pair
 * may differ from the expected raw score by more than 0.05, none by more than 0.5. The claim in
 * conformance.ts ("conformant to P.862 Annex A test 2") stands only while this passes.
 */
describe("ITU-T P.862 Annex A conformance test 2 (VoIP) at 16000 Hz", async () => {
  const rows = await runConformanceSet(16000);
  const summary = reportConformance(16000, rows);
  it("scores all 40 pairs", () => assert.equal(rows.length, 40));
  it("at most 1 of 40 pairs off by more than 0.05", () => {
    assert.ok(summary.over005 <= 1, `${summary.over005} pairs off by more than 0.05`);
  });
  it("no pair off by more than 0.5", () => {
    assert.equal(summary.over05, 0, `${summary.over05} pairs off by more than 0.5`);
  });
  it("states conformance in every narrowband result at this rate", () => {
    assert.equal(ANNEX_A_TEST_2[16000], ANNEX_A_TEST_2_STATEMENT);
    const dir = conformanceDir();
    const r = pesq(
      loadConformanceSignal(dir, rows[0]!.reference, 16000),
      loadConformanceSignal(dir, rows[0]!.degraded, 16000),
      16000,
    );
    assert.equal(r.conformance, ANNEX_A_TEST_2_STATEMENT);
    assert.equal(r.rawLabel, "P.862 raw");
    assert.equal(r.mosLqoLabel, "P.862.1 MOS-LQO");
  });
});
