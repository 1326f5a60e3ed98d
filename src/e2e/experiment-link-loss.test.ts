import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { writeFolderReport } from "../render/index.ts";
import { experimentRun } from "../voip/test-support/experiment-run.ts";

const FIXTURE = "test-data/sip/baresip-call.pcap";

/** RTP sequence numbers of one SSRC in a capture, as tshark decodes them (UDP port decoded as RTP). */
function tsharkSequences(pcap: string, ssrc: number, port: number): number[] {
  const r = spawnSync(
    "tshark",
    ["-r", pcap, "-d", `udp.port==${port},rtp`, "-Y", `rtp.ssrc == ${ssrc}`, "-T", "fields", "-e", "rtp.seq"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(Number);
}

describe("experiment voip --replay with the loss on the link (the seed lab's order)", () => {
  // No --impair-backend: the seeded link emulator on the router → server link drops.
  const run = experimentRun("experiment-link", `xl${process.pid % 100000}`, () => ({
    replay: FIXTURE,
    lossPercents: [5],
    seed: 4,
    pesq: false,
    writeReport: writeFolderReport,
  }));

  test("the lossless replay is the 0 % point; the loss is the emulator's, on the link", () => {
    assert.deepEqual(
      run.result.experiment.conditions.map((c) => c.id),
      ["loss-0", "loss-5"],
    );
    const [clean, lossy] = run.result.experiment.conditions as [
      (typeof run.result.experiment.conditions)[0],
      (typeof run.result.experiment.conditions)[0],
    ];
    assert.equal(run.result.experiment.impairBackend, "emulator");
    assert.equal(clean.lossBackend, "none");
    assert.match(
      lossy.lossBackend,
      /loss bernoulli:5% by userspace link emulator on the router–server link \(seed 4\)/,
    );
    assert.equal(lossy.seededLoss, true);
    assert.equal(lossy.droppedByGenerator, undefined);
    assert.ok(clean.emodel!.mos > lossy.emodel!.mos);
  });

  test("the achieved loss is the one measured on the receiving capture (tshark agrees)", () => {
    const ssrc = run.result.experiment.replayOf!.ssrc;
    for (const c of run.result.experiment.conditions) {
      const seqs = tsharkSequences(join(run.result.dir, c.capture!), ssrc, 40582);
      // The replay keeps the recorded sequence numbers; loss = expected − received between first and last.
      const expected = Math.max(...seqs) - Math.min(...seqs) + 1;
      assert.equal(c.achievedLoss.received, seqs.length);
      assert.equal(c.achievedLoss.expected, expected);
      assert.equal(c.achievedLoss.lost, expected - seqs.length);
      assert.equal(c.achievedLoss.percent, Number((((expected - seqs.length) / expected) * 100).toFixed(4)));
      assert.match(c.achievedLoss.measuredOn, new RegExp(`^call-${c.id}\\.pcap \\(captured in the server's namespace`));
    }
    const lossy = run.result.experiment.conditions[1]!;
    // 351 packets at 5 %: 17.5 expected drops; a seeded draw, so a wide band only rules out "no loss on the link".
    assert.ok(lossy.achievedLoss.lost >= 5 && lossy.achievedLoss.lost <= 35, `lost ${lossy.achievedLoss.lost}`);
    assert.equal(run.result.experiment.conditions[0]!.achievedLoss.lost, 0);
  });

  test("one reference for every condition, named in the report; every E-model value names its assumption", () => {
    assert.equal(run.result.experiment.reference, "original.wav");
    assert.match(
      run.result.experiment.referenceDescription ?? "",
      /extracted .* from the recorded call .*baresip-call\.pcap/,
    );
    const html = readFileSync(run.result.report!.html, "utf8");
    assert.match(html, /Reference original\.wav \(audio extracted .*\): every condition is scored against it/);
    for (const c of run.result.experiment.conditions) {
      assert.equal(c.emodel?.plc, false);
      assert.match(c.emodel?.assumption ?? "", /^PLC off: losses played as silence/);
    }
    // R and MOS cells of every condition carry it.
    assert.equal(html.match(/\(PLC off\)<\/span>/g)?.length, 2 * run.result.experiment.conditions.length);
  });
});
