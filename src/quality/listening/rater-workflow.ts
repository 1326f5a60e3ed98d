import type { Db, Queryable } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { raterOrder } from "./order.ts";
import { checkScore, type ListeningMethod, type RatingScale, ratingScale } from "./scales.ts";
import { analyzeRatings, type ListeningStats, type Rating } from "./screening.ts";
import { getListeningTest, type ListeningTest, listClips, type StoredClip } from "./test-store.ts";

/*
 * A rater's way through a stored listening test (the test itself: test-store.ts): hearing check,
 * training, then the rated clips in the rater's own order; ratings and the per-rater overview.
 */

const RATER_KEY = /^[A-Za-z0-9._-]{1,64}$/;

export type RaterStage = "hearing" | "hearing-failed" | "training" | "rating" | "done";

/** What the browser shows next. Clip kinds stay on the server: a trap must not be recognizable. */
export interface RaterItem {
  clipId: number;
  audio: string;
  reference: string | null;
}

export interface RaterState {
  test: { id: number; name: string; method: ListeningMethod };
  scale: RatingScale;
  rater: string;
  stage: RaterStage;
  hearing: { audio: string; attemptsLeft: number } | null;
  item: RaterItem | null;
  /** Rated / total clips of the main sequence; training counted apart. */
  progress: { done: number; total: number; trainingDone: number; trainingTotal: number };
}

interface RaterRow {
  id: number;
  rater_key: string;
  hearing_attempts: number;
  hearing_passed_at: Date | string | null;
  finished_at: Date | string | null;
  created_at: Date | string;
}

export function checkRaterKey(key: string): string {
  if (!RATER_KEY.test(key)) {
    throw new QoelabError(
      "LISTEN_BAD_RATER",
      `rater id "${key.slice(0, 80)}" must be 1–64 letters, digits, ".", "_" or "-"`,
      {
        fields: { rater: "1–64 of A–Z a–z 0–9 . _ -" },
      },
    );
  }
  return key;
}

async function findRater(db: Queryable, testId: number, key: string, create: boolean): Promise<RaterRow> {
  checkRaterKey(key);
  if (create) {
    await db.query(
      "INSERT INTO listening_rater (test_id, rater_key) VALUES ($1, $2) ON CONFLICT (test_id, rater_key) DO NOTHING",
      [testId, key],
    );
  }
  const [row] = await db.query<RaterRow>("SELECT * FROM listening_rater WHERE test_id = $1 AND rater_key = $2", [
    testId,
    key,
  ]);
  if (!row) throw new QoelabError("LISTEN_RATER_NOT_FOUND", `rater "${key}" has not started test ${testId}`);
  return row;
}

/** The rater's main sequence: test, gold and trap clips in the order seeded by the rater id. */
export function raterSequence(test: ListeningTest, clips: readonly StoredClip[], raterKey: string): StoredClip[] {
  const rated = clips.filter((c) => c.kind === "test" || c.kind === "gold" || c.kind === "trap");
  return raterOrder(rated, test.seed, raterKey);
}

function audioUrl(sha: string): string {
  return `/api/listen/audio/${sha}.wav`;
}

async function computeState(db: Queryable, test: ListeningTest, rater: RaterRow): Promise<RaterState> {
  const clips = await listClips(db, test.id);
  const rated = new Set(
    (await db.query<{ clip_id: number }>("SELECT clip_id FROM listening_rating WHERE rater_id = $1", [rater.id])).map(
      (r) => r.clip_id,
    ),
  );
  const training = clips.filter((c) => c.kind === "training");
  const sequence = raterSequence(test, clips, rater.rater_key);
  const hearingClip = clips.find((c) => c.kind === "hearing");
  const progress = {
    done: sequence.filter((c) => rated.has(c.id)).length,
    total: sequence.length,
    trainingDone: training.filter((c) => rated.has(c.id)).length,
    trainingTotal: training.length,
  };
  const base = {
    test: { id: test.id, name: test.name, method: test.method },
    scale: ratingScale(test.method),
    rater: rater.rater_key,
    progress,
  };
  const toItem = (c: StoredClip): RaterItem => ({
    clipId: c.id,
    audio: audioUrl(c.audioSha256),
    reference: c.referenceSha256 ? audioUrl(c.referenceSha256) : null,
  });
  if (!rater.hearing_passed_at && hearingClip) {
    const attemptsLeft = Math.max(0, test.settings.hearingAttempts - rater.hearing_attempts);
    return {
      ...base,
      stage: attemptsLeft > 0 ? "hearing" : "hearing-failed",
      hearing: attemptsLeft > 0 ? { audio: audioUrl(hearingClip.audioSha256), attemptsLeft } : null,
      item: null,
    };
  }
  const nextTraining = training.find((c) => !rated.has(c.id));
  if (nextTraining) return { ...base, stage: "training", hearing: null, item: toItem(nextTraining) };
  const next = sequence.find((c) => !rated.has(c.id));
  if (next) return { ...base, stage: "rating", hearing: null, item: toItem(next) };
  if (!rater.finished_at) await db.query("UPDATE listening_rater SET finished_at = now() WHERE id = $1", [rater.id]);
  return { ...base, stage: "done", hearing: null, item: null };
}

