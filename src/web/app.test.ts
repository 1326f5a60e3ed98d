import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { listSessions } from "../collect/index.ts";
import { openTestDb, testDatabaseKinds } from "../db/test-support/test-db.ts";
import { createApp } from "./app.ts";
import { capturedTraining } from "./test-support/captured-training.ts";
import { postJson } from "./test-support/post-json.ts";

for (const kind of testDatabaseKinds()) {
  describe(`web app on ${kind}`, () => {
    const opened = openTestDb(kind);
    after(async () => (await opened).drop());

    test("the form rejects bad fields with a message beside each, and stores nothing", async () => {
      const db = await opened;
      const app = createApp({ db });
      const before = await db.query<{ n: string }>("SELECT count(*) AS n FROM training");
      const response = await app.request("/trainings", {
        method: "POST",
        body: new URLSearchParams({ number_of_videos: "0", session_duration: "x", bw_limitations: "1, -2" }),
      });
      assert.equal(response.status, 400);
      const page = await response.text();
      assert.match(page, /id="number_of_videos-error"[^>]*>Number of videos must be between 1 and 10000/);
      assert.match(page, /id="session_duration-error"[^>]*>Session duration \(s\) must be a positive whole number/);
      assert.match(page, /id="bw_limitations-error"/);
      assert.match(page, /value="1, -2"/, "the user's input is kept");
      const afterRows = await db.query<{ n: string }>("SELECT count(*) AS n FROM training");
      assert.equal(afterRows[0]?.n, before[0]?.n);
    });

    test("a valid form creates the training and its sessions, then shows it", async () => {
      const db = await opened;
      const app = createApp({ db });
      const response = await app.request("/trainings", {
        method: "POST",
        body: new URLSearchParams({ number_of_videos: "5", session_duration: "30", bw_limitations: "0.25, 1, 2" }),
      });
      assert.equal(response.status, 303);
      const location = response.headers.get("location") ?? "";
      assert.match(location, /^\/trainings\/\d+$/);
      const detail = await app.request(location);
      assert.equal(detail.status, 200);
      const text = await detail.text();
      assert.equal((text.match(/<tr class="session"/g) ?? []).length, 5);
      const list = await (await app.request("/")).text();
      assert.match(list, /0\.25, 1, 2/);
    });

    test("JSON API: create, read, errors as {code, message} with 4xx", async () => {
      const db = await opened;
      const app = createApp({ db });
      const created = await postJson(app, "/api/trainings", {
        number_of_videos: 4,
        session_duration: 20,
        bw_limitations: [0.3, 5],
      });
      assert.equal(created.status, 201);
      const { training, sessions } = (await created.json()) as { training: { id: number }; sessions: number };
      assert.equal(sessions, 4);
      const bad = await app.request("/api/trainings", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{not json",
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { code: string }).code, "WEB_BAD_JSON");
      const invalid = await postJson(app, "/api/trainings", {
        number_of_videos: 4,
        session_duration: 20,
        bw_limitations: "",
      });
      assert.equal(invalid.status, 400);
      const invalidBody = (await invalid.json()) as { code: string; fields: Record<string, string> };
      assert.equal(invalidBody.code, "TRAINING_INVALID_INPUT");
      assert.ok(invalidBody.fields.bw_limitations);
      const missing = await app.request("/api/trainings/999999");
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { code: string }).code, "TRAINING_NOT_FOUND");
      const badId = await app.request("/api/trainings/abc");
      assert.equal(badId.status, 400);
      const progress = (await (await app.request(`/api/trainings/${training.id}`)).json()) as {
        progress: { total: number };
      };
      assert.equal(progress.progress.total, 4);
      const noController = await app.request(`/api/trainings/${training.id}/next`);
      assert.equal(noController.status, 503);
    });

    test("export: one CSV row per captured session with network and label columns", async () => {
      const db = await opened;
      const app = createApp({ db });
      const trainingId = await capturedTraining(
        app,
        db,
        { number_of_videos: 2, session_duration: 20, bw_limitations: "1, 2" },
        (_session, i) => ({
          url: "http://origin/a,b.m3u8",
          channel: "ch",
          applicationData: {},
          networkData: { features: { throughput: { mean_mbps: 1.5 + i }, rtt_avg_ms: 10 } },
          labels: { stalled: i === 0, stall_count: i === 0 ? 2 : 0 },
          captureFile: null,
          captureSize: null,
        }),
      );
      const csv = await (await app.request(`/api/trainings/${trainingId}/export?format=csv`)).text();
      const lines = csv.trim().split("\n");
      assert.equal(lines.length, 3);
      const header = lines[0]?.split(",") ?? [];
      assert.ok(header.includes("net_throughput_mean_mbps"));
      assert.ok(header.includes("label_stalled"));
      assert.match(lines[1] ?? "", /"http:\/\/origin\/a,b\.m3u8"/);
      const parquet = await app.request(`/api/trainings/${trainingId}/export?format=parquet`);
      const bytes = new Uint8Array(await parquet.arrayBuffer());
      assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), "PAR1");
      const { parquetReadObjects } = await import("hyparquet");
      const rows = await parquetReadObjects({ file: bytes.buffer as ArrayBuffer });
      assert.equal(rows.length, 2);
      const unknown = await app.request(`/api/trainings/${trainingId}/export?format=xls`);
      assert.equal(unknown.status, 400);
      const sessions = await listSessions(db, trainingId);
      const page = await (await app.request(`/sessions/${sessions[0]?.id}`)).text();
      assert.match(page, /<svg/);
    });
  });
}
