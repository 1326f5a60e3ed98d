import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isQoelabError } from "../errors.ts";
import { type LossModelSpec, parseLossModel } from "./loss-models.ts";
import { Random } from "./random.ts";
import { genUdp, intervalDrawer, parseIntervalDist } from "./udp-gen.ts";
import { startRecvUdp } from "./udp-recv.ts";
import { parsePacketRate, parseRate, parseTime } from "./units.ts";

function binomial99(n: number, p: number): [number, number] {
  const sd = Math.sqrt(n * p * (1 - p));
  return [n * p - 2.576 * sd, n * p + 2.576 * sd];
}

/** `count` 64-byte probes as fast as possible to the discard port (only the generator's own loss matters). */
const burstToDiscard = (count: number, seed: number, loss: LossModelSpec) =>
  genUdp({ host: "127.0.0.1", port: 9, rate: Number.POSITIVE_INFINITY, size: 64, count, seed, loss });

describe("gen udp → recv udp on loopback", () => {
  it("delivers every probe with sequence numbers and send times", async () => {
    const receiver = await startRecvUdp({ port: 0, bind: "127.0.0.1", count: 300 });
    const sent = await genUdp({ host: "127.0.0.1", port: receiver.port, rate: 1000, size: 172, count: 300, seed: 1 });
    const got = await receiver.done;
    assert.equal(sent.sent, 300);
    assert.equal(got.received, 300);
    assert.equal(got.lost, 0);
    assert.equal(got.duplicates, 0);
    assert.equal(got.reordered, 0);
    assert.equal(got.streamId, sent.streamId);
    assert.ok(got.oneWayDelayMs && got.oneWayDelayMs.min >= 0, "same boot → one-way delay available and causal");
    assert.equal(sent.timing.events, 300);
  });

  it("generator-side loss: realized loss inside the 99 % binomial interval; same seed drops the same packets", async () => {
    const n = 10_000;
    const p = 0.01;
    const loss = parseLossModel("bernoulli", p);
    const receiver = await startRecvUdp({ port: 0, bind: "127.0.0.1", expect: n, idleS: 1 });
    // 2 kpps: a receiver sharing this process's event loop keeps up, so only the model drops.
    const sent = await genUdp({
      host: "127.0.0.1",
      port: receiver.port,
      rate: 2000,
      size: 64,
      count: n,
      seed: 99,
      loss,
    });
    const got = await receiver.done;
    const [lo, hi] = binomial99(n, p);
    assert.ok(
      sent.droppedByModel >= lo && sent.droppedByModel <= hi,
      `dropped ${sent.droppedByModel} ∉ [${lo}, ${hi}]`,
    );
    assert.equal(got.lossPercent, (100 * sent.droppedByModel) / n);
    assert.deepEqual(got.lostSeqs, sent.droppedSeqs);
    // Same seed → same drops, whatever the rate; another seed → other drops.
    assert.deepEqual((await burstToDiscard(n, 99, loss)).droppedSeqs, sent.droppedSeqs);
    assert.notDeepEqual((await burstToDiscard(n, 100, loss)).droppedSeqs, sent.droppedSeqs);
  });

  it("Gilbert loss in the generator is bursty with the same seed reproducing it", async () => {
    const loss = parseLossModel("gilbert:2%,30%", undefined);
    const a = await burstToDiscard(20_000, 5, loss);
    const b = await burstToDiscard(20_000, 5, loss);
    assert.deepEqual(a.droppedSeqs, b.droppedSeqs);
    let bursts = 0;
    for (let i = 0; i < a.droppedSeqs.length; i++)
      if (i === 0 || a.droppedSeqs[i - 1] !== (a.droppedSeqs[i] as number) - 1) bursts++;
    assert.ok(a.droppedSeqs.length / bursts > 2, "mean burst of Gilbert(30 %) ≈ 3.3");
  });

  it("draws intervals with the asked distribution and mean", () => {
    for (const text of ["const", "uniform,0.5", "exp", "normal,0.1", "pareto,3", "uniform,2ms"]) {
      const draw = intervalDrawer(parseIntervalDist(text), 20, new Random(2));
      let sum = 0;
      for (let i = 0; i < 50_000; i++) sum += draw();
      assert.ok(Math.abs(sum / 50_000 - 20) < 0.4, `${text}: mean ${sum / 50_000}`);
    }
  });

  it("parses tc units and refuses bad values with coded errors", () => {
    assert.equal(parseRate("1mbit"), 1e6);
    assert.equal(parseRate("2mbps"), 16e6);
    assert.equal(parseRate("100"), 100);
    assert.equal(parseTime("40ms"), 0.04);
    assert.ok(Math.abs(parseTime("100") - 1e-4) < 1e-15);
    assert.equal(parsePacketRate("50pps", 200), 50);
    assert.equal(parsePacketRate("64kbit", 200), 40);
    for (const [fn, code] of [
      [() => parseRate("0"), "UNIT_BAD_RATE"],
      [() => parseRate("fast"), "UNIT_BAD_RATE"],
      [() => parseTime("3 fortnights"), "UNIT_BAD_TIME"],
      [() => parseIntervalDist("gamma"), "GEN_BAD_INTERVAL_DIST"],
    ] as const) {
      assert.throws(fn, (e) => isQoelabError(e) && e.code === code);
    }
  });

  it("refuses bad generator options", async () => {
    await assert.rejects(
      genUdp({ host: "127.0.0.1", port: 9, rate: 50, size: 10, count: 1 }),
      (e) => isQoelabError(e) && e.code === "GEN_BAD_SIZE",
    );
    await assert.rejects(
      genUdp({ host: "example.org", port: 9, rate: 50, size: 64, count: 1 }),
      (e) => isQoelabError(e) && e.code === "GEN_BAD_ADDRESS",
    );
    await assert.rejects(
      genUdp({ host: "127.0.0.1", port: 9, rate: 50, size: 64 }),
      (e) => isQoelabError(e) && e.code === "GEN_NO_LIMIT",
    );
  });
});
