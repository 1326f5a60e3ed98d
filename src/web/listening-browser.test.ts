import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Browser, Page } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { openTestDb } from "../db/test-support/test-db.ts";
import { listClips, listeningOverview, type StoredClip } from "../quality/listening/index.ts";
import { createToneTest } from "../quality/listening/test-support/tone-test.ts";
import { registerListeningRoutes } from "./listening-routes.ts";

const work = mkdtempSync(join(tmpdir(), `qoelab-listen-browser-${process.pid}-`));
let db: Awaited<ReturnType<typeof openTestDb>>;
let server: ReturnType<typeof serve>;
let browser: Browser;
let base = "";
let testId = 0;
let clips = new Map<number, StoredClip>();

before(async () => {
  // Chromium starts while the database and the test's audio are prepared.
  const launching = import("playwright-core").then(({ chromium }) =>
    chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS }),
  );
  launching.catch(() => undefined);
  db = await openTestDb("pglite");
  const test = await createToneTest(db, join(work, "clips"), {
    name: "browser ACR",
    seed: 11,
    conditions: 3,
    seconds: 0.4,
  });
  testId = test.id;
  clips = new Map((await listClips(db, testId)).map((c) => [c.id, c]));
  const app = new Hono();
  registerListeningRoutes(app, db);
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launching;
});

after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await db?.drop();
  rmSync(work, { recursive: true, force: true });
});

/** Counts every audio element's `ended` event, by URL, inside the page. */
const COUNT_ENDED = `(() => {
  const Original = window.Audio;
  window.__ended = [];
  window.Audio = function (src) {
    const audio = new Original(src);
    audio.addEventListener("ended", () => window.__ended.push(src));
    return audio;
  };
})();`;

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  await context.addInitScript({ content: COUNT_ENDED });
  return context.newPage();
}

async function stage(page: Page): Promise<string> {
  await page.waitForFunction(() => document.getElementById("listen-app")?.getAttribute("data-stage") !== "loading");
  return (await page.getAttribute("#listen-app", "data-stage")) ?? "";
}

/**
 * Takes one step as a listener would: play, wait until the buttons enable (after `ended`), answer.
 * Returns the rated clip, or null when the page shows the end.
 */
async function step(page: Page, answer: (clip: StoredClip) => number): Promise<StoredClip | null> {
  const current = await stage(page);
  if (current === "done" || current === "hearing-failed") return null;
  if (current === "hearing") {
    await page.click("#play");
    await page.waitForSelector("#hearing-answer:enabled", { timeout: 20_000 });
    await page.fill("#hearing-answer", "5 8 3");
    await page.click("#hearing-submit");
    await page.waitForFunction(() => document.getElementById("listen-app")?.getAttribute("data-stage") !== "hearing");
    return step(page, answer);
  }
  const clipId = Number(await page.getAttribute("#listen-item", "data-clip"));
  const clip = clips.get(clipId)!;
  assert.equal(await page.isEnabled("button.score >> nth=0"), false, "rating is locked before the clip has played");
  await page.click("#play");
  const score = answer(clip);
  await page.waitForSelector(`button.score[data-score="${score}"]:enabled`, { timeout: 20_000 });
  await page.click(`button.score[data-score="${score}"]`);
  await page.waitForFunction((id) => {
    const item = document.getElementById("listen-item");
    return !item || item.getAttribute("data-clip") !== String(id);
  }, clipId);
  return clip;
}

const honest = (clip: StoredClip) =>
  clip.kind === "trap" || clip.kind === "gold"
    ? clip.expectedScore!
    : clip.kind === "training"
      ? 3
      : 5 - Number(clip.condition.slice(1));

async function ratingsOf(rater: string): Promise<number> {
  const rows = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM listening_rating g JOIN listening_rater r ON r.id = g.rater_id WHERE r.rater_key = $1",
    [rater],
  );
  return Number(rows[0]!.n);
}

