import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readWav } from "../../audio/index.ts";
import { writeSyntheticExperiment } from "../report/synthetic-experiment.ts";
import { clipsFromExperiment } from "./clip-sources.ts";

describe("listening clips from an experiment folder", () => {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-clips-${process.pid}-`));
  let seconds = 0;
  before(async () => {
    await writeSyntheticExperiment(dir, { lossPercents: [0, 3], pesq: false });
    const original = readWav(new Uint8Array(readFileSync(join(dir, "original.wav"))));
    seconds = original.channels[0]!.length / original.sampleRate;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("cuts every condition into clips of about the asked length at the same instants", () => {
    const set = clipsFromExperiment(dir, { clipSeconds: 2 });
    const byCondition = new Map<string, number[]>();
    for (const clip of set.clips) {
      const audio = readWav(new Uint8Array(readFileSync(clip.file)));
      byCondition.set(clip.condition, [...(byCondition.get(clip.condition) ?? []), audio.channels[0]!.length / 8000]);
    }
    assert.deepEqual([...byCondition.keys()], ["original", "loss-0", "loss-3"]);
    const lengths = byCondition.get("original")!;
    // Clips of 2 s; the last one takes a remainder shorter than 1 s.
    assert.equal(lengths.length, Math.max(1, Math.round(seconds / 2 - 0.0001)));
    for (const l of lengths.slice(0, -1)) assert.equal(l, 2);
    assert.ok(lengths.at(-1)! >= 1 && lengths.at(-1)! < 3, `last clip ${lengths.at(-1)} s`);
    for (const [, l] of byCondition) assert.deepEqual(l, lengths);
    assert.match(set.clips[0]!.name, /^original\/clip01$/);
  });

  it("0 keeps whole files", () => {
    const set = clipsFromExperiment(dir, { clipSeconds: 0 });
    assert.deepEqual(
      set.clips.map((c) => c.name),
      ["original/reference", "loss-0/received", "loss-3/received"],
    );
  });
});
