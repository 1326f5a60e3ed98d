import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openTestDb, testDatabaseKinds } from "../../db/test-support/test-db.ts";
import { writeClipFolder } from "./clip-fixtures.ts";
import { clipsFromFolder } from "./clip-sources.ts";
import {
  listeningOverview,
  listeningRatings,
  raterSequence,
  raterState,
  submitHearingCheck,
  submitRating,
} from "./rater-workflow.ts";
import { formatRatingsCsv, parseRatingsCsv } from "./ratings-csv.ts";
import { createListeningTest, listClips } from "./test-store.ts";
import { createToneTest } from "./test-support/tone-test.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-listen-store-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

for (const kind of testDatabaseKinds()) {
  describe(`listening test store on ${kind}`, () => {
    let db: Awaited<ReturnType<typeof openTestDb>>;
    let testId = 0;
    before(async () => {
      db = await openTestDb(kind);
      const test = await createToneTest(db, join(work, `clips-${kind}`), {
        name: "store test",
        seed: 7,
        conditions: 4,
        clipsPerCondition: 1,
      });
      testId = test.id;
    });
    after(async () => db.drop());

    /** Rates everything the rater is shown; `answer` picks the score from the clip's stored kind. */
    async function complete(
      rater: string,
      answer: (clip: { kind: string; expectedScore: number | null }, index: number) => number,
    ) {
      const clips = new Map((await listClips(db, testId)).map((c) => [c.id, c]));
      let state = await submitHearingCheck(db, testId, rater, "5 8 3");
      assert.equal(state.passed, true);
      let i = 0;
      while (state.item) {
        const clip = clips.get(state.item.clipId)!;
        state = {
          ...(await submitRating(db, testId, rater, { clipId: clip.id, score: answer(clip, i++) })),
          passed: true,
        };
      }
      assert.equal(state.stage, "done");
    }

    it("stores the clips with hearing check, training, gold and trap, audio once per content", async () => {
      const clips = await listClips(db, testId);
      const kinds = clips.map((c) => c.kind).sort();
      assert.deepEqual(kinds, ["gold", "hearing", "test", "test", "test", "test", "training", "training", "trap"]);
      const [{ count }] = (await db.query<{ count: string }>("SELECT count(*) FROM listening_audio")) as [
        { count: string },
      ];
      const distinct = new Set(clips.map((c) => c.audioSha256)).size;
      assert.equal(Number(count), distinct);
      assert.ok(distinct < clips.length, "training and gold reuse stored audio");
    });

    it("gives raters different seeded orders, the same order again for the same rater", async () => {
      const test = { id: testId, seed: 7 } as Parameters<typeof raterSequence>[0];
      const clips = await listClips(db, testId);
      const a = raterSequence(test, clips, "alice").map((c) => c.id);
      const b = raterSequence(test, clips, "bob").map((c) => c.id);
      assert.notDeepEqual(a, b);
      assert.deepEqual(
        raterSequence(test, clips, "alice").map((c) => c.id),
        a,
      );
      assert.deepEqual([...a].sort(), [...b].sort());
    });

    it("walks hearing check → training → clips, refusing bad input and storing nothing twice", async () => {
      let state = await raterState(db, testId, "carol");
      assert.equal(state.stage, "hearing");
      const aTestClip = (await listClips(db, testId)).find((c) => c.kind === "test")!.id;
      await assert.rejects(submitRating(db, testId, "carol", { clipId: aTestClip, score: 3 }), {
        code: "LISTEN_WRONG_STAGE",
      });
      const wrong = await submitHearingCheck(db, testId, "carol", "111");
      assert.equal(wrong.passed, false);
      assert.equal(wrong.hearing?.attemptsLeft, 2);
      state = await submitHearingCheck(db, testId, "carol", "583");
      assert.equal(state.stage, "training");
      const first = state.item!.clipId;
      await assert.rejects(submitRating(db, testId, "carol", { clipId: first, score: 6 }), {
        code: "LISTEN_BAD_SCORE",
      });
      await assert.rejects(submitRating(db, testId, "carol", { clipId: first, score: 2.5 }), {
        code: "LISTEN_BAD_SCORE",
      });
      await submitRating(db, testId, "carol", { clipId: first, score: 4 });
      await assert.rejects(submitRating(db, testId, "carol", { clipId: first, score: 4 }), {
        code: "LISTEN_DUPLICATE_RATING",
      });
      await assert.rejects(submitRating(db, testId, "carol", { clipId: 999999, score: 4 }), {
        code: "LISTEN_CLIP_NOT_FOUND",
      });
      await assert.rejects(raterState(db, 999999, "carol"), { code: "LISTEN_TEST_NOT_FOUND" });
      await assert.rejects(raterState(db, testId, "bad id!"), { code: "LISTEN_BAD_RATER" });
      const rows = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM listening_rating g JOIN listening_rater r ON r.id = g.rater_id WHERE r.rater_key = 'carol'",
      );
      assert.equal(Number(rows[0]!.n), 1);
      // Resuming: the state is the server's, so a new page load continues at the second training clip.
      state = await raterState(db, testId, "carol");
      assert.equal(state.stage, "training");
      assert.equal(state.progress.trainingDone, 1);
      assert.notEqual(state.item!.clipId, first);
    });

    it("excludes a rater who failed the trap and reports results with and without exclusions", async () => {
      const honest = (clip: { kind: string; expectedScore: number | null }, i: number) =>
        clip.kind === "trap" || clip.kind === "gold" ? clip.expectedScore! : 1 + (i % 5);
      await complete("dave", honest);
      await complete("erin", honest);
      await complete("frank", (clip, i) => (clip.kind === "trap" ? 5 : honest(clip, i)));
      const overview = await listeningOverview(db, testId);
      const frank = overview.stats.raters.find((r) => r.rater === "frank")!;
      assert.equal(frank.excluded, true);
      assert.match(frank.reasons.join(), /trapping/);
      assert.equal(overview.stats.raters.find((r) => r.rater === "dave")!.trapsFailed, 0);
      assert.ok(overview.stats.all.raters > overview.stats.screened.raters);
      assert.equal(overview.raters.find((r) => r.rater === "dave")!.finishedAt !== null, true);
      const csv = formatRatingsCsv(await listeningRatings(db, testId));
      assert.match(csv.split("\n")[0]!, /^rater,condition,clip,score,time/);
      const back = parseRatingsCsv(csv, "acr");
      assert.ok(back.some((r) => r.rater === "frank" && r.kind === "trap"));
    });

    it("refuses a clip that is not audio, naming the file", async () => {
      const dir = join(work, `bad-${kind}`);
      writeClipFolder(dir, { conditions: 1 });
      writeFileSync(join(dir, "c0", "notes.wav"), "these are my notes, not audio\n");
      await assert.rejects(createListeningTest(db, { name: "bad", method: "acr", clips: clipsFromFolder(dir) }), {
        code: "LISTEN_CLIP_NOT_AUDIO",
        message: /notes\.wav: not a WAV audio file/,
      });
      const before = (await db.query<{ n: string }>("SELECT count(*) AS n FROM listening_test"))[0]!.n;
      assert.equal(Number(before), 1);
    });
  });
}
