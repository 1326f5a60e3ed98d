import type { Db, Queryable } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { loadTraceByName, type TraceStats, traceStats, traceWindowMean } from "../origin/trace-library.ts";
import { scaleTrace } from "../origin/trace-scale.ts";
import { planSessionConditions, traceOffsetSeconds } from "./session-plan.ts";
import type { TrainingDriver, TrainingRequest } from "./training-request.ts";

/** Session status values, as the seed stored them. */
export const SessionStatus = { NOT_CAPTURED: -1, CAPTURING: 0, CAPTURED: 1 } as const;

export interface TrainingRow {
  id: number;
  name: string;
  created_at: string;
  finished_at: string | null;
  number_of_videos: number;
  bw_limitations: number[];
  session_duration: number;
  has_finished: boolean;
  warmup: number;
  source: string;
  source_config: Record<string, unknown>;
  seed: number;
  state: string;
  slots: number;
  max_attempts: number;
  impairment: Record<string, unknown>;
  driver: TrainingDriver;
  /** Bandwidth traces the sessions play beside the limits (names; empty for none). */
  traces: string[];
}

export interface SessionRow {
  id: number;
  name: string;
  training_id: number;
  position: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  url: string | null;
  channel: string | null;
  status: -1 | 0 | 1;
  /** Mbit/s: the limit, or for a trace session the trace's mean over warm-up + recording. */
  bw_limitation: number;
  /** The bandwidth trace this session plays (null: the constant limit). */
  trace: string | null;
  /** Where in the trace the session starts (s). */
  trace_offset_s: number | null;
  application_data: Record<string, unknown> | null;
  network_data: Record<string, unknown> | null;
  labels: Record<string, unknown> | null;
  attempts: number;
  error_reason: string | null;
  worker: string | null;
  heartbeat_at: string | null;
  capture_file: string | null;
  capture_size: number | null;
}

export interface TrainingProgress {
  total: number;
  notCaptured: number;
  capturing: number;
  captured: number;
  failed: number;
  current: Pick<SessionRow, "id" | "name" | "bw_limitation" | "started_at"> | null;
  /** Seconds left at the measured pace (or planned duration when nothing finished yet). */
  etaSeconds: number | null;
}

const TRAINING_COLUMNS = `id, name, created_at, finished_at, number_of_videos, bw_limitations, session_duration,
  has_finished, warmup, source, source_config, seed::float8 AS seed, state, slots, max_attempts, impairment, driver, traces`;
const SESSION_COLUMNS = `id, name, training_id, position, created_at, started_at, finished_at, url, channel, status,
  bw_limitation, trace, trace_offset_s, application_data, network_data, labels, attempts, error_reason, worker, heartbeat_at, capture_file,
  capture_size::float8 AS capture_size`;

function normalizeTraining(row: TrainingRow): TrainingRow {
  return { ...row, bw_limitations: row.bw_limitations.map(Number), seed: Number(row.seed), traces: row.traces ?? [] };
}

function normalizeSession(row: SessionRow): SessionRow {
  return {
    ...row,
    status: Number(row.status) as SessionRow["status"],
    bw_limitation: Number(row.bw_limitation),
    trace: row.trace ?? null,
    trace_offset_s: row.trace_offset_s === null || row.trace_offset_s === undefined ? null : Number(row.trace_offset_s),
    capture_size: row.capture_size === null ? null : Number(row.capture_size),
  };
}

/**
 * What a training adds to its sessions' downstream besides the rate, as the lab's impairment
 * options take it (delay in seconds, Bernoulli loss as a probability); absent when zero.
 */
export interface TrainingImpairment {
  delay?: number;
  loss?: number;
  limit?: number;
  /** Trace sessions: every trace's rates × this (absent: as recorded). */
  traceScale?: number;
}

export function trainingImpairment(
  request: Pick<TrainingRequest, "delayMs" | "lossPercent"> & Partial<Pick<TrainingRequest, "traceScale">>,
): TrainingImpairment {
  return {
    ...(request.delayMs > 0 ? { delay: request.delayMs / 1000 } : {}),
    ...(request.lossPercent > 0 ? { loss: request.lossPercent / 100 } : {}),
    ...(request.traceScale !== undefined && request.traceScale !== 1 ? { traceScale: request.traceScale } : {}),
  };
}

