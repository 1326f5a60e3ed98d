import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { readPcm16le, readWav } from "../../audio/index.ts";
import { ANNEX_A_TEST_2, ANNEX_A_TEST_2_STATEMENT } from "./conformance.ts";
import { pesq } from "./pesq.ts";
import { pesqBatch } from "./pesq-batch.ts";

/** The ITU-T P.862 Annex A conformance data: ../shared/data/pesq-conformance relative to the repo root. */
export function conformanceDir(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
  const dir = path.resolve(repoRoot, "../shared/data/pesq-conformance");
  if (!existsSync(path.join(dir, "voipref_8k.txt"))) {
    throw new Error(
      `PESQ conformance data missing: expected ${dir}/voipref_8k.txt (ITU-T P.862 Annex A test 2 set, see its README)`,
    );
  }
  return dir;
}

export interface ConformanceRow {
  pair: number;
  reference: string;
  degraded: string;
  expected: number;
  got: number;
  /** |got − expected| on scores rounded to 3 decimals, as Annex A compares them. */
  error: number;
}

/** Loads one pair of the Annex A test 2 set (voip8k WAV or voip16k raw PCM16 LE). */
export function loadConformanceSignal(dir: string, listed: string, rate: 8000 | 16000): Float32Array {
  const file = path.join(dir, listed.replace(/^voip\//, rate === 8000 ? "voip8k/" : "voip16k/"));
  const bytes = new Uint8Array(readFileSync(file));
  return rate === 8000 ? readWav(bytes, file).channels[0]! : readPcm16le(bytes, file);
}

/**
 * Scores the 40 pairs of Annex A test 2 at one rate (narrowband P.862), on worker threads through
 * pesqBatch (the same code path as `qoelab pesq --batch`).
 */
export async function runConformanceSet(rate: 8000 | 16000): Promise<ConformanceRow[]> {
  const dir = conformanceDir();
  const list = readFileSync(path.join(dir, rate === 8000 ? "voipref_8k.txt" : "voipref_16k.txt"), "utf8");
  const listed = list
    .trim()
    .split(/\r?\n/)
    .slice(1)
    .map((line) => line.split("\t"));
  const file = (p: string) => path.join(dir, p.replace(/^voip\//, rate === 8000 ? "voip8k/" : "voip16k/"));
  const results = await pesqBatch(
    listed.map(([ref, deg, fs]) => {
      assert.equal(Number(fs), rate);
      return { reference: file(ref!), degraded: file(deg!), rate };
    }),
    { mode: "nb" },
  );
  return results.map((r, i) => {
    if ("error" in r) assert.fail(`pair ${i + 1}: ${r.code}: ${r.error}`);
    const expected = Number(listed[i]![3]);
    return {
      pair: i + 1,
      reference: listed[i]![0]!,
      degraded: listed[i]![1]!,
      expected,
      got: r.raw,
      error: Math.abs(Number(r.raw.toFixed(3)) - expected),
    };
  });
}

export interface ConformanceSummary {
  within005: number;
  over005: number;
  over05: number;
  maxError: number;
}

/** Prints the per-pair table and returns the Annex A counts. */
export function reportConformance(rate: number, rows: ConformanceRow[]): ConformanceSummary {
  const summary = {
    within005: rows.filter((r) => r.error <= 0.05).length,
    over005: rows.filter((r) => r.error > 0.05).length,
    over05: rows.filter((r) => r.error > 0.5).length,
    maxError: Math.max(...rows.map((r) => r.error)),
  };
  const table = rows
    .map(
      (r) =>
        `${String(r.pair).padStart(4)}  ${r.degraded.padEnd(28)} ${r.expected.toFixed(3)}  ${r.got.toFixed(3)}  ${r.error.toFixed(3)}${r.error > 0.05 ? "  > 0.05" : ""}`,
    )
    .join("\n");
  process.stdout.write(
    `P.862 Annex A test 2 at ${rate} Hz (P.862 raw): ${summary.within005}/${rows.length} within 0.05, ${summary.over05} > 0.5, max |error| ${summary.maxError.toFixed(3)}\npair  degraded                     expected  got    |error|\n${table}\n`,
  );
  return summary;
}

/**
 * ITU-T P.862 Annex A, conformance test 2 (VoIP set, 40 pairs) at one rate, narrowband: at most 1 pair
 * may differ from the expected raw score by more than 0.05, none by more than 0.5. The claim in
 * conformance.ts ("conformant to P.862 Annex A test 2") stands only while this passes. One test file
 * per rate, so the two rates run side by side.
 */
export function describeAnnexATest2(rate: 8000 | 16000): void {
  describe(`ITU-T P.862 Annex A conformance test 2 (VoIP) at ${rate} Hz`, async () => {
    const rows = await runConformanceSet(rate);
    const summary = reportConformance(rate, rows);
    it("scores all 40 pairs", () => assert.equal(rows.length, 40));
    it("at most 1 of 40 pairs off by more than 0.05", () => {
      assert.ok(summary.over005 <= 1, `${summary.over005} pairs off by more than 0.05`);
    });
    it("no pair off by more than 0.5", () => {
      assert.equal(summary.over05, 0, `${summary.over05} pairs off by more than 0.5`);
    });
    it("states conformance in every narrowband result at this rate", () => {
      assert.equal(ANNEX_A_TEST_2[rate], ANNEX_A_TEST_2_STATEMENT);
      const dir = conformanceDir();
      const r = pesq(
        loadConformanceSignal(dir, rows[0]!.reference, rate),
        loadConformanceSignal(dir, rows[0]!.degraded, rate),
        rate,
      );
      assert.equal(r.conformance, ANNEX_A_TEST_2_STATEMENT);
      assert.equal(r.rawLabel, "P.862 raw");
      assert.equal(r.mosLqoLabel, "P.862.1 MOS-LQO");
    });
  });
}
