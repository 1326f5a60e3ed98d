import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import pg from "pg";
import { openTestDb, testDatabaseKinds } from "./test-support/test-db.ts";
import { serveDbOverWire } from "./wire-server.ts";

const TRAINING_COLUMNS = [
  "id",
  "name",
  "created_at",
  "finished_at",
  "number_of_videos",
  "bw_limitations",
  "session_duration",
  "has_finished",
];
const SESSION_COLUMNS = [
  "id",
  "name",
  "training_id",
  "url",
  "status",
  "bw_limitation",
  "application_data",
  "network_data",
  "created_at",
  "started_at",
  "finished_at",
];

for (const kind of testDatabaseKinds()) {
  describe(`the seed's views on ${kind}`, () => {
    const opened = openTestDb(kind);
    after(async () => (await opened).drop());

    test("web_training and web_session have the seed's columns, limits as a comma string, data as JSON text", async () => {
      const db = await opened;
      const [training] = await db.query<{ id: number }>(
        "INSERT INTO training (name, number_of_videos, bw_limitations, session_duration) VALUES ($1, $2, $3, $4) RETURNING id",
        ["seed", 2, [0.25, 1.5], 30],
      );
      assert.ok(training);
      const app = { stalls: [{ start: 1.5, duration: 0.25 }], startup_time: 0.8 };
      await db.query(
        "INSERT INTO session (name, training_id, position, bw_limitation, status, application_data, network_data) VALUES ($1, $2, 0, 0.25, 1, $3, $4), ($5, $2, 1, 1.5, -1, NULL, NULL)",
        ["s0", training.id, JSON.stringify(app), JSON.stringify({ flows: [] }), "s1"],
      );
      const trainings = await db.query<Record<string, unknown>>("SELECT * FROM web_training WHERE id = $1", [
        training.id,
      ]);
      assert.deepEqual(Object.keys(trainings[0] ?? {}), TRAINING_COLUMNS);
      assert.equal(trainings[0]?.bw_limitations, "0.25,1.5");
      assert.equal(trainings[0]?.has_finished, false);
      const sessions = await db.query<Record<string, unknown>>(
        "SELECT * FROM web_session WHERE training_id = $1 ORDER BY name",
        [training.id],
      );
      assert.deepEqual(Object.keys(sessions[0] ?? {}), SESSION_COLUMNS);
      assert.equal(typeof sessions[0]?.application_data, "string", "JSON text, not a parsed object");
      assert.deepEqual(JSON.parse(String(sessions[0]?.application_data)), app);
      assert.deepEqual(
        sessions.map((s) => [s.name, s.status, s.bw_limitation, s.network_data]),
        [
          ["s0", 1, 0.25, '{"flows": []}'],
          ["s1", -1, 1.5, null],
        ],
      );
    });
  });
}

describe("the embedded database over the PostgreSQL protocol", () => {
  const opened = openTestDb("pglite");
  after(async () => (await opened).drop());

  test("a client's transaction and qoelab's own statements take turns without mixing", async () => {
    const db = await opened;
    await db.query("CREATE TABLE wire_t (n integer)");
    const wire = await serveDbOverWire(db, { port: 0 });
    const client = new pg.Client({ connectionString: wire.url });
    try {
      await client.connect();
      await client.query("BEGIN");
      await client.query("INSERT INTO wire_t VALUES (1)");
      // qoelab's own insert waits for the client's transaction to end, so the rollback drops only the client's row.
      const own = db.transaction((tx) => tx.query("INSERT INTO wire_t VALUES (2)"));
      await new Promise((resolve) => setTimeout(resolve, 100));
      await client.query("ROLLBACK");
      await own;
      assert.deepEqual((await client.query("SELECT n FROM wire_t ORDER BY n")).rows, [{ n: 2 }]);
      assert.deepEqual(await db.query("SELECT n FROM wire_t ORDER BY n"), [{ n: 2 }]);
    } finally {
      await client.end().catch(() => undefined);
      await wire.close();
    }
  });
});