/** A stored training's impairment, keeping only well-formed numbers. */
export function impairmentOf(training: Pick<TrainingRow, "impairment">): TrainingImpairment {
  const raw = training.impairment as Record<string, unknown>;
  const number = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : undefined);
  const delay = number(raw.delay);
  const loss = number(raw.loss);
  const limit = number(raw.limit);
  const traceScale = number(raw.traceScale);
  return {
    ...(delay !== undefined ? { delay } : {}),
    ...(loss !== undefined ? { loss } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(traceScale !== undefined && traceScale !== 1 ? { traceScale } : {}),
  };
}

/** Creates a training and all its sessions (limits equally represented, seeded order) atomically. */
export async function createTraining(db: Db, request: TrainingRequest): Promise<TrainingRow> {
  const conditions = planSessionConditions(
    request.numberOfVideos,
    request.bwLimitations,
    request.traces ?? [],
    request.seed,
  );
  const span = request.warmup + request.sessionDuration;
  const scale = request.traceScale ?? 1;
  const scaledStats = new Map<string, TraceStats>();
  const statsOf = (name: string): TraceStats => {
    const trace = loadTraceByName(name);
    if (scale === 1) return trace.stats;
    let stats = scaledStats.get(name);
    if (!stats) {
      stats = traceStats(scaleTrace(trace.text, scale, name), name);
      scaledStats.set(name, stats);
    }
    return stats;
  };
  // Each session's link: its limit, or its trace, offset and the (scaled) trace's mean over the session.
  const links = conditions.map((condition, position) => {
    if (condition.kind === "limit") return { mbps: condition.mbps, trace: null, offset: null };
    const stats = statsOf(condition.name);
    const offset = traceOffsetSeconds(request.seed, position, stats.durationS, span + 10);
    return {
      mbps: Math.max(0.001, traceWindowMean(stats, offset, span)),
      trace: condition.name,
      offset,
    };
  });
  return db.transaction(async (tx) => {
    const [training] = await tx.query<TrainingRow>(
      `INSERT INTO training (name, number_of_videos, bw_limitations, session_duration, warmup, source, source_config,
         seed, slots, max_attempts, driver, impairment, traces)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING ${TRAINING_COLUMNS}`,
      [
        request.name,
        request.numberOfVideos,
        request.bwLimitations,
        request.sessionDuration,
        request.warmup,
        request.source,
        JSON.stringify(request.source === "urls" ? { urls: request.urls } : {}),
        request.seed,
        request.slots,
        request.maxAttempts,
        request.driver,
        JSON.stringify(trainingImpairment(request)),
        request.traces ?? [],
      ],
    );
    if (!training) throw new QoelabError("DB_INSERT_FAILED", "database: training was not inserted");
    // One multi-row insert keeps creation fast for thousands of sessions.
    const chunk = 500;
    for (let start = 0; start < links.length; start += chunk) {
      const part = links.slice(start, start + chunk);
      const values: string[] = [];
      const params: (string | number | null)[] = [];
      part.forEach((link, i) => {
        const position = start + i;
        params.push(
          `${training.id}-${String(position + 1).padStart(4, "0")}`,
          training.id,
          position,
          link.mbps,
          link.trace,
          link.offset,
        );
        const b = i * 6;
        values.push(`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6})`);
      });
      await tx.query(
        `INSERT INTO session (name, training_id, position, bw_limitation, trace, trace_offset_s) VALUES ${values.join(", ")}`,
        params,
      );
    }
    return normalizeTraining(training);
  });
}

export async function listTrainings(db: Queryable): Promise<TrainingRow[]> {
  const rows = await db.query<TrainingRow>(`SELECT ${TRAINING_COLUMNS} FROM training ORDER BY id DESC`);
  return rows.map(normalizeTraining);
}

export async function getTraining(db: Queryable, id: number): Promise<TrainingRow> {
  const [row] = await db.query<TrainingRow>(`SELECT ${TRAINING_COLUMNS} FROM training WHERE id = $1`, [id]);
  if (!row) throw new QoelabError("TRAINING_NOT_FOUND", `training ${id} does not exist`, { training: id });
  return normalizeTraining(row);
}