/** A careless rater answering the trap wrongly; runs beside the other raters to keep the file short. */
async function carelessRater(rater: string): Promise<void> {
  const page = await newPage();
  await page.goto(`${base}/listen/${testId}/r/${rater}`);
  const careless = (clip: StoredClip) => (clip.kind === "trap" ? 5 : honest(clip));
  while (await step(page, careless));
  await page.context().close();
}

describe("listening test in Chromium", () => {
  const orders: Record<string, number[]> = {};
  let malloryRun: Promise<void> | undefined;

  it("a rater completes an ACR test: every clip plays to `ended`, ratings land in the database", async () => {
    malloryRun = carelessRater("mallory");
    malloryRun.catch(() => undefined); // awaited (and reported) by the trap test
    const page = await newPage();
    await page.goto(`${base}/listen/${testId}`);
    await page.fill("#rater", "alice");
    await page.click("#start");
    await page.waitForURL(`${base}/listen/${testId}/r/alice`);
    const rated: StoredClip[] = [];
    for (let clip = await step(page, honest); clip; clip = await step(page, honest)) rated.push(clip);
    assert.equal(await stage(page), "done");
    const sequence = rated.filter((c) => c.kind !== "training");
    orders.alice = sequence.map((c) => c.id);
    assert.equal(sequence.length, [...clips.values()].filter((c) => ["test", "gold", "trap"].includes(c.kind)).length);
    const ended = (await page.evaluate(() => (window as unknown as { __ended: string[] }).__ended)) as string[];
    // the hearing check plus one `ended` per rated clip
    assert.equal(ended.length, rated.length + 1);
    for (const clip of rated)
      assert.ok(
        ended.some((url) => url.includes(clip.audioSha256)),
        `clip ${clip.name} played to the end`,
      );
    assert.equal(await ratingsOf("alice"), rated.length);
    assert.match(
      (await page.textContent("#listen-progress")) ?? "",
      new RegExp(`Rated ${sequence.length} of ${sequence.length}`),
    );
    await page.context().close();
  });

  it("a reload resumes where the rater was, and a second rater gets a different order", async () => {
    const page = await newPage();
    await page.goto(`${base}/listen/${testId}/r/bob`);
    const rated: StoredClip[] = [];
    while (rated.filter((c) => c.kind !== "training").length < 2) rated.push((await step(page, honest))!);
    await page.reload();
    assert.equal(await stage(page), "rating");
    assert.match((await page.textContent("#listen-progress")) ?? "", /^Rated 2 of /);
    const resumedAt = Number(await page.getAttribute("#listen-item", "data-clip"));
    assert.ok(!rated.some((c) => c.id === resumedAt), "the page continues with an unrated clip");
    for (let clip = await step(page, honest); clip; clip = await step(page, honest)) rated.push(clip);
    orders.bob = rated.filter((c) => c.kind !== "training").map((c) => c.id);
    assert.equal(orders.bob[2], resumedAt);
    assert.notDeepEqual(orders.bob, orders.alice);
    assert.deepEqual([...orders.bob].sort(), [...orders.alice!].sort());
    assert.equal(await ratingsOf("bob"), rated.length, "nothing stored twice across the reload");
    await page.context().close();
  });

  it("a rater who fails the trap is excluded from the statistics", async () => {
    await malloryRun;
    const overview = await listeningOverview(db, testId);
    const mallory = overview.stats.raters.find((r) => r.rater === "mallory")!;
    assert.equal(mallory.excluded, true);
    assert.equal(mallory.trapsFailed, 1);
    assert.equal(overview.stats.all.raters, 3);
    assert.equal(overview.stats.screened.raters, 2);
    for (const c of overview.stats.screened.conditions) assert.equal(c.n, 2);
    const admin = await browser.newPage();
    await admin.goto(`${base}/listen/${testId}/admin`);
    assert.match((await admin.textContent('tr[data-rater="mallory"]')) ?? "", /excluded: failed 1 trapping clip/);
    assert.equal(await admin.locator("#chart svg rect.bar").count(), 6);
    await admin.close();
  });
});
