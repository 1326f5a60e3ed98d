import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  heDataRate,
  heParameterNames,
  htDataRate,
  htMcsInfo,
  vhtBandwidth,
  vhtDataRate,
  vhtTableRate,
  vhtValid,
} from "./wifi-rates.ts";

/**
 * 802.11 rate tables (IEEE 802.11-2016 §19.5 HT, §21.5 VHT; 802.11ax §27.5 HE) as qoelab
 * computes them; radiotap.test.ts checks them against tshark on every parameter combination.
 */

const near = (actual: number | undefined, expected: number, digits = 1) => {
  assert.ok(actual !== undefined, `expected ${expected}, got undefined`);
  assert.equal(actual.toFixed(digits), expected.toFixed(digits));
};

describe("HT rates (§19.5)", () => {
  test("MCS 7: 65 Mb/s at 20 MHz, 72.2 with short GI; MCS 15 at 40 MHz short GI: 300; MCS 31: 600", () => {
    assert.equal(htDataRate(7, false, false), 65);
    near(htDataRate(7, false, true), 72.2);
    assert.equal(htDataRate(15, true, true), 300);
    assert.equal(htDataRate(31, true, true), 600);
    assert.equal(htDataRate(0, false, false), 6.5);
    assert.equal(htDataRate(77, true, true), undefined);
    assert.equal(htDataRate(-1, false, false), undefined);
  });

  test("streams implied by the index; unequal modulation 33–76 gives the standard's NDBPS at 20 MHz", () => {
    assert.deepEqual(
      [0, 7, 8, 15, 16, 24, 31, 32, 33, 38, 39, 52, 53, 76].map((m) => htMcsInfo(m)?.streams),
      [1, 1, 2, 2, 3, 4, 4, 1, 2, 2, 3, 3, 4, 4],
    );
    // Tables 19-30, 19-31, 19-32 (20 MHz, NDBPS), MCS 33 to 76.
    const ndbps = [
      156, 208, 260, 234, 312, 390, 208, 260, 260, 312, 364, 364, 416, 312, 390, 390, 468, 546, 546, 624, 260, 312, 364,
      312, 364, 416, 468, 416, 468, 520, 520, 572, 390, 468, 546, 468, 546, 624, 702, 624, 702, 780, 780, 858,
    ];
    assert.deepEqual(
      ndbps.map((_, i) => htMcsInfo(33 + i)!.ndbps20),
      ndbps,
    );
    assert.equal(htMcsInfo(38)!.modulation, "64-QAM+16-QAM 3/4");
    assert.equal(htDataRate(76, true, true), 495);
  });
});

describe("VHT rates (§21.5)", () => {
  test("MCS 9, 1 stream, 80 MHz, short GI: 433.3; 8 streams at 160 MHz: 6933.3", () => {
    near(vhtDataRate(9, 1, 80, true), 433.3);
    near(vhtDataRate(9, 8, 160, true), 6933.3);
    assert.equal(vhtDataRate(0, 1, 20, false), 6.5);
    assert.equal(vhtDataRate(7, 2, 40, false), 270);
  });

  test("the combinations the standard leaves out give no rate: 10 of 320", () => {
    assert.equal(vhtDataRate(9, 1, 20, false), undefined);
    assert.equal(vhtDataRate(9, 3, 20, false), 260);
    assert.equal(vhtDataRate(6, 3, 80, true), undefined);
    assert.equal(vhtDataRate(9, 6, 80, true), undefined);
    assert.equal(vhtDataRate(9, 3, 160, true), undefined);
    let invalid = 0;
    for (let mcs = 0; mcs <= 9; mcs++)
      for (let nss = 1; nss <= 8; nss++) for (const bw of [20, 40, 80, 160]) if (!vhtValid(mcs, nss, bw)) invalid++;
    assert.equal(invalid, 10);
    assert.equal(vhtValid(10, 1, 20), false);
    assert.equal(vhtValid(0, 9, 20), false);
    assert.equal(vhtValid(0, 1, 30), false);
  });

  test("tshark's radiotap per-user figure: the one-stream rate rounded to 0.1, times the streams", () => {
    assert.equal(vhtTableRate(9, 1, 80, true)!.toFixed(1), "433.3");
    assert.equal(vhtTableRate(9, 3, 20, false)!.toFixed(1), "260.1");
    assert.equal(vhtTableRate(0, 1, 80, false)!.toFixed(2), "29.30");
    assert.equal(vhtTableRate(10, 1, 80, false), undefined);
  });

  test("radiotap bandwidth codes: the channel width the PPDU occupies", () => {
    assert.deepEqual(
      Array.from({ length: 27 }, (_, code) => vhtBandwidth(code) ?? 0),
      [20, 40, 20, 20, 80, 40, 40, 20, 20, 20, 20, 160, 80, 80, 40, 40, 40, 40, 20, 20, 20, 20, 20, 20, 20, 20, 0],
    );
  });
});

describe("HE rates", () => {
  test("MCS 9, 2 streams, 80 MHz, 0.8 µs GI: 960.8; MCS 11, 8 streams, 160 MHz: 9607.8; a 26-tone RU: 0.8", () => {
    near(heDataRate(9, 2, 2, 0), 960.8);
    near(heDataRate(11, 8, 3, 0), 9607.8);
    near(heDataRate(0, 1, 4, 2), 0.8);
    near(heDataRate(7, 1, 0, 1), 81.3);
    assert.equal(heDataRate(9, 0, 2, 0), undefined);
    assert.equal(heDataRate(9, 1, 10, 0), undefined);
    assert.equal(heDataRate(9, 1, 2, 3), undefined);
    assert.equal(heDataRate(12, 1, 2, 0), undefined);
    assert.deepEqual(heParameterNames(11, 6, 2), { bwru: "106-tone RU", gi: "3.2 µs", modulation: "1024-QAM 5/6" });
  });
});