export async function listSessions(db: Queryable, trainingId: number): Promise<SessionRow[]> {
  const rows = await db.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM session WHERE training_id = $1 ORDER BY position`,
    [trainingId],
  );
  return rows.map(normalizeSession);
}

export async function getSession(db: Queryable, id: number): Promise<SessionRow> {
  const [row] = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM session WHERE id = $1`, [id]);
  if (!row) throw new QoelabError("SESSION_NOT_FOUND", `session ${id} does not exist`, { session: id });
  return normalizeSession(row);
}

/**
 * Takes the next session to capture, with a row lock so several workers (or lab slots) on one
 * Postgres never take the same one: status −1 with attempts left, or status 0 whose worker
 * stopped sending heartbeats (a crashed run: it is resumed). Marks it 0 (under capturing).
 *
 * The worker (`driver` "worker", the default) takes only sessions of trainings driven by the worker.
 * A person (`driver` "person", one training) takes that training's sessions and marks the training
 * as driven by a person, so the worker leaves the rest of it alone.
 */
export async function claimNextSession(
  db: Db,
  worker: string,
  options: { trainingId?: number; staleAfterSeconds?: number; driver?: TrainingDriver } = {},
): Promise<SessionRow | null> {
  const stale = options.staleAfterSeconds ?? 60;
  const driver = options.driver ?? "worker";
  const personTraining = options.trainingId;
  if (driver === "person" && personTraining === undefined)
    throw new QoelabError(
      "COLLECT_BAD_CLAIM",
      "claim: a person claims sessions of one training (no training id given)",
    );
  // The training row is locked with the session, as the UPDATE of its state below will lock it (a
  // shared lock there would let two claims deadlock upgrading it): a person's takeover under way makes
  // a worker's claim wait for it and then see driver = 'person', so no worker takes a session of a
  // training a person has just taken over. Claims of one training wait for each other a moment.
  return db.transaction(async (tx) => {
    if (driver === "person" && personTraining !== undefined) {
      await tx.query("UPDATE training SET driver = 'person' WHERE id = $1 AND driver <> 'person'", [personTraining]);
    }
    const [candidate] = await tx.query<{ id: number }>(
      `SELECT s.id FROM session s JOIN training t ON t.id = s.training_id
        WHERE t.has_finished = false AND t.state <> 'paused' AND s.attempts < t.max_attempts
          AND ($1::int IS NULL OR s.training_id = $1::int) AND t.driver = $3
          AND (s.status = -1 OR (s.status = 0 AND (s.heartbeat_at IS NULL OR s.heartbeat_at < now() - make_interval(secs => $2::int))))
        ORDER BY s.training_id, s.position
        LIMIT 1 FOR UPDATE OF s SKIP LOCKED FOR NO KEY UPDATE OF t`,
      [options.trainingId ?? null, stale, driver],
    );
    if (!candidate) return null;
    const [row] = await tx.query<SessionRow>(
      `UPDATE session SET status = 0, worker = $2, attempts = attempts + 1, started_at = now(), heartbeat_at = now()
        WHERE id = $1 RETURNING ${SESSION_COLUMNS}`,
      [candidate.id, worker],
    );
    await tx.query(
      "UPDATE training SET state = 'running' WHERE id = (SELECT training_id FROM session WHERE id = $1) AND state = 'pending'",
      [candidate.id],
    );
    return row ? normalizeSession(row) : null;
  });
}

export async function heartbeatSession(db: Queryable, id: number, worker: string): Promise<void> {
  await db.query("UPDATE session SET heartbeat_at = now() WHERE id = $1 AND worker = $2 AND status = 0", [id, worker]);
}

export interface SessionResult {
  url: string | null;
  channel: string | null;
  applicationData: Record<string, unknown>;
  networkData: Record<string, unknown>;
  labels: Record<string, unknown>;
  captureFile: string | null;
  captureSize: number | null;
}

/** Stores a captured session (status 1) and closes its training when it was the last one. */
export async function completeSession(db: Db, id: number, result: SessionResult): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await tx.query<{ training_id: number }>(
      `UPDATE session SET status = 1, finished_at = now(), url = $2, channel = $3, application_data = $4,
          network_data = $5, labels = $6, capture_file = $7, capture_size = $8
        WHERE id = $1 AND status = 0 RETURNING training_id`,
      [
        id,
        result.url,
        result.channel,
        JSON.stringify(result.applicationData),
        JSON.stringify(result.networkData),
        JSON.stringify(result.labels),
        result.captureFile,
        result.captureSize,
      ],
    );
    const trainingId = rows[0]?.training_id;
    if (trainingId === undefined) {
      throw new QoelabError(
        "SESSION_NOT_CAPTURING",
        `session ${id} is not under capturing; its result was not stored`,
        {
          session: id,
        },
        { kind: "conflict" },
      );
    }
    await closeTrainingIfDone(tx, trainingId);
  });
}

