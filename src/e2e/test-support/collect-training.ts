import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { createCollectionRuntime } from "../../cli/index.ts";
import { createTraining, exportTraining, type SessionRow, validateTrainingRequest } from "../../collect/index.ts";
import { type Db, openDb } from "../../db/index.ts";
import { labDown } from "../../netlab/index.ts";

export interface CollectedTraining {
  db: Db;
  trainingId: number;
  /** Scratch folder of the run (captures under captures/). */
  dir: string;
  /** Closes the database, takes the lab slot down and removes the folder. */
  close(): Promise<void>;
}

/**
 * Creates a training from form fields in an in-memory PGlite and lets a root collection runtime
 * (lab slots `<labPrefix>N`, the built-in origin's testcard channel) play it to the end.
 */
export async function collectTraining(
  form: Record<string, string>,
  labPrefix: string,
  origin: { channels?: readonly string[]; durationSeconds?: number } = {},
): Promise<CollectedTraining> {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-${labPrefix}-`));
  const db = await openDb({ url: "", dataDir: "memory://" });
  const close = async () => {
    await db.close();
    await labDown(`${labPrefix}0`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const request = validateTrainingRequest(form);
    assert.ok(request.ok, JSON.stringify(request));
    const trainingId = (await createTraining(db, request.value)).id;
    const runtime = await createCollectionRuntime(db, {
      captureDir: join(dir, "captures"),
      originChannels: origin.channels ?? ["testcard"],
      ...(origin.durationSeconds !== undefined ? { originDuration: origin.durationSeconds } : {}),
      labPrefix,
    });
    try {
      await runtime.orchestrator.runUntilIdle(trainingId);
    } finally {
      await runtime.close();
    }
    return { db, trainingId, dir, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * One training collected for the tests of a `describe`: its `before` collects it in lab slots
 * `<labLetters><pid>N` (so parallel test processes never share a lab), its `after` closes it. The
 * fields are read inside the tests, once `before` has run.
 */
export function collectTrainingForSuite(
  form: Record<string, string>,
  labLetters: string,
  origin: { channels?: readonly string[]; durationSeconds?: number } = {},
): CollectedTraining {
  let run: CollectedTraining | undefined;
  before(async () => {
    run = await collectTraining(form, `${labLetters}${process.pid % 100000}`, origin);
  });
  after(() => run?.close());
  const collected = (): CollectedTraining => {
    assert.ok(run, "the training is collected by the suite's before()");
    return run;
  };
  return {
    get db() {
      return collected().db;
    },
    get trainingId() {
      return collected().trainingId;
    },
    get dir() {
      return collected().dir;
    },
    close: () => collected().close(),
  };
}

/** Every session was captured and stored on its first claim: status 1 and no error. */
export function assertEverySessionStored(sessions: readonly SessionRow[], message?: string): void {
  assert.deepEqual(
    sessions.map((s) => [s.status, s.error_reason]),
    sessions.map(() => [1, null]),
    message,
  );
}

/**
 * Each session's cells in `columns` of the training's CSV export, in row order; asserts the export
 * has those columns. Split on commas: the columns the tests read hold none.
 */
export async function exportedCells(run: CollectedTraining, columns: readonly string[]): Promise<string[][]> {
  const file = await exportTraining(run.db, run.trainingId, "csv");
  const [header, ...rows] = String(file.body).trim().split("\n");
  const names = header?.split(",") ?? [];
  const at = columns.map((column) => names.indexOf(column));
  assert.ok(
    at.every((i) => i >= 0),
    header,
  );
  return rows.map((row) => {
    const cells = row.split(",");
    return at.map((i) => cells[i] ?? "");
  });
}