/** The rater's current state; a new rater id starts the test. */
export async function raterState(db: Queryable, testId: number, raterKey: string): Promise<RaterState> {
  const test = await getListeningTest(db, testId);
  return computeState(db, test, await findRater(db, testId, raterKey, true));
}

/** Checks the typed digits of the hearing check; after the allowed attempts the rater is turned away. */
export async function submitHearingCheck(
  db: Db,
  testId: number,
  raterKey: string,
  answer: unknown,
): Promise<RaterState & { passed: boolean }> {
  const test = await getListeningTest(db, testId);
  if (typeof answer !== "string")
    throw new QoelabError("LISTEN_BAD_ANSWER", "hearing check: answer must be the digits heard, as text", {
      fields: { answer: "digits" },
    });
  return db.transaction(async (tx) => {
    const rater = await findRater(tx, testId, raterKey, true);
    const [clip] = (await listClips(tx, testId)).filter((c) => c.kind === "hearing");
    if (rater.hearing_passed_at || !clip) return { ...(await computeState(tx, test, rater)), passed: true };
    if (rater.hearing_attempts >= test.settings.hearingAttempts)
      throw new QoelabError(
        "LISTEN_WRONG_STAGE",
        `rater "${raterKey}" has no hearing-check attempts left`,
        {},
        {
          kind: "conflict",
        },
      );
    const passed = answer.replace(/\D/g, "") === clip.answer;
    const [updated] = await tx.query<RaterRow>(
      `UPDATE listening_rater SET hearing_attempts = hearing_attempts + 1,
         hearing_passed_at = CASE WHEN $2 THEN now() ELSE NULL END WHERE id = $1 RETURNING *`,
      [rater.id, passed],
    );
    return { ...(await computeState(tx, test, updated!)), passed };
  });
}

/**
 * Stores one rating. Only the clip the rater is on may be rated, once: a second submission of
 * the same clip answers LISTEN_DUPLICATE_RATING and stores nothing (UNIQUE (rater, clip) too).
 */
