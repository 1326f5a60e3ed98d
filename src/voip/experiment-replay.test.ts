import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { labStatus } from "../netlab/index.ts";
import { readExperimentFolder } from "../quality/report/index.ts";
import { extractRtpAudio } from "./rtp-extract.ts";
import { experimentRun } from "./test-support/experiment-run.ts";

const FIXTURE = "test-data/sip/baresip-call.pcap";

describe("experiment voip --replay (a recorded call re-sent across the lab at each loss level)", () => {
  // Asked for, the replayer drops (generator side, seeded); the link only forwards.
  const run = experimentRun("experiment-replay", `xr${process.pid % 100000}`, () => ({
    replay: FIXTURE,
    lossPercents: [0, 5],
    seed: 9,
    impairBackend: "replayer",
    pesq: false,
  }));

  test("the folder validates; the reference is the recorded caller stream; the lab is gone", async () => {
    const folder = readExperimentFolder(run.result.dir);
    assert.equal(run.result.experiment.mode, "replay");
    assert.match(run.result.experiment.replayOf?.description ?? "", /^SSRC 0x[0-9a-f]{8} 10\.77\.0\.1:/);
    assert.equal(folder.experiment.conditions.length, 2);
    assert.deepEqual(await labStatus(run.lab), []);
  });

  test("the seeded replayer's drops are exactly the gaps in the extracted audio; lossless is complete", async () => {
    const [clean, lossy] = run.result.experiment.conditions as [
      (typeof run.result.experiment.conditions)[0],
      (typeof run.result.experiment.conditions)[0],
    ];
    assert.equal(clean.realizedLossPercent, 0);
    assert.match(lossy.lossBackend, /replayer \(generator-side, seed 9\)/);
    assert.equal(lossy.seededLoss, true);
    const dropped = lossy.droppedByGenerator ?? [];
    assert.ok(dropped.length > 0);
    const extracted = await extractRtpAudio(join(run.result.dir, lossy.capture!));
    // Drops before the first or after the last delivered packet leave no gap; all others are gaps.
    const lost = extracted.lostSequences;
    const at = dropped.indexOf(lost[0]!);
    assert.ok(at >= 0 && at <= 2, `first gap ${lost[0]} is drop #${at}`);
    assert.deepEqual(dropped.slice(at, at + lost.length), lost);
    assert.ok(dropped.length - lost.length <= 3, `${dropped.length} dropped, ${lost.length} gaps`);
    assert.ok(clean.emodel!.mos > lossy.emodel!.mos);
    const original = await extractRtpAudio(FIXTURE, { ssrc: run.result.experiment.replayOf!.ssrc });
    const replayed = await extractRtpAudio(join(run.result.dir, clean.capture!));
    assert.deepEqual(replayed.samples, original.samples, "the lossless replay carries the recorded audio unchanged");
  });
});
