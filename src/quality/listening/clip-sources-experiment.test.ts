import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readWav } from "../../audio/index.ts";
import { openTestDb } from "../../db/test-support/test-db.ts";
import { writeSyntheticExperiment } from "../report/synthetic-experiment.ts";
import { clipsFromExperiment } from "./clip-sources.ts";
import { createListeningTest, getListeningAudio, listClips } from "./test-store.ts";

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

  it("a DCR clip's reference is the original over the same instants, not the whole call", async () => {
    const set = clipsFromExperiment(dir, { clipSeconds: 2 });
    const originals = set.clips.filter((c) => c.condition === "original").map((c) => c.file);
    for (const clip of set.clips) {
      const k = Number(/clip(\d+)$/.exec(clip.name)?.[1]) - 1;
      assert.equal(clip.reference, originals[k], clip.name);
    }
    const db = await openTestDb("pglite");
    try {
      const test = await createListeningTest(db, {
        name: "dcr clips",
        method: "dcr",
        clips: set,
        seed: 3,
        hearingDigits: "583",
      });
      const stored = await listClips(db, test.id);
      const clipSeconds = async (sha: string | null) => {
        const wav = readWav(await getListeningAudio(db, sha ?? ""));
        return wav.channels[0]!.length / wav.sampleRate;
      };
      for (const clip of stored.filter((c) => c.kind === "test" || c.kind === "gold")) {
        const [audioS, referenceS] = [await clipSeconds(clip.audioSha256), await clipSeconds(clip.referenceSha256)];
        assert.equal(referenceS, audioS, `${clip.name}: its reference lasts as long as it`);
        assert.ok(referenceS < seconds, `${clip.name}: a clip's reference, not the whole ${seconds} s call`);
      }
    } finally {
      await db.drop();
    }
  });

  it("0 keeps whole files", () => {
    const set = clipsFromExperiment(dir, { clipSeconds: 0 });
    assert.deepEqual(
      set.clips.map((c) => c.name),
      ["original/reference", "loss-0/received", "loss-3/received"],
    );
  });
});
