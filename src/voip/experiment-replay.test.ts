import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { labDown, labStatus } from "../netlab/index.ts";
import { readExperimentFolder } from "../quality/report/index.ts";
import { runVoipExperiment, type VoipExperimentResult } from "./experiment.ts";
import { extractRtpAudio } from "./rtp-extract.ts";

const FIXTURE = "test-data/sip/baresip-call.pcap";

describe("experiment voip --replay (a recorded call re-sent across the lab at each loss level)", () => {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-experiment-replay-${process.pid}-`));
  const lab = `xr${process.pid % 100000}`;
  let result: VoipExperimentResult;
  before(async () => {
    // Asked for, the replayer drops (generator side, seeded); the link only forwards.
    result = await runVoipExperiment({
      replay: FIXTURE,
      lossPercents: [0, 5],
      seed: 9,
      impairBackend: "replayer",
      pesq: false,
      out: join(dir, "out"),
      lab,
    });
  });
  after(async () => {
    await labDown(lab).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the folder validates; the reference is the recorded caller stream; the lab is gone", async () => {
    const folder = readExperimentFolder(result.dir);
    assert.equal(result.experiment.mode, "replay");
    assert.match(result.experiment.replayOf?.description ?? "", /^SSRC 0x[0-9a-f]{8} 10\.77\.0\.1:/);
    assert.equal(folder.experiment.conditions.length, 2);
    assert.deepEqual(await labStatus(lab), []);
  });

  test("the seeded replayer's drops are exactly the gaps in the extracted audio; lossless is complete", async () => {
    const [clean, lossy] = result.experiment.conditions as [
      (typeof result.experiment.conditions)[0],
      (typeof result.experiment.conditions)[0],
    ];
    assert.equal(clean.realizedLossPercent, 0);
    assert.match(lossy.lossBackend, /replayer \(generator-side, seed 9\)/);
    assert.equal(lossy.seededLoss, true);
    const dropped = lossy.droppedByGenerator ?? [];
    assert.ok(dropped.length > 0);
    const extracted = await extractRtpAudio(join(result.dir, lossy.capture!));
    // Drops before the first or after the last delivered packet leave no gap; all others are gaps.
    const lost = extracted.lostSequences;
    const at = dropped.indexOf(lost[0]!);
    assert.ok(at >= 0 && at <= 2, `first gap ${lost[0]} is drop #${at}`);
    assert.deepEqual(dropped.slice(at, at + lost.length), lost);
    assert.ok(dropped.length - lost.length <= 3, `${dropped.length} dropped, ${lost.length} gaps`);
    assert.ok(clean.emodel!.mos > lossy.emodel!.mos);
    const original = await extractRtpAudio(FIXTURE, { ssrc: result.experiment.replayOf!.ssrc });
    const replayed = await extractRtpAudio(join(result.dir, clean.capture!));
    assert.deepEqual(replayed.samples, original.samples, "the lossless replay carries the recorded audio unchanged");
  });
});
