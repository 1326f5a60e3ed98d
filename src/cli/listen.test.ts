import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeSyntheticExperiment } from "../quality/report/index.ts";
import { runQoelab } from "./test-support/run-qoelab.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-cli-listen-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

const qoelab = (args: string[]) => runQoelab(args, { timeout: 120_000 });

describe("qoelab listen stats", () => {
  it("prints per condition n, mos, std, ci95 that agree with scipy to 1e-4", () => {
    const lines = ["rater,condition,clip,score"];
    let x = 12345;
    const groups: Record<string, number[]> = {};
    for (const [i, condition] of ["orig", "loss-1", "loss-5"].entries()) {
      for (let r = 0; r < 9 + 4 * i; r++) {
        x = (x * 1103515245 + 12345) % 2147483648;
        const score = 1 + (Math.floor(x / 65536) % 5);
        lines.push(`rater${r},${condition},${condition}/a,${score}`);
        groups[condition] = [...(groups[condition] ?? []), score];
      }
    }
    const file = join(work, "ratings.csv");
    writeFileSync(file, `${lines.join("\n")}\n`);
    const run = qoelab(["listen", "stats", file, "--json", "--keep-outliers"]);
    assert.equal(run.status, 0, run.stderr);
    const ours = JSON.parse(run.stdout) as {
      conditions: Array<{ condition: string; n: number; mos: number; std: number; ci95: number }>;
    };
    const py = spawnSync(
      "python3",
      [
        "-c",
        `import json,sys,math
import numpy as np
from scipy.stats import t
out={}
for k,v in json.load(sys.stdin).items():
    a=np.array(v,dtype=float); n=len(a); s=a.std(ddof=1)
    out[k]=[n, a.mean(), s, t.ppf(0.975,n-1)*s/math.sqrt(n)]
print(json.dumps(out))`,
      ],
      { input: JSON.stringify(groups), encoding: "utf8" },
    );
    assert.equal(py.status, 0, `python3/scipy: ${py.stderr}`);
    const want = JSON.parse(py.stdout) as Record<string, [number, number, number, number]>;
    assert.deepEqual(
      ours.conditions.map((c) => c.condition),
      ["orig", "loss-1", "loss-5"].sort((a, b) => a.localeCompare(b, "en", { numeric: true })),
    );
    for (const c of ours.conditions) {
      const [n, mos, std, ci95] = want[c.condition]!;
      assert.equal(c.n, n);
      assert.ok(
        Math.abs(c.mos - mos) < 1e-4 && Math.abs(c.std - std) < 1e-4 && Math.abs(c.ci95 - ci95) < 1e-4,
        JSON.stringify({ c, want: want[c.condition] }),
      );
    }
  });

  it("exits non-zero naming the line of a score off the scale", () => {
    const file = join(work, "bad.csv");
    writeFileSync(file, "rater,condition,clip,score\na,c,x,4\nb,c,x,7\n");
    const run = qoelab(["listen", "stats", file]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /bad\.csv: line 3: score: "7" is not on the ACR scale .*\[LISTEN_BAD_SCORE\]/);
  });
});

describe("qoelab report", () => {
  it("writes report.html and SVG/PNG figures for an experiment folder", async () => {
    const dir = join(work, "exp");
    await writeSyntheticExperiment(dir, { lossPercents: [0, 10], pesq: false, simulatedRaters: 4 });
    const run = qoelab(["report", dir, "--json"]);
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout) as { html: string; figures: string[] };
    assert.ok(existsSync(out.html));
    assert.ok(out.figures.some((f) => f.endsWith("mos-vs-loss.png")));
    const missing = qoelab(["report", join(work, "nowhere")]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /EXPERIMENT_NOT_FOUND/);
  });
});
