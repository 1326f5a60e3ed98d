import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { QoelabError } from "../errors.ts";
import { listMigrations, migrate, splitStatements } from "./migrate.ts";
import { openDb } from "./open-db.ts";
import { openTestDb, testDatabaseKinds } from "./test-support/test-db.ts";

// One suite, run on every database kind available (PGlite always; the server when configured).
for (const kind of testDatabaseKinds()) {
  describe(`db on ${kind}`, () => {
    const opened = openTestDb(kind);
    after(async () => (await opened).drop());

    test("migrations are applied once and recorded", async () => {
      const db = await opened;
      const ids = (await db.query<{ id: string }>("SELECT id FROM schema_migration ORDER BY id")).map((r) => r.id);
      assert.deepEqual(
        ids,
        listMigrations().map((m) => m.id),
      );
      assert.deepEqual(await migrate(db), [], "a second run applies nothing");
    });

    test("a table query names its columns even when no row comes back (qoelab db query --csv)", async () => {
      const db = await opened;
      const empty = await db.queryTable("SELECT name, number_of_videos FROM web_training WHERE false");
      assert.deepEqual(empty, { columns: ["name", "number_of_videos"], rows: [] });
      const one = await db.queryTable("SELECT 1 AS a, 'x' AS b");
      assert.deepEqual(one, { columns: ["a", "b"], rows: [{ a: 1, b: "x" }] });
      await assert.rejects(db.queryTable("SELECT * FROM no_such_table"), (e: unknown) => e instanceof QoelabError);
    });

    test("arrays, jsonb and the seed's status values round-trip", async () => {
      const db = await opened;
      const [training] = await db.query<{ id: number; bw_limitations: number[] }>(
        "INSERT INTO training (name, number_of_videos, bw_limitations, session_duration) VALUES ($1, $2, $3, $4) RETURNING id, bw_limitations",
        ["t", 3, [0.25, 1, 2], 60],
      );
      assert.ok(training);
      assert.deepEqual(training.bw_limitations, [0.25, 1, 2]);
      const app = { stalls: [{ start: 1.5, duration: 0.25 }], resolution: "720p" };
      await db.query(
        "INSERT INTO session (name, training_id, position, bw_limitation, application_data) VALUES ($1, $2, $3, $4, $5)",
        ["s1", training.id, 0, 1, JSON.stringify(app)],
      );
      const [row] = await db.query<{ status: number; application_data: unknown }>(
        "SELECT status, application_data FROM session WHERE training_id = $1",
        [training.id],
      );
      assert.equal(row?.status, -1);
      assert.deepEqual(row?.application_data, app);
      await assert.rejects(
        db.query("UPDATE session SET status = 2 WHERE training_id = $1", [training.id]),
        (error: unknown) => error instanceof QoelabError && error.code === "DB_QUERY_FAILED",
      );
    });

    test("a failed transaction stores nothing", async () => {
      const db = await opened;
      const before = await db.query<{ n: string }>("SELECT count(*) AS n FROM training");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query(
            "INSERT INTO training (name, number_of_videos, bw_limitations, session_duration) VALUES ('x', 1, '{1}', 10)",
          );
          await tx.query("INSERT INTO training (name) VALUES (NULL)");
        }),
      );
      const afterRows = await db.query<{ n: string }>("SELECT count(*) AS n FROM training");
      assert.equal(Number(afterRows[0]?.n), Number(before[0]?.n));
    });
  });
}

test("PGlite data persists across reopen of the data directory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-db-"));
  try {
    const first = await openDb({ url: "", dataDir: dir });
    await first.query(
      "INSERT INTO training (name, number_of_videos, bw_limitations, session_duration) VALUES ('kept', 1, '{1}', 10)",
    );
    await first.close();
    const second = await openDb({ url: "", dataDir: dir });
    const rows = await second.query<{ name: string }>("SELECT name FROM training");
    await second.close();
    assert.deepEqual(
      rows.map((r) => r.name),
      ["kept"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an unreachable server is a coded error naming it", async () => {
  await assert.rejects(openDb({ url: "postgres://nobody:secret@127.0.0.1:1/none" }), (error: unknown) => {
    assert.ok(error instanceof QoelabError);
    assert.equal(error.code, "DB_CONNECT_FAILED");
    assert.match(error.message, /127\.0\.0\.1:1/);
    assert.doesNotMatch(error.message, /secret/);
    return true;
  });
});

test("migration files split into statements", () => {
  assert.deepEqual(splitStatements("CREATE TABLE a (x int);\n-- note\nCREATE INDEX b ON a (x);\n"), [
    "CREATE TABLE a (x int)",
    "CREATE INDEX b ON a (x)",
  ]);
});
