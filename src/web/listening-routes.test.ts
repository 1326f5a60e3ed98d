import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Hono } from "hono";
import { openTestDb, testDatabaseKinds } from "../db/test-support/test-db.ts";
import { writeClipFolder } from "../quality/listening/index.ts";
import { createListeningApp, registerListeningRoutes } from "./listening-routes.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-listen-routes-${process.pid}-`));
after(() => rmSync(work, { recursive: true, force: true }));

for (const kind of testDatabaseKinds()) {
  describe(`listening routes on ${kind}`, () => {
    let db: Awaited<ReturnType<typeof openTestDb>>;
    const app = new Hono();
    const dir = join(work, kind);
    before(async () => {
      db = await openTestDb(kind);
      registerListeningRoutes(app, db);
      writeClipFolder(dir, { conditions: 2 });
    });
    after(async () => db.drop());

    const upload = (files: Array<[string, Uint8Array | string]>, method = "acr") => {
      const form = new FormData();
      form.set("name", "uploaded");
      form.set("method", method);
      for (const [name, body] of files) form.append("clips", new File([body as BlobPart], name));
      return app.request("/api/listen/tests", { method: "POST", body: form });
    };
    const post = (path: string, body: unknown) =>
      app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });

    it("answers bad input with 4xx JSON and stores nothing twice", async () => {
      const notAudio = await upload([["c0.wav", "hello, I am text"]]);
      assert.equal(notAudio.status, 400);
      const body = (await notAudio.json()) as { code: string; message: string };
      assert.equal(body.code, "LISTEN_CLIP_NOT_AUDIO");
      assert.match(body.message, /c0\.wav: not a WAV audio file/);

      const created = await upload([
        ["c0.wav", readFileSync(join(dir, "c0", "clip1.wav"))],
        ["c1.wav", readFileSync(join(dir, "c1", "clip1.wav"))],
      ]);
      assert.equal(created.status, 201);
      const test = (await created.json()) as { id: number };

      const unknown = await app.request("/api/listen/tests/424242/raters/amy/state");
      assert.equal(unknown.status, 404);
      assert.equal(((await unknown.json()) as { code: string }).code, "LISTEN_TEST_NOT_FOUND");
      assert.equal((await app.request("/listen/424242/admin")).status, 404);

      const base = `/api/listen/tests/${test.id}/raters/amy`;
      const clipsRows = await db.query<{ answer: string }>(
        "SELECT answer FROM listening_clip WHERE test_id = $1 AND kind = 'hearing'",
        [test.id],
      );
      assert.equal((await post(`${base}/hearing`, { answer: clipsRows[0]!.answer })).status, 200);
      const state = (await (await app.request(`${base}/state`)).json()) as {
        stage: string;
        item: { clipId: number; audio: string };
      };
      assert.equal(state.stage, "training");
      const audio = await app.request(state.item.audio);
      assert.equal(audio.headers.get("content-type"), "audio/wav");

      const outside = await post(`${base}/ratings`, { clipId: state.item.clipId, score: 9 });
      assert.equal(outside.status, 400);
      assert.equal(((await outside.json()) as { code: string }).code, "LISTEN_BAD_SCORE");
      assert.equal((await post(`${base}/ratings`, { clipId: state.item.clipId, score: 4 })).status, 201);
      const again = await post(`${base}/ratings`, { clipId: state.item.clipId, score: 2 });
      assert.equal(again.status, 409);
      assert.equal(((await again.json()) as { code: string }).code, "LISTEN_DUPLICATE_RATING");
      const garbage = await app.request(`${base}/ratings`, { method: "POST", body: "{not json" });
      assert.equal(garbage.status, 400);
      const rows = await db.query<{ n: string; score: number }>(
        "SELECT count(*) OVER () AS n, score FROM listening_rating g JOIN listening_rater r ON r.id = g.rater_id WHERE r.rater_key = 'amy'",
      );
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.score, 4, "the first rating stands");
      const csv = await (await app.request(`/api/listen/tests/${test.id}/ratings.csv`)).text();
      assert.equal(csv.trim().split("\n").length, 2);
    });
  });
}

describe("qoelab listen serve's pages", () => {
  it("link only to pages that app serves (no 404 behind the header)", async () => {
    const db = await openTestDb("pglite");
    try {
      const app = createListeningApp(db);
      const list = await app.request("/listen");
      assert.equal(list.status, 200);
      const header = /<header>(.*?)<\/header>/s.exec(await list.text())?.[1] ?? "";
      const hrefs = [...header.matchAll(/href="([^"]+)"/g)].map((m) => m[1] ?? "");
      assert.ok(hrefs.includes("/listen"), header);
      assert.ok(!header.includes("New training"), header);
      for (const href of hrefs) {
        const answer = await app.request(href.replace(/#.*$/, ""), { redirect: "manual" });
        assert.notEqual(answer.status, 404, `${href} answered 404`);
      }
    } finally {
      await db.drop();
    }
  });
});
