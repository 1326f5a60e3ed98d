import { createHash, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db, Queryable, SqlParam } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { type CheckedAudio, type ClipSet, readClipAudio } from "./clip-sources.ts";
import { raterOrder } from "./order.ts";
import { checkScore, type ListeningMethod, type RatingScale, ratingScale, scoreLabel } from "./scales.ts";
import { analyzeRatings, type ListeningStats, type Rating } from "./screening.ts";
import { makeHearingClip, makeTrapClip } from "./speech-synth.ts";

export type StoredClipKind = "test" | "training" | "gold" | "trap" | "hearing";

export interface ListeningTest {
  id: number;
  name: string;
  method: ListeningMethod;
  seed: number;
  source: string | null;
  settings: ListeningSettings;
  createdAt: string;
}

export interface ListeningSettings {
  conditionOrder: string[];
  /** Failed hearing checks allowed before the rater is turned away. */
  hearingAttempts: number;
}

export interface StoredClip {
  id: number;
  name: string;
  condition: string;
  kind: StoredClipKind;
  audioSha256: string;
  referenceSha256: string | null;
  expectedScore: number | null;
  tolerance: number | null;
  answer: string | null;
  position: number;
}

export interface CreateListeningTestOptions {
  name: string;
  method: ListeningMethod;
  clips: ClipSet;
  seed?: number;
  /** Trapping clips mixed into every rater's sequence (default 1). */
  traps?: number;
  /** Gold clips (the unprocessed reference, known to be Excellent/inaudible; default 1). */
  gold?: number;
  /** Training clips rated first and left out of the results (default 2: best and worst condition). */
  training?: number;
  /** Digits of the hearing check (default: random 3 digits). */
  hearingDigits?: string;
  /** Seconds of the base clip before the trap's spoken instruction (default 1.5). */
  trapLeadSeconds?: number;
}

const RATER_KEY = /^[A-Za-z0-9._-]{1,64}$/;

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function storeAudio(tx: Queryable, audio: CheckedAudio): Promise<string> {
  const hash = sha256(audio.bytes);
  await tx.query(
    "INSERT INTO listening_audio (sha256, bytes, sample_rate, duration_s) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING",
    [hash, Buffer.from(audio.bytes) as unknown as SqlParam, audio.sampleRate, audio.durationS],
  );
  return hash;
}

interface TestRow {
  id: number;
  name: string;
  method: ListeningMethod;
  seed: string | number;
  source: string | null;
  settings: ListeningSettings;
  created_at: Date | string;
}

