import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { seededRandom } from "./order.ts";
import { formatRatingsCsv, parseRatingsCsv } from "./ratings-csv.ts";
import { analyzeRatings, type Rating } from "./screening.ts";
import { summarizeScores } from "./statistics.ts";
import { studentTQuantile } from "./student-t.ts";

/** Runs python3 with scipy (Debian's python3-scipy) on a JSON input; fails loudly if missing. */
function scipy(script: string, input: unknown): unknown {
  const result = spawnSync("python3", ["-c", script], { input: JSON.stringify(input), encoding: "utf8" });
  assert.equal(result.status, 0, `python3/scipy failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

describe("Student's t quantile", () => {
  it("matches scipy.stats.t.ppf to 1e-9 over many p and degrees of freedom", () => {
    const cases: Array<[number, number]> = [];
    for (const dof of [1, 2, 3, 4, 5, 7, 10, 15, 23, 30, 47, 100, 250, 1000, 0.5, 2.5])
      for (const p of [0.5, 0.6, 0.9, 0.95, 0.975, 0.99, 0.995, 0.9995, 0.025, 0.001]) cases.push([p, dof]);
    const expected = scipy(
      "import json,sys\nfrom scipy.stats import t\nprint(json.dumps([t.ppf(p,v) for p,v in json.load(sys.stdin)]))",
      cases,
    ) as number[];
    cases.forEach(([p, dof], i) => {
      const ours = studentTQuantile(p, dof);
      const want = expected[i]!;
      assert.ok(
        Math.abs(ours - want) <= 1e-9 * Math.max(1, Math.abs(want)),
        `t.ppf(${p}, ${dof}): ${ours} vs scipy ${want}`,
      );
    });
  });
});

describe("listen stats against scipy", () => {
  it("per condition n, MOS, std (ddof=1) and 95 % CI agree with scipy to 1e-6", () => {
    const random = seededRandom(42);
    const ratings: Rating[] = [];
    const conditions = ["loss-0", "loss-1", "loss-3", "loss-10", "tiny"];
    conditions.forEach((condition, ci) => {
      const raters = condition === "tiny" ? 2 : 7 + ci * 5;
      for (let r = 0; r < raters; r++) {
        for (let clip = 0; clip < 3; clip++) {
          const score = Math.max(1, Math.min(5, Math.round(4.6 - ci * 0.8 + (random() - 0.5) * 3)));
          ratings.push({ rater: `r${r}`, condition, clip: `${condition}/c${clip}`, score });
        }
      }
    });
    const csv = formatRatingsCsv(ratings);
    const parsed = parseRatingsCsv(csv, "acr");
    const stats = analyzeRatings(parsed, { method: "acr", excludeOutliers: false });
    const groups = Object.fromEntries(
      conditions.map((c) => [c, parsed.filter((r) => r.condition === c).map((r) => r.score)]),
    );
    const expected = scipy(
      `import json,sys,math
import numpy as np
from scipy.stats import t
out={}
for k,v in json.load(sys.stdin).items():
    a=np.array(v,dtype=float); n=len(a); s=a.std(ddof=1)
    out[k]=dict(n=n, mos=a.mean(), std=s, ci95=t.ppf(0.975,n-1)*s/math.sqrt(n))
print(json.dumps(out))`,
      groups,
    ) as Record<string, { n: number; mos: number; std: number; ci95: number }>;
    assert.deepEqual(
      stats.all.conditions.map((c) => c.condition),
      ["loss-0", "loss-1", "loss-3", "loss-10", "tiny"],
    );
    for (const c of stats.all.conditions) {
      const want = expected[c.condition]!;
      assert.equal(c.n, want.n);
      assert.ok(Math.abs(c.mos - want.mos) < 1e-6, `${c.condition} mos ${c.mos} vs ${want.mos}`);
      assert.ok(Math.abs(c.std! - want.std) < 1e-6, `${c.condition} std ${c.std} vs ${want.std}`);
      assert.ok(Math.abs(c.ci95! - want.ci95) < 1e-6, `${c.condition} ci95 ${c.ci95} vs ${want.ci95}`);
    }
  });

  it("a single score has no std or CI", () => {
    assert.deepEqual(summarizeScores([4]), { n: 1, mos: 4, std: null, ci95: null });
  });
});

describe("rater screening", () => {
  const base = (rater: string, scores: number[]): Rating[] =>
    scores.map((score, i) => ({ rater, condition: `c${i}`, clip: `c${i}/a`, score }));
  it("excludes a failed trap or gold, flags an anti-correlated rater, and reports both result sets", () => {
    const ratings: Rating[] = [
      ...base("good1", [5, 4, 3, 2, 1]),
      ...base("good2", [5, 5, 3, 2, 1]),
      ...base("good3", [4, 4, 3, 1, 1]),
      ...base("contrarian", [1, 2, 3, 4, 5]),
      ...base("trapfail", [5, 4, 3, 2, 1]),
      { rater: "trapfail", condition: "trap", clip: "trap-1", score: 4, kind: "trap", expected: 2, tolerance: 0 },
      { rater: "good1", condition: "trap", clip: "trap-1", score: 2, kind: "trap", expected: 2, tolerance: 0 },
      { rater: "good2", condition: "gold", clip: "gold-1", score: 4, kind: "gold", expected: 5, tolerance: 1 },
      ...base("goldfail", [5, 4, 3, 2, 2]),
      { rater: "goldfail", condition: "gold", clip: "gold-1", score: 2, kind: "gold", expected: 5, tolerance: 1 },
    ];
    const stats = analyzeRatings(ratings, { method: "acr" });
    const by = Object.fromEntries(stats.raters.map((r) => [r.rater, r]));
    assert.equal(by.trapfail!.excluded, true);
    assert.equal(by.trapfail!.trapsFailed, 1);
    assert.equal(by.goldfail!.excluded, true);
    assert.equal(by.good2!.excluded, false);
    assert.equal(by.contrarian!.outlier, true);
    assert.ok(by.contrarian!.correlation! < 0.25);
    assert.equal(by.good1!.outlier, false);
    assert.equal(stats.all.raters, 6);
    assert.equal(stats.screened.raters, 3);
    assert.equal(stats.screened.conditions[0]!.n, 3);
    assert.equal(stats.all.conditions[0]!.n, 6);
    const kept = analyzeRatings(ratings, { method: "acr", excludeOutliers: false });
    assert.equal(kept.screened.raters, 4);
  });

  it("rejects scores off the scale with the line named", () => {
    assert.throws(() => parseRatingsCsv("rater,condition,clip,score\na,c,x,6\n", "acr", "r.csv"), {
      code: "LISTEN_BAD_SCORE",
      message: /r\.csv: line 2: score: "6" is not on the ACR scale/,
    });
    assert.throws(() => parseRatingsCsv("rater,clip,score\n", "acr", "r.csv"), { code: "LISTEN_CSV_BAD_HEADER" });
    assert.equal(parseRatingsCsv('rater,condition,clip,score\n"a, b",c,"x""y",-3\n', "ccr")[0]!.clip, 'x"y');
  });
});
