import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { createCollectionRuntime } from "../cli/index.ts";
import type { OrchestratorEvent } from "../collect/index.ts";
import { createTraining, getSession, listSessions, validateTrainingRequest } from "../collect/index.ts";
import { type Db, openDb } from "../db/index.ts";
import { labDown, qoelabCommand } from "../netlab/index.ts";

// Faults mid-session lose no session: it is retried (or resumed after a crash) and the reason is kept.
const dir = mkdtempSync(join(tmpdir(), "qoelab-faults-"));
after(async () => {
  await labDown(`qf${process.pid % 100000}0`).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function oneSessionTraining(db: Db): Promise<number> {
  const request = validateTrainingRequest({
    number_of_videos: "1",
    session_duration: "6",
    bw_limitations: "5",
    warmup: "2",
    max_attempts: "3",
  });
  assert.ok(request.ok);
  return (await createTraining(db, request.value)).id;
}

async function runWith(db: Db, onEvent: (event: OrchestratorEvent) => void, staleAfterSeconds?: number) {
  const runtime = await createCollectionRuntime(db, {
    captureDir: join(dir, "captures"),
    originChannels: ["testcard"],
    labPrefix: `qf${process.pid % 100000}`,
    onEvent,
    ...(staleAfterSeconds !== undefined ? { staleAfterSeconds } : {}),
  });
  return runtime;
}

describe("collection faults", { timeout: 400_000 }, () => {
  for (const victim of ["browser", "tcpdump"] as const) {
    test(`killing ${victim} mid-session: the session is retried and captured, the reason kept`, async () => {
      const db = await openDb({ url: "", dataDir: "memory://" });
      try {
        const trainingId = await oneSessionTraining(db);
        let killed = false;
        const runtime = await runWith(db, (event) => {
          if (killed) return;
          const pid = victim === "browser" && event.kind === "browser-started" ? event.pid : undefined;
          const capturePid = victim === "tcpdump" && event.kind === "capture-started" ? event.pid : undefined;
          const target = pid ?? capturePid;
          if (target === undefined) return;
          killed = true;
          // Let it run a moment, then kill it in the middle of the session.
          setTimeout(() => process.kill(target, "SIGKILL"), 1500);
        });
        await runtime.orchestrator.runUntilIdle(trainingId);
        await runtime.close();
        assert.ok(killed, `${victim} was started and killed`);
        const [session] = await listSessions(db, trainingId);
        assert.ok(session);
        assert.equal(session.status, 1, "captured on the retry");
        assert.equal(session.attempts, 2);
        assert.match(
          session.error_reason ?? "",
          victim === "browser" ? /browser|player/i : /tcpdump|CAPTURE_DIED/,
          "the first attempt's reason is kept",
        );
      } finally {
        await db.close();
      }
    });
  }

  test("killing the collecting process mid-session: the next worker resumes the session", async () => {
    const dataDir = join(dir, "crash-db");
    const url = process.env.QOELAB_TEST_DATABASE_URL;
    const schema = `qlt_crash_${process.pid}`;
    const open = () => openDb(url ? { url, schema } : { url: "", dataDir });
    let db = await open();
    const trainingId = await oneSessionTraining(db);
    if (!url) await db.close(); // PGlite: one process at a time on a data directory
    const argv = qoelabCommand([
      "collect",
      String(trainingId),
      "--data-dir",
      dataDir,
      "--origin-channels",
      "testcard",
      "--lab-prefix",
      `qf${process.pid % 100000}`,
    ]);
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...(url ? { DATABASE_URL: `${url}?options=-c%20search_path%3D${schema}` } : {}) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr.on("data", (d: Buffer) => {
        stderr += d.toString();
        if (/session \S+ at 5 Mbit\/s/.test(stderr)) setTimeout(resolve, 4000); // mid-session
      });
      child.once("exit", () => reject(new Error(`collect exited early: ${stderr}`)));
    });
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    if (!url) db = await open();
    const [stuck] = await listSessions(db, trainingId);
    assert.equal(stuck?.status, 0, "the crashed worker left the session under capturing");
    const runtime = await runWith(db, () => undefined, 1);
    await new Promise((r) => setTimeout(r, 1500)); // heartbeat is now older than 1 s
    await runtime.orchestrator.runUntilIdle(trainingId);
    await runtime.close();
    const session = await getSession(db, stuck!.id);
    assert.equal(session.status, 1, "resumed and captured");
    assert.equal(session.attempts, 2);
    if (url) await db.query(`DROP SCHEMA ${schema} CASCADE`);
    await db.close();
  });
});