export async function submitRating(
  db: Db,
  testId: number,
  raterKey: string,
  input: { clipId: unknown; score: unknown },
): Promise<RaterState> {
  const test = await getListeningTest(db, testId);
  const score = checkScore(test.method, input.score);
  const clipId = typeof input.clipId === "string" && /^\d+$/.test(input.clipId) ? Number(input.clipId) : input.clipId;
  if (typeof clipId !== "number" || !Number.isInteger(clipId))
    throw new QoelabError("LISTEN_BAD_CLIP", "rating: clipId must be an integer", { fields: { clipId: "integer" } });
  return db.transaction(async (tx) => {
    const rater = await findRater(tx, testId, raterKey, false);
    // Serialize one rater's submissions so two tabs cannot both pass the order check.
    await tx.query("SELECT id FROM listening_rater WHERE id = $1 FOR UPDATE", [rater.id]);
    const [clip] = await tx.query<{ id: number; kind: string }>(
      "SELECT id, kind FROM listening_clip WHERE id = $1 AND test_id = $2",
      [clipId, testId],
    );
    if (!clip || clip.kind === "hearing")
      throw new QoelabError(
        "LISTEN_CLIP_NOT_FOUND",
        `rating: clip ${clipId} is not a clip of listening test ${testId}`,
      );
    const [existing] = await tx.query("SELECT id FROM listening_rating WHERE rater_id = $1 AND clip_id = $2", [
      rater.id,
      clipId,
    ]);
    if (existing)
      throw new QoelabError(
        "LISTEN_DUPLICATE_RATING",
        `rating: rater "${raterKey}" already rated clip ${clipId}; the first rating stands`,
        {},
        { kind: "conflict" },
      );
    const state = await computeState(tx, test, rater);
    if (state.stage === "hearing" || state.stage === "hearing-failed")
      throw new QoelabError(
        "LISTEN_WRONG_STAGE",
        `rating: rater "${raterKey}" has not passed the hearing check`,
        {},
        {
          kind: "conflict",
        },
      );
    if (state.item?.clipId !== clipId)
      throw new QoelabError(
        "LISTEN_OUT_OF_ORDER",
        `rating: clip ${clipId} is not the clip rater "${raterKey}" is on (${state.item ? `clip ${state.item.clipId}` : "test finished"})`,
        {},
        { kind: "conflict" },
      );
    await tx.query(
      "INSERT INTO listening_rating (rater_id, clip_id, score) VALUES ($1, $2, $3) ON CONFLICT (rater_id, clip_id) DO NOTHING",
      [rater.id, clipId, score],
    );
    return computeState(tx, test, rater);
  });
}

// ---- results

/** Every stored rating of the test (training included, marked), oldest first. */
export async function listeningRatings(db: Queryable, testId: number): Promise<Rating[]> {
  await getListeningTest(db, testId);
  const rows = await db.query<{
    rater_key: string;
    condition: string;
    name: string;
    kind: Rating["kind"];
    score: number;
    rated_at: Date | string;
    expected_score: number | null;
    tolerance: number | null;
  }>(
    `SELECT r.rater_key, c.condition, c.name, c.kind, g.score, g.rated_at, c.expected_score, c.tolerance
       FROM listening_rating g JOIN listening_rater r ON r.id = g.rater_id JOIN listening_clip c ON c.id = g.clip_id
      WHERE r.test_id = $1 ORDER BY g.rated_at, g.id`,
    [testId],
  );
  return rows.map((r) => ({
    rater: r.rater_key,
    condition: r.condition,
    clip: r.name,
    score: r.score,
    time: new Date(r.rated_at).toISOString(),
    kind: r.kind,
    expected: r.expected_score,
    tolerance: r.tolerance,
  }));
}

export interface RaterProgress {
  rater: string;
  startedAt: string;
  finishedAt: string | null;
  hearing: "passed" | "failed" | "pending";
  rated: number;
  total: number;
}

export interface ListeningOverview {
  test: ListeningTest;
  clips: number;
  raters: RaterProgress[];
  stats: ListeningStats;
}

/** Raters, completion, screening and statistics of one test (the admin page and `listen stats --test`). */
export async function listeningOverview(db: Queryable, testId: number): Promise<ListeningOverview> {
  const test = await getListeningTest(db, testId);
  const clips = await listClips(db, testId);
  const sequenceLength = clips.filter((c) => c.kind === "test" || c.kind === "gold" || c.kind === "trap").length;
  const raters = await db.query<RaterRow & { rated: string | number }>(
    `SELECT r.*, (SELECT count(*) FROM listening_rating g JOIN listening_clip c ON c.id = g.clip_id
                  WHERE g.rater_id = r.id AND c.kind <> 'training') AS rated
       FROM listening_rater r WHERE r.test_id = $1 ORDER BY r.id`,
    [testId],
  );
  const progress: RaterProgress[] = raters.map((r) => ({
    rater: r.rater_key,
    startedAt: new Date(r.created_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
    hearing: r.hearing_passed_at
      ? "passed"
      : r.hearing_attempts >= test.settings.hearingAttempts
        ? "failed"
        : "pending",
    rated: Number(r.rated),
    total: sequenceLength,
  }));
  const ratings = await listeningRatings(db, testId);
  const stats = analyzeRatings(ratings, {
    method: test.method,
    conditionOrder: test.settings.conditionOrder,
    hearingFailed: progress.filter((p) => p.hearing === "failed").map((p) => p.rater),
  });
  return { test, clips: clips.filter((c) => c.kind === "test").length, raters: progress, stats };
}