function toTest(row: TestRow): ListeningTest {
  return {
    id: row.id,
    name: row.name,
    method: row.method,
    seed: Number(row.seed),
    source: row.source,
    settings: row.settings,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/**
 * Creates a listening test: checks every clip is WAV audio, stores the audio once per content hash,
 * adds training clips (best and worst condition), gold clips (the reference, known answer),
 * trapping clips (speech made with espeak-ng asking for one category) and the hearing check.
 */
export async function createListeningTest(db: Db, options: CreateListeningTestOptions): Promise<ListeningTest> {
  const { method, clips } = options;
  const scale = ratingScale(method);
  if (clips.clips.length === 0)
    throw new QoelabError("LISTEN_NO_CLIPS", "listening test: no clips given", {}, { kind: "bad_input" });
  const audio = new Map<string, CheckedAudio>();
  for (const clip of clips.clips) audio.set(clip.file, readClipAudio(clip.file));
  const reference = clips.reference ? readClipAudio(clips.reference) : undefined;
  if ((method === "dcr" || method === "ccr") && !reference) {
    throw new QoelabError(
      "LISTEN_NO_REFERENCE",
      `listening test: ${method.toUpperCase()} needs a reference clip (reference.wav in the folder, a reference column in the CSV, or an experiment's original)`,
      {},
      { kind: "bad_input" },
    );
  }
  const names = new Set<string>();
  for (const clip of clips.clips) {
    if (names.has(clip.name))
      throw new QoelabError(
        "LISTEN_DUPLICATE_CLIP",
        `listening test: clip name "${clip.name}" appears twice`,
        {},
        {
          kind: "bad_input",
        },
      );
    names.add(clip.name);
  }
  const seed = options.seed ?? randomInt(1, 2 ** 31);
  const digits = options.hearingDigits ?? String(randomInt(100, 1000)).replace(/0/g, "7");
  const sampleRate = audio.get(clips.clips[0]!.file)!.sampleRate;
  // Generated audio: hearing check and traps, spoken by espeak-ng.
  const work = mkdtempSync(join(tmpdir(), "qoelab-listen-"));
  let hearing: CheckedAudio;
  const traps: CheckedAudio[] = [];
  try {
    makeHearingClip(digits, join(work, "hearing.wav"), sampleRate);
    hearing = readClipAudio(join(work, "hearing.wav"));
    const trapAnswer = scoreLabel(method, scale.trapScore).replace(/^Degradation is /, "");
    for (let i = 0; i < (options.traps ?? 1); i++) {
      const base = clips.clips[i % clips.clips.length]!.file;
      const out = join(work, `trap-${i + 1}.wav`);
      makeTrapClip(base, trapAnswer, out, sampleRate, options.trapLeadSeconds);
      traps.push(readClipAudio(out));
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const settings: ListeningSettings = { conditionOrder: clips.conditionOrder, hearingAttempts: 3 };
  return db.transaction(async (tx) => {
    const [row] = await tx.query<TestRow>(
      "INSERT INTO listening_test (name, method, seed, source, settings) VALUES ($1, $2, $3, $4, $5) RETURNING *",
      [options.name, method, seed, clips.source, settings as unknown as Record<string, unknown>],
    );
    const test = toTest(row!);
    const referenceHash = reference ? await storeAudio(tx, reference) : null;
    // A clip cut from a longer recording is compared with the original over the same instants.
    const clipReferenceHashes = new Map<string, string>();
    const referenceHashOf = async (clip: { reference?: string } | undefined): Promise<string | null> => {
      if (!clip?.reference) return referenceHash;
      let hash = clipReferenceHashes.get(clip.reference);
      if (!hash) {
        hash = await storeAudio(tx, readClipAudio(clip.reference));
        clipReferenceHashes.set(clip.reference, hash);
      }
      return hash;
    };
    let position = 0;
    const insert = async (clip: {
      name: string;
      condition: string;
      kind: StoredClipKind;
      audio: string;
      expected?: number;
      tolerance?: number;
      answer?: string;
      referenceHash?: string | null;
    }) => {
      await tx.query(
        `INSERT INTO listening_clip (test_id, name, condition, kind, audio_sha256, reference_sha256, expected_score, tolerance, answer, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          test.id,
          clip.name,
          clip.condition,
          clip.kind,
          clip.audio,
          method === "acr" ? null : clip.referenceHash === undefined ? referenceHash : clip.referenceHash,
          clip.expected ?? null,
          clip.tolerance ?? null,
          clip.answer ?? null,
          position++,
        ],
      );
    };
    await insert({
      name: "hearing-check",
      condition: "hearing",
      kind: "hearing",
      audio: await storeAudio(tx, hearing),
      answer: digits,
    });
    // Training: the first and last condition in the source's order span the scale for the rater.
    const byCondition = clips.conditionOrder
      .map((c) => clips.clips.find((clip) => clip.condition === c))
      .filter((c) => c !== undefined);
    const trainingSources = [byCondition[0], byCondition[byCondition.length - 1], ...byCondition.slice(1, -1)].filter(
      (c, i, all) => c !== undefined && all.indexOf(c) === i,
    );
    for (let i = 0; i < Math.min(options.training ?? 2, trainingSources.length); i++) {
      const source = trainingSources[i]!;
      await insert({
        name: `training-${i + 1}`,
        condition: "training",
        kind: "training",
        audio: await storeAudio(tx, audio.get(source.file)!),
        referenceHash: await referenceHashOf(source),
      });
    }
    for (const clip of clips.clips) {
      await insert({
        name: clip.name,
        condition: clip.condition,
        kind: "test",
        audio: await storeAudio(tx, audio.get(clip.file)!),
        referenceHash: await referenceHashOf(clip),
      });
    }
    // Gold: a reference heard against itself (a clip's own reference when the clips were cut).
    const goldClipReference = clips.clips.find((clip) => clip.reference)?.reference;
    const goldAudio = goldClipReference
      ? readClipAudio(goldClipReference)
      : (reference ?? audio.get(clips.clips[0]!.file)!);
    const goldReferenceHash = goldClipReference
      ? await referenceHashOf({ reference: goldClipReference })
      : referenceHash;
    for (let i = 0; i < (options.gold ?? 1); i++) {
      await insert({
        name: `gold-${i + 1}`,
        condition: "gold",
        kind: "gold",
        audio: await storeAudio(tx, goldAudio),
        referenceHash: goldReferenceHash,
        expected: method === "ccr" ? 0 : scale.max,
        tolerance: 1,
      });
    }
    for (const [i, trap] of traps.entries()) {
      await insert({
        name: `trap-${i + 1}`,
        condition: "trap",
        kind: "trap",
        audio: await storeAudio(tx, trap),
        expected: scale.trapScore,
        tolerance: 0,
      });
    }
    return test;
  });
}

export async function listListeningTests(db: Queryable): Promise<ListeningTest[]> {
  return (await db.query<TestRow>("SELECT * FROM listening_test ORDER BY id")).map(toTest);
}

export async function getListeningTest(db: Queryable, id: number): Promise<ListeningTest> {
  const [row] = await db.query<TestRow>("SELECT * FROM listening_test WHERE id = $1", [id]);
  if (!row) throw new QoelabError("LISTEN_TEST_NOT_FOUND", `listening test ${id} not found`, { id });
  return toTest(row);
}

export async function listClips(db: Queryable, testId: number): Promise<StoredClip[]> {
  const rows = await db.query<{
    id: number;
    name: string;
    condition: string;
    kind: StoredClipKind;
    audio_sha256: string;
    reference_sha256: string | null;
    expected_score: number | null;
    tolerance: number | null;
    answer: string | null;
    position: number;
  }>("SELECT * FROM listening_clip WHERE test_id = $1 ORDER BY position", [testId]);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    condition: r.condition,
    kind: r.kind,
    audioSha256: r.audio_sha256,
    referenceSha256: r.reference_sha256,
    expectedScore: r.expected_score,
    tolerance: r.tolerance,
    answer: r.answer,
    position: r.position,
  }));
}

/** The stored WAV bytes of one audio hash. */
export async function getListeningAudio(db: Queryable, sha: string): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(sha)) throw new QoelabError("LISTEN_AUDIO_NOT_FOUND", `audio ${sha} not found`);
  const [row] = await db.query<{ bytes: Uint8Array }>("SELECT bytes FROM listening_audio WHERE sha256 = $1", [sha]);
  if (!row) throw new QoelabError("LISTEN_AUDIO_NOT_FOUND", `audio ${sha} not found`);
  return new Uint8Array(row.bytes);
}

// ---- the rater's flow

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
