import assert from "node:assert/strict";
import type { Hono } from "hono";
import { claimNextSession, completeSession, type SessionResult, type SessionRow } from "../../collect/index.ts";
import type { Db } from "../../db/index.ts";
import { postJson } from "./post-json.ts";

/** A training as the JSON API (`POST /api/trainings`) takes it. */
export interface TrainingBody {
  number_of_videos: number;
  session_duration: number;
  bw_limitations: number[] | string;
}

/**
 * Creates a training through the JSON API, then claims and completes each of its sessions as a
 * worker would, storing what `result` makes of the session and its index. Returns the training's id.
 */
export async function capturedTraining(
  app: Hono,
  db: Db,
  body: TrainingBody,
  result: (session: SessionRow, index: number) => SessionResult,
): Promise<number> {
  const created = await postJson(app, "/api/trainings", body);
  const { training } = (await created.json()) as { training: { id: number } };
  for (let i = 0; i < body.number_of_videos; i++) {
    const session = await claimNextSession(db, "test", { trainingId: training.id });
    assert.ok(session);
    await completeSession(db, session.id, result(session, i));
  }
  return training.id;
}
