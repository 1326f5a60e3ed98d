import { createHash, randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Db, Queryable, SqlParam } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { type CheckedAudio, type ClipSet, readClipAudio } from "./clip-sources.ts";
import { type ListeningMethod, ratingScale, scoreLabel } from "./scales.ts";
import { makeHearingClip, makeTrapClip } from "./speech-synth.ts";

/* Listening tests as stored: the test, its clips and their audio. A rater's way through one: rater-workflow.ts. */

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
