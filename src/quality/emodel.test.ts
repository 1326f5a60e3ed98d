import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QoelabError } from "../errors.ts";
import { burstRatio, callQuality, codecImpairment, type EModelResult, eModel, rClampNote, rToMos } from "./emodel.ts";

function near(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} vs ${expected}`);
}

/** Each named term of `result` within 1e-4 of its hand-computed value (4 decimals below). */
function nearTerms(result: EModelResult, expected: Partial<Record<keyof EModelResult, number>>, what = ""): void {
  for (const [term, value] of Object.entries(expected)) {
    near(result[term as keyof EModelResult] as number, value, 1e-4, `${term}${what}`);
  }
}

/*
 * Hand computations from G.107 (06/2015) equations with Table 3 defaults
 * (SLR 8, RLR 2, STMR 15, LSTR 18, Ds 3, TELR 65, WEPL 110, qdu 1, Nc −70, Ps = Pr = 35, Nfor −64):
 *   OLR = 10; Nfo = Nfor + RLR = −62
 *   Pre = 35 + 10·log10(1 + 10^(−0.8)) = 35.6357
 *   Nor = 2 − 121 + 35.6357 + 0.008·0.6357² = −83.3611
 *   Nos = 35 − 8 − 3 − 100 + 0.004·(35 − 10 − 3 − 14)² = −75.744
 *   No  = 10·log10(10^−7 + 10^−7.5744 + 10^−8.3361 + 10^−6.2) = −61.1792
 *   Ro  = 15 − 1.5·(8 − 61.1792) = 94.7688
 *   Xolr = 10 + 0.2·(64 − 61.1792 − 2) = 10.1642;  Iolr = 20·((1 + (Xolr/8)^8)^(1/8) − Xolr/8) = 0.4402
 *   STMRo = −10·log10(10^−1.5 + e^0·10^−6.5) = 15.0000;  Ist = −0.0007
 *   Q = 37, G = 1.07 + 0.258·37 + 0.0602·37² = 92.9478;  Y = −0.0487 + 5.4762 − 10.3275 = −4.9001 …
 *   Iq = 15·log10(1 + 10^Y + 10^Z), Z = 1.5333 − 2.3237 = −0.7904  →  Iq = 0.9741
 *   Is = 0.4402 − 0.0007 + 0.9741 = 1.4136
 *   T = Tr = Ta = 0: Idte = 0 (factor 1 − e^0), Rle = 10.5·117·1 = 1228.5,
 *   Idle = (94.7688 − 1228.5)/2 + sqrt((94.7688 − 1228.5)²/4 + 169) = 0.1490, Idd = 0
 *   R = 94.7688 − 1.4136 − 0.1490 = 93.2062 (G.107: "R = 93.2"), MOS = 4.4094
 */
describe("E-model (G.107)", () => {
  it("gives R = 93.2 with all defaults, and each term as computed by hand", () => {
    const r = eModel();
    nearTerms(r, {
      Ro: 94.7688,
      Iolr: 0.4402,
      Ist: -0.0007,
      Iq: 0.9741,
      Is: 1.4136,
      Idle: 0.149,
      R: 93.2062,
      mos: 4.4094,
    });
    assert.equal(r.Idte, 0);
    assert.equal(r.Idd, 0);
    assert.equal(Math.round(r.R * 10) / 10, 93.2);
  });

  /*
   * G.711, no loss, 150 ms one-way (Ta = T = 150, Tr = 300: no 4-wire loop, G.107 practice):
   *   TERV = 65 − 40·log10((1 + 15)/(1 + 1)) + 6·e^(−0.3·150²) = 65 − 40·log10(8) = 28.8764
   *   Re = 80 + 2.5·(28.8764 − 14) = 117.1910;  Roe = −1.5·(No − RLR) = 94.7688
   *   Idte = ((94.7688 − 117.191)/2 + sqrt((−22.4222)²/4 + 100) − 1)·(1 − e^−150) = 2.8118
   *   Rle = 10.5·117·301^−0.25 = 294.9399;  Idle = (94.7688 − 294.9399)/2 + sqrt(200.1711²/4 + 169) = 0.8407
   *   X = log10(150/100)/log10(2) = 0.5850;  Idd = 25·((1 + X⁶)^(1/6) − 3·(1 + (X/3)⁶)^(1/6) + 2) = 0.1635
   *   R = 94.7688 − 1.4136 − (2.8118 + 0.8407 + 0.1635) = 89.5391, MOS = 4.3275
   */
  it("G.711 without loss at 150 ms one-way delay", () => {
    const r = callQuality({ codec: "g711", plc: true, lossPercent: 0, oneWayDelayMs: 150 });
    nearTerms(r, { Idte: 2.8118, Idle: 0.8407, Idd: 0.1635, R: 89.5391, mos: 4.3275 });
  });

  /*
   * 1 % random loss, G.711 with Appendix I PLC (G.113 App. I: Ie = 0, Bpl = 25.1), no delay:
   *   Ie,eff = 0 + 95·1/(1/1 + 25.1) = 95/26.1 = 3.6398;  R = 93.2062 − 3.6398 = 89.5664, MOS 4.3282
   * Same loss without PLC (Bpl = 4.3): Ie,eff = 95/5.3 = 17.9245;  R = 75.2817, MOS 3.8339
   */
  it("1 % random loss with and without PLC", () => {
    const plc = callQuality({ codec: "pcmu", plc: true, lossPercent: 1, oneWayDelayMs: 0 });
    nearTerms(plc, { IeEff: 3.6398, R: 89.5664, mos: 4.3282 }, " PLC");
    const none = callQuality({ codec: "pcma", plc: false, lossPercent: 1, oneWayDelayMs: 0 });
    nearTerms(none, { IeEff: 17.9245, R: 75.2817, mos: 3.8339 }, " no PLC");
  });

  /*
   * Bursty loss, BurstR = 2, 2 % loss, PLC: Ie,eff = 95·2/(2/2 + 25.1) = 190/26.1 = 7.2797,
   *   R = 93.2062 − 7.2797 = 85.9265, MOS 4.2269.
   * 3 %, BurstR 2, PLC, 150 ms: Ie,eff = 285/26.6 = 10.7143, R = 89.5391 − 10.7143 = 78.8248, MOS 3.9788.
   */
  it("bursty loss (BurstR = 2)", () => {
    const a = callQuality({ codec: "g711", plc: true, lossPercent: 2, burstRatio: 2, oneWayDelayMs: 0 });
    nearTerms(a, { IeEff: 7.2797, R: 85.9265, mos: 4.2269 });
    const b = callQuality({ codec: "g711", plc: true, lossPercent: 3, burstRatio: 2, oneWayDelayMs: 150 });
    nearTerms(b, { R: 78.8248, mos: 3.9788 });
  });

  /*
   * 400 ms: X = log2(4) = 2, Idd = 25·((1 + 64)^(1/6) − 3·(1 + (2/3)⁶)^(1/6) + 2) = 24.0701,
   * Idte = 5.8082, Idle = 1.2301 → R = 94.7688 − 1.4136 − 31.1084 = 62.2468.
   */
  it("long delay (400 ms) through Idd", () => {
    const r = callQuality({ codec: "g711", plc: true, lossPercent: 0, oneWayDelayMs: 400 });
    nearTerms(r, { Idd: 24.0701, R: 62.2468 });
  });

  it("maps R to MOS per Annex B, clipped at both ends", () => {
    assert.equal(rToMos(-5), 1);
    assert.equal(rToMos(0), 1);
    assert.equal(rToMos(120), 4.5);
    near(rToMos(100), 4.5, 1e-12, "R 100");
    near(rToMos(50), 1 + 1.75 + 50 * -10 * 50 * 7e-6, 1e-12, "R 50");
  });

  /*
   * G.107's R runs from 0 to 100; the sum of the terms can leave that range. 91.5 % loss in long
   * bursts (BurstR 100), no PLC: Ie,eff = 95·91.5/(91.5/100 + 4.3) = 8692.5/5.215 = 1666.8265,
   * R computed = 93.2062 − 1666.8265 = −1573.6203 → shown as 0, MOS 1 (Annex B: R < 0 → 1).
   * A = 20 (G.107's largest advantage factor): 93.2062 + 20 = 113.2062 → 100, MOS 4.5.
   */
  it("clamps R to G.107's 0–100 scale, keeps the computed sum and says so", () => {
    const low = callQuality({ codec: "g711", plc: false, lossPercent: 91.5, burstRatio: 100, oneWayDelayMs: 0 });
    nearTerms(low, { IeEff: 1666.8265, Rcomputed: -1573.6203 });
    assert.equal(low.R, 0);
    assert.equal(low.mos, 1);
    assert.equal(rClampNote(low), "R computed -1573.6, below G.107's 0–100 scale: shown as 0");
    const high = eModel({ A: 20 });
    nearTerms(high, { Rcomputed: 113.2062 });
    assert.equal(high.R, 100);
    assert.equal(high.mos, 4.5);
    assert.match(rClampNote(high), /above G\.107's 0–100 scale: shown as 100$/);
    const inRange = eModel();
    assert.equal(inRange.R, inRange.Rcomputed);
    assert.equal(rClampNote(inRange), "");
  });

  it("fits BurstR = 1/(p + q) to loss transitions", () => {
    // 1000 packets, 10 isolated losses: p = 10/990, q = 10/10 → BurstR = 1/(1.0101) ≈ 0.99 → 1 (random).
    assert.equal(burstRatio(10, 990, 10, 10), 1);
    // 5 bursts of 4 in 1000: p = 5/980, q = 5/20 → 1/(0.005102 + 0.25) = 3.92.
    near(burstRatio(5, 980, 5, 20), 1 / (5 / 980 + 5 / 20), 1e-12, "BurstR");
    assert.equal(burstRatio(0, 1000, 0, 0), 1);
  });

  it("refuses unknown codecs and impossible parameters with coded errors", () => {
    assert.throws(
      () => codecImpairment("opus", true),
      (e: unknown) => e instanceof QoelabError && e.code === "EMODEL_UNKNOWN_CODEC" && /opus/.test(e.message),
    );
    assert.throws(
      () => eModel({ Ppl: 120 }),
      (e: unknown) => e instanceof QoelabError && e.code === "EMODEL_BAD_PARAMETER",
    );
    assert.throws(
      () => eModel({ BurstR: 0.5 }),
      (e: unknown) => e instanceof QoelabError && e.code === "EMODEL_BAD_PARAMETER",
    );
    assert.throws(
      () => eModel({ Ta: Number.NaN }),
      (e: unknown) => e instanceof QoelabError && e.code === "EMODEL_BAD_PARAMETER",
    );
  });
});
