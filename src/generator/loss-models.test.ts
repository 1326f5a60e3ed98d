import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { createLossModel, parseLossModel, parseProbability } from "./loss-models.ts";
import { drawDelay, Random } from "./random.ts";

/** 99 % two-sided interval of a binomial count (normal approximation; fine for n·p ≥ 50). */
function binomial99(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [n * p - 2.576 * sd, n * p + 2.576 * sd];
}

describe("Random", () => {
  it("is reproducible per seed and differs between seeds", () => {
    const a = new Random(42);
    const b = new Random(42);
    const c = new Random(43);
    const sa = Array.from({ length: 8 }, () => a.nextU32());
    const sb = Array.from({ length: 8 }, () => b.nextU32());
    const sc = Array.from({ length: 8 }, () => c.nextU32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
    assert.ok(sa.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32));
  });

  it("draws uniform, normal, exponential and pareto with the right moments", () => {
    const rng = new Random(7);
    const n = 200_000;
    let su = 0;
    let sn = 0;
    let sn2 = 0;
    let se = 0;
    let sp = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      assert.ok(u >= 0 && u < 1);
      su += u;
      const z = rng.normal(10, 2);
      sn += z;
      sn2 += (z - 10) ** 2;
      se += rng.exponential(5);
      sp += rng.pareto(1, 3);
    }
    assert.ok(Math.abs(su / n - 0.5) < 0.005);
    assert.ok(Math.abs(sn / n - 10) < 0.03);
    assert.ok(Math.abs(Math.sqrt(sn2 / n) - 2) < 0.03);
    assert.ok(Math.abs(se / n - 5) < 0.08);
    assert.ok(Math.abs(sp / n - 1.5) < 0.03);
  });

  it("shapes delays around the mean with the asked spread", () => {
    for (const dist of ["uniform", "normal", "pareto", "paretonormal"] as const) {
      const rng = new Random(3);
      const n = 100_000;
      let sum = 0;
      let min = Number.POSITIVE_INFINITY;
      for (let i = 0; i < n; i++) {
        const d = drawDelay(rng, dist, 40, 5);
        sum += d;
        min = Math.min(min, d);
      }
      assert.ok(Math.abs(sum / n - 40) < 0.2, `${dist} mean ${sum / n}`);
      assert.ok(min >= 0);
    }
  });
});

describe("loss models", () => {
  it("Bernoulli: realized loss inside the 99 % binomial interval, same seed same drops", () => {
    const n = 100_000;
    const p = 0.01;
    const model = createLossModel({ kind: "bernoulli", p }, new Random(1));
    let lost = 0;
    for (let i = 0; i < n; i++) if (model.lose()) lost++;
    const [lo, hi] = binomial99(n, p);
    assert.ok(lost >= lo && lost <= hi, `lost ${lost} not in [${lo}, ${hi}]`);
    const again = createLossModel({ kind: "bernoulli", p }, new Random(1));
    const replay = createLossModel({ kind: "bernoulli", p }, new Random(1));
    for (let i = 0; i < 10_000; i++) assert.equal(again.lose(), replay.lose());
  });

  it("Gilbert–Elliott: long-run loss and mean burst length match p and r", () => {
    const spec = parseLossModel("gilbert:1%,25%", undefined);
    assert.deepEqual(spec, { kind: "gilbert", p: 0.01, r: 0.25, lossGood: 0, lossBad: 1 });
    const model = createLossModel(spec, new Random(11));
    const n = 1_000_000;
    let lost = 0;
    let bursts = 0;
    let prev = false;
    for (let i = 0; i < n; i++) {
      const l = model.lose();
      if (l) lost++;
      if (l && !prev) bursts++;
      prev = l;
    }
    const expected = model.stationaryLoss();
    assert.ok(Math.abs(expected - 0.01 / 0.26) < 1e-12);
    assert.ok(Math.abs(lost / n - expected) < 0.003, `loss ${lost / n} vs ${expected}`);
    // Bursts are geometric with mean 1/r = 4.
    assert.ok(Math.abs(lost / bursts - 4) < 0.15, `mean burst ${lost / bursts}`);
  });

  it("4-state Markov: p13 alone is Bernoulli; full model matches its stationary loss", () => {
    const simple = parseLossModel("state:2%", undefined);
    assert.equal(createLossModel(simple, new Random(1)).stationaryLoss().toFixed(6), "0.020000");
    const full = parseLossModel("state:1%,30%,10%,5%,0.5%", undefined);
    const model = createLossModel(full, new Random(5));
    const n = 1_000_000;
    let lost = 0;
    for (let i = 0; i < n; i++) if (model.lose()) lost++;
    assert.ok(Math.abs(lost / n - model.stationaryLoss()) < 0.003);
  });

  it("rejects bad values with coded errors", () => {
    const coded = (code: string) => (e: unknown) => isQoelabError(e) && e.code === code;
    for (const text of ["150%", "-1"]) {
      assert.throws(() => parseProbability(text, "--loss"), coded("GEN_BAD_PROBABILITY"), text);
    }
    const badModels: [string, number | undefined][] = [
      ["markovian:1", 0.01],
      ["gilbert:1%", undefined],
      ["gilbert:1%,25%", 0.2],
      ["state:60%,50%,60%", undefined],
    ];
    for (const [text, loss] of badModels) {
      assert.throws(() => parseLossModel(text, loss), coded("GEN_BAD_LOSS_MODEL"), `${text} with loss ${loss}`);
    }
  });
});