/**
 * Records why a session under capturing failed and puts it back (status −1) for a bounded retry.
 * A session not under capturing is left alone: a late "fail" (a player reporting after the
 * session was refused, or after it was stored) never undoes a stored result or its first reason.
 */
/**
 * Puts a session under capture back for a retry, keeping the reason. With `attempt`, only that
 * attempt: a late report of an earlier attempt never fails the one another slot has claimed since.
 */
export async function failSession(db: Db, id: number, reason: string, attempt?: number): Promise<void> {
  await db.transaction(async (tx) => {
    const rows = await tx.query<{ training_id: number }>(
      `UPDATE session SET status = -1, error_reason = $2, worker = NULL, heartbeat_at = NULL
        WHERE id = $1 AND status = 0 AND ($3::int IS NULL OR attempts = $3::int) RETURNING training_id`,
      [id, reason.slice(0, 2000), attempt ?? null],
    );
    const trainingId = rows[0]?.training_id;
    if (trainingId !== undefined) await closeTrainingIfDone(tx, trainingId);
  });
}

/** A training is finished when no session can run any more (all captured or out of attempts). */
async function closeTrainingIfDone(tx: Queryable, trainingId: number): Promise<void> {
  const [left] = await tx.query<{ n: string }>(
    `SELECT count(*) AS n FROM session s JOIN training t ON t.id = s.training_id
      WHERE s.training_id = $1 AND (s.status = 0 OR (s.status = -1 AND s.attempts < t.max_attempts))`,
    [trainingId],
  );
  if (Number(left?.n ?? 0) === 0) {
    const [failed] = await tx.query<{ n: string }>(
      "SELECT count(*) AS n FROM session WHERE training_id = $1 AND status <> 1",
      [trainingId],
    );
    await tx.query(
      "UPDATE training SET has_finished = true, finished_at = now(), state = $2 WHERE id = $1 AND has_finished = false",
      [trainingId, Number(failed?.n ?? 0) === 0 ? "finished" : "finished-with-failures"],
    );
  }
}

export async function trainingProgress(db: Queryable, training: TrainingRow): Promise<TrainingProgress> {
  const sessions = await db.query<{
    status: number;
    attempts: number;
    n: string;
  }>("SELECT status, attempts, count(*) AS n FROM session WHERE training_id = $1 GROUP BY status, attempts", [
    training.id,
  ]);
  const progress: TrainingProgress = {
    total: 0,
    notCaptured: 0,
    capturing: 0,
    captured: 0,
    failed: 0,
    current: null,
    etaSeconds: null,
  };
  for (const row of sessions) {
    const n = Number(row.n);
    const status = Number(row.status);
    progress.total += n;
    if (status === 1) progress.captured += n;
    else if (status === 0) progress.capturing += n;
    else if (Number(row.attempts) >= training.max_attempts) progress.failed += n;
    else progress.notCaptured += n;
  }
  const [current] = await db.query<Pick<SessionRow, "id" | "name" | "bw_limitation" | "started_at">>(
    "SELECT id, name, bw_limitation, started_at FROM session WHERE training_id = $1 AND status = 0 ORDER BY started_at LIMIT 1",
    [training.id],
  );
  progress.current = current ? { ...current, bw_limitation: Number(current.bw_limitation) } : null;
  const [pace] = await db.query<{ avg: number | null }>(
    `SELECT avg(extract(epoch FROM finished_at - started_at))::float8 AS avg FROM session
      WHERE training_id = $1 AND status = 1 AND started_at IS NOT NULL`,
    [training.id],
  );
  const perSession = pace?.avg ?? training.session_duration + training.warmup + 2;
  const remaining = progress.notCaptured + progress.capturing;
  progress.etaSeconds = training.has_finished ? 0 : Math.round((remaining * perSession) / Math.max(1, training.slots));
  return progress;
}
