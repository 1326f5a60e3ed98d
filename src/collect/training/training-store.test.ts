import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { openTestDb, testDatabaseKinds } from "../../db/test-support/test-db.ts";
import { QoelabError } from "../../errors.ts";
import { planSessionLimits } from "./session-plan.ts";
import { validateTrainingRequest } from "./training-request.ts";
import {
  claimNextSession,
  completeSession,
  createTraining,
  failSession,
  getTraining,
  impairmentOf,
  listSessions,
  trainingImpairment,
  trainingProgress,
} from "./training-store.ts";

test("limits are equally represented; the remainder goes to the first limits listed", () => {
  const plan = planSessionLimits(11, [0.25, 1, 2], 7);
  const count = (limit: number) => plan.filter((x) => x === limit).length;
  assert.deepEqual([count(0.25), count(1), count(2)], [4, 4, 3]);
  assert.deepEqual(plan, planSessionLimits(11, [0.25, 1, 2], 7), "same seed, same order");
  assert.notDeepEqual(plan, planSessionLimits(11, [0.25, 1, 2], 8), "another seed, another order");
});

test("every bad form field gets its own message", () => {
  const result = validateTrainingRequest({
    number_of_videos: "ten",
    session_duration: "2",
    bw_limitations: "0.25, abc",
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.match(result.errors.number_of_videos ?? "", /whole number/);
  assert.match(result.errors.session_duration ?? "", /between 5 and 3600/);
  assert.match(result.errors.bw_limitations ?? "", /"abc" is not a number/);
  const good = validateTrainingRequest({ number_of_videos: "6", session_duration: "60", bw_limitations: "0.25, 1, 2" });
  assert.ok(good.ok);
  if (good.ok) assert.deepEqual(good.value.bwLimitations, [0.25, 1, 2]);
  const dup = validateTrainingRequest({ number_of_videos: "6", session_duration: "60", bw_limitations: "1,1" });
  assert.ok(!dup.ok && /twice/.test(dup.errors.bw_limitations ?? ""));
});

for (const kind of testDatabaseKinds()) {
  describe(`training store on ${kind}`, () => {
    const opened = openTestDb(kind);
    after(async () => (await opened).drop());

    const request = (n: number) => {
      const v = validateTrainingRequest({
        number_of_videos: String(n),
        session_duration: "30",
        bw_limitations: "0.3, 1, 5",
        max_attempts: "2",
      });
      assert.ok(v.ok);
      return v.value;
    };

    test("a training is created with its sessions, claimed, completed and closed", async () => {
      const db = await opened;
      const training = await createTraining(db, request(3));
      const sessions = await listSessions(db, training.id);
      assert.equal(sessions.length, 3);
      assert.deepEqual(sessions.map((s) => s.bw_limitation).sort(), [0.3, 1, 5]);
      assert.ok(sessions.every((s) => s.status === -1));
      for (let i = 0; i < 3; i++) {
        const claimed = await claimNextSession(db, "w1", { trainingId: training.id });
        assert.ok(claimed);
        assert.equal(claimed.status, 0);
        assert.equal(claimed.position, i);
        await completeSession(db, claimed.id, {
          url: "http://x/v.m3u8",
          channel: "c",
          applicationData: { stalls: [] },
          networkData: { flows: [] },
          labels: { stalled: false },
          captureFile: null,
          captureSize: null,
        });
      }
      assert.equal(await claimNextSession(db, "w1", { trainingId: training.id }), null);
      const done = await getTraining(db, training.id);
      assert.equal(done.has_finished, true);
      assert.equal(done.state, "finished");
      const progress = await trainingProgress(db, done);
      assert.equal(progress.captured, 3);
    });

    test("two workers never take the same session; a failure is retried, bounded, reason kept", async () => {
      const db = await opened;
      const training = await createTraining(db, request(2));
      const [a, b] = await Promise.all([
        claimNextSession(db, "w1", { trainingId: training.id }),
        claimNextSession(db, "w2", { trainingId: training.id }),
      ]);
      assert.ok(a && b);
      assert.notEqual(a.id, b.id);
      await failSession(db, a.id, "browser died");
      const again = await claimNextSession(db, "w1", { trainingId: training.id });
      assert.equal(again?.id, a.id, "the failed session is retried");
      assert.equal(again?.attempts, 2);
      await failSession(db, a.id, "browser died again");
      await assert.rejects(
        completeSession(db, a.id, {
          url: null,
          channel: null,
          applicationData: {},
          networkData: {},
          labels: {},
          captureFile: null,
          captureSize: null,
        }),
        (e: unknown) => e instanceof QoelabError && e.code === "SESSION_NOT_CAPTURING",
      );
      const rows = await listSessions(db, training.id);
      assert.equal(rows.find((s) => s.id === a.id)?.error_reason, "browser died again");
      const progress = await trainingProgress(db, await getTraining(db, training.id));
      assert.equal(progress.failed, 1);
    });

    test("the worker leaves trainings driven by a person alone; a person's claim takes a training over", async () => {
      const db = await opened;
      const personal = await createTraining(db, { ...request(2), driver: "person" });
      assert.equal(personal.driver, "person");
      assert.equal(await claimNextSession(db, "worker", { trainingId: personal.id }), null);
      const mine = await claimNextSession(db, "someone", { trainingId: personal.id, driver: "person" });
      assert.equal(mine?.training_id, personal.id);
      const shared = await createTraining(db, request(2));
      const byWorker = await claimNextSession(db, "worker", { trainingId: shared.id });
      assert.equal(byWorker?.training_id, shared.id);
      const byPerson = await claimNextSession(db, "someone", { trainingId: shared.id, driver: "person" });
      assert.ok(byPerson && byPerson.id !== byWorker?.id);
      assert.equal((await getTraining(db, shared.id)).driver, "person");
      assert.equal(await claimNextSession(db, "worker", {}), null, "nothing left for the worker");
      await assert.rejects(
        claimNextSession(db, "someone", { driver: "person" }),
        (e: unknown) => e instanceof QoelabError && e.code === "COLLECT_BAD_CLAIM",
      );
    });

    if (kind === "postgres")
      test("a worker's claim racing a person's takeover waits for it and takes nothing of that training", async () => {
        const db = await opened;
        const training = await createTraining(db, request(2));
        let taken!: () => void;
        const tookOver = new Promise<void>((resolve) => {
          taken = resolve;
        });
        let release!: () => void;
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        // The person's takeover, held open (its row lock kept) while the worker claims.
        const takeover = db.transaction(async (tx) => {
          await tx.query("UPDATE training SET driver = 'person' WHERE id = $1", [training.id]);
          taken();
          await held;
        });
        await tookOver;
        let settled = false;
        const claim = claimNextSession(db, "racing-worker", { trainingId: training.id }).finally(() => {
          settled = true;
        });
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(settled, false, "the worker's claim waits for the takeover");
        release();
        await takeover;
        assert.equal(await claim, null);
        assert.ok((await listSessions(db, training.id)).every((s) => s.worker === null));
      });

    test("a late report of an earlier attempt never fails the retry another slot has claimed since", async () => {
      const db = await opened;
      const training = await createTraining(db, { ...request(1), maxAttempts: 3 });
      const first = await claimNextSession(db, "slot-a", { trainingId: training.id });
      assert.equal(first?.attempts, 1);
      await failSession(db, first!.id, "PLAYER_NEVER_PLAYED: attempt 1", 1);
      const second = await claimNextSession(db, "slot-b", { trainingId: training.id });
      assert.equal(second?.id, first!.id);
      assert.equal(second?.attempts, 2);
      // Slot a's player reports attempt 1's failure only now.
      await failSession(db, first!.id, "player: POST finish: 422", 1);
      const [row] = await listSessions(db, training.id);
      assert.deepEqual([row?.status, row?.worker, row?.error_reason], [0, "slot-b", "PLAYER_NEVER_PLAYED: attempt 1"]);
      await failSession(db, first!.id, "attempt 2 failed", 2);
      const [after2] = await listSessions(db, training.id);
      assert.deepEqual([after2?.status, after2?.error_reason], [-1, "attempt 2 failed"]);
    });

    test("a late fail leaves a stored session and a refused session's first reason alone", async () => {
      const db = await opened;
      const training = await createTraining(db, request(2));
      const stored = await claimNextSession(db, "w1", { trainingId: training.id });
      const refused = await claimNextSession(db, "w1", { trainingId: training.id });
      assert.ok(stored && refused);
      const result = {
        url: "http://10.77.0.2:8080/testcard/master.m3u8",
        channel: "testcard",
        applicationData: { startupTime: 0.5 },
        networkData: { flows: [] },
        labels: {},
        captureFile: "/x/session.pcap",
        captureSize: 4096,
      };
      await completeSession(db, stored.id, result);
      await failSession(db, refused.id, "PLAYER_NEVER_PLAYED: session 2: the player never started playback");
      // The player's own report arrives afterwards, for both.
      await failSession(db, stored.id, "player: reported late");
      await failSession(db, refused.id, "player: POST /api/sessions/2/finish: 500");
      const rows = await listSessions(db, training.id);
      const kept = rows.find((s) => s.id === stored.id);
      assert.equal(kept?.status, 1);
      assert.deepEqual(kept?.application_data, result.applicationData);
      assert.equal(kept?.capture_file, result.captureFile);
      const retried = rows.find((s) => s.id === refused.id);
      assert.equal(retried?.status, -1);
      assert.match(retried?.error_reason ?? "", /^PLAYER_NEVER_PLAYED: /);
    });

    test("a trace scale multiplies each trace session's mean and keeps its trace and offset", async () => {
      const db = await opened;
      const form = { number_of_videos: "4", session_duration: "20", warmup: "5", seed: "7" };
      const traces = "fcc-amazon-797466, hsdpa-tram-2011-02-02_1345";
      const asRecorded = validateTrainingRequest({ ...form, traces });
      const scaled = validateTrainingRequest({ ...form, traces, trace_scale: "0.3" });
      assert.ok(asRecorded.ok && scaled.ok);
      const [a, b] = [await createTraining(db, asRecorded.value), await createTraining(db, scaled.value)];
      assert.deepEqual(impairmentOf(b), { traceScale: 0.3 });
      const [sa, sb] = [await listSessions(db, a.id), await listSessions(db, b.id)];
      assert.deepEqual(
        sb.map((s) => [s.trace, s.trace_offset_s]),
        sa.map((s) => [s.trace, s.trace_offset_s]),
      );
      sb.forEach((s, i) => {
        const want = (sa[i]?.bw_limitation ?? 0) * 0.3;
        assert.ok(
          Math.abs(s.bw_limitation - want) < 0.02,
          `${s.trace}: ${s.bw_limitation} vs 0.3 × ${sa[i]?.bw_limitation}`,
        );
      });
    });
  });
}

test("a person-driven training must play the built-in origin", () => {
  const base = { number_of_videos: "2", session_duration: "30", bw_limitations: "1" };
  const ok = validateTrainingRequest({ ...base, driver: "person" });
  assert.ok(ok.ok && ok.value.driver === "person");
  const urls = validateTrainingRequest({
    ...base,
    driver: "person",
    source: "urls",
    urls: "http://10.77.254.2/a.m3u8",
  });
  assert.ok(!urls.ok && /built-in origin/.test(urls.errors.driver ?? ""));
  const bad = validateTrainingRequest({ ...base, driver: "robot" });
  assert.ok(!bad.ok && /unknown driver/.test(bad.errors.driver ?? ""));
  const fallback = validateTrainingRequest(base);
  assert.ok(fallback.ok && fallback.value.driver === "worker");
});

test("delay and loss: decimals in range, each bad one named; zero is none; a person's sessions take neither", () => {
  const base = { number_of_videos: "2", session_duration: "30", bw_limitations: "1" };
  const good = validateTrainingRequest({ ...base, delay_ms: "40.5", loss_percent: "0.5" });
  assert.ok(good.ok);
  if (good.ok) {
    assert.deepEqual([good.value.delayMs, good.value.lossPercent], [40.5, 0.5]);
    assert.deepEqual(trainingImpairment(good.value), { delay: 0.0405, loss: 0.005 });
  }
  const none = validateTrainingRequest(base);
  assert.ok(none.ok && none.value.delayMs === 0 && none.value.lossPercent === 0);
  if (none.ok) assert.deepEqual(trainingImpairment(none.value), {});
  const bad = validateTrainingRequest({ ...base, delay_ms: "-3", loss_percent: "80" });
  assert.ok(!bad.ok);
  if (!bad.ok) {
    assert.match(bad.errors.delay_ms ?? "", /must be a number, got "-3"/);
    assert.match(bad.errors.loss_percent ?? "", /between 0 and 50, got 80/);
  }
  const person = validateTrainingRequest({ ...base, driver: "person", delay_ms: "20" });
  assert.ok(!person.ok && /rate only/.test(person.errors.driver ?? ""));
  const scale = validateTrainingRequest({ ...base, traces: "fcc-amazon-797466", trace_scale: "0.25" });
  assert.ok(scale.ok && scale.value.traceScale === 0.25);
  if (scale.ok) assert.deepEqual(trainingImpairment(scale.value), { traceScale: 0.25 });
  const noTrace = validateTrainingRequest({ ...base, trace_scale: "0.5" });
  assert.ok(!noTrace.ok && /applies to bandwidth traces/.test(noTrace.errors.trace_scale ?? ""));
  const range = validateTrainingRequest({ ...base, traces: "fcc-amazon-797466", trace_scale: "40" });
  assert.ok(!range.ok && /between 0.05 and 20, got 40/.test(range.errors.trace_scale ?? ""));
  // What was stored is read back defensively: only positive finite numbers count.
  assert.deepEqual(impairmentOf({ impairment: { delay: 0.05, loss: "x", limit: -1 } }), { delay: 0.05 });
});
