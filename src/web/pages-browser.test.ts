import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type ServerType, serve } from "@hono/node-server";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { claimNextSession, completeSession, DEFAULT_LADDER, failSession } from "../collect/index.ts";
import { type Db, openDb } from "../db/index.ts";
import { createApp } from "./app.ts";

// The pages in real Chromium: the home page's form (the browser's own checks, then a server error
// inside "More"), a training page that follows sessions being captured and failing without a
// reload, a session page and an export. Collection is simulated through the store.
const dir = mkdtempSync(join(tmpdir(), `qoelab-pages-${process.pid}-`));
let db: Db;
let server: ServerType;
let url = "";
let browser: Awaited<ReturnType<typeof chromium.launch>>;

before(async () => {
  db = await openDb({ url: "", dataDir: "memory://" });
  const app = createApp({ db });
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    (server as { closeAllConnections?: () => void } | undefined)?.closeAllConnections?.();
  });
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const result = (i: number) => ({
  url: "http://10.77.0.130:8080/testcard/master.m3u8",
  channel: "testcard",
  applicationData: {
    samples: [1, 2, 3].map((t) => ({ t, height: 720, bitrate: 2_000_000, buffer: 4 })),
    stalls: [{ start: 1, duration: 0.5 }],
  },
  networkData: { series: { window: 1, bytes: [100000, 250000, 240000] }, features: { down_mbps_mean: 1.9 } },
  labels: { stall_count: i + 1, stalled: true },
  captureFile: null,
  captureSize: null,
});

test("home page form, a live training page that shows a failure and a moving bar, session page, export", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  assert.equal(await page.locator("form#new-training").count(), 1, "the home page is the form");
  assert.equal(await page.locator("table#trainings").count(), 1, "with the trainings below it");
  assert.equal(await page.getAttribute("#number_of_videos", "type"), "number");
  assert.equal(await page.getAttribute("#number_of_videos", "min"), "1");
  const renditions = (await page.textContent("#renditions")) ?? "";
  for (const r of DEFAULT_LADDER)
    assert.ok(renditions.includes(r.name), `rendition ${r.name} beside the bandwidth field`);

  // The browser checks first: -1 videos is not submitted.
  await page.fill("#number_of_videos", "-1");
  await page.fill("#session_duration", "20");
  await page.fill("#bw_limitations", "0.25, 1, 2");
  await page.click("button[type=submit]");
  assert.equal(new URL(page.url()).pathname, "/");
  assert.notEqual(await page.$eval("#number_of_videos", (e) => (e as HTMLInputElement).validationMessage), "");

  // A server-side error inside "More" opens it: a person's sessions take no added delay.
  await page.fill("#number_of_videos", "3");
  await page.click("#more summary");
  await page.selectOption("#driver", "person");
  await page.fill("#delay_ms", "20");
  await page.fill("#max_attempts", "1");
  await page.click("button[type=submit]");
  await page.waitForSelector("#driver-error");
  assert.equal(await page.getAttribute("#more", "open"), "", "More is open after the reload");
  assert.ok(await page.isVisible("#driver-error"));
  assert.equal(await page.inputValue("#bw_limitations"), "0.25, 1, 2", "the other fields keep their values");
  await page.fill("#delay_ms", "0");
  await page.click("button[type=submit]");
  await page.waitForURL(/\/trainings\/\d+$/);
  const trainingId = Number(page.url().split("/").pop());
  assert.equal(await page.locator("tr.session").count(), 3);
  assert.equal((await page.textContent("#captured"))?.trim(), "0/3");
  assert.equal(
    await page
      .locator("script")
      .evaluateAll((scripts) => scripts.map((s) => s.getAttribute("src")))
      .then(String),
    "/assets/training-live.js",
    "the poller is the page's one script, web/training-live.browser.ts",
  );
  await page.evaluate(() => {
    (window as unknown as { notReloaded: boolean }).notReloaded = true;
  });
  const width = (segment: string) =>
    page.$eval(`#bar-${segment}`, (e) => Number.parseFloat((e as HTMLElement).style.width) || 0);

  // One session is captured while the page is open: its row, the counters and the bar follow.
  const first = await claimNextSession(db, "test", { trainingId, driver: "person" });
  assert.ok(first);
  await page.waitForFunction(
    (id) => document.querySelector(`tr.session[data-id="${id}"] .status`)?.textContent === "under capturing",
    first.id,
    { timeout: 20_000 },
  );
  await completeSession(db, first.id, result(0));
  await page.waitForFunction(() => document.querySelector("#captured")?.textContent?.trim() === "1/3", undefined, {
    timeout: 20_000,
  });
  assert.ok((await width("captured")) > 30, "the bar moved");
  assert.equal(
    (await page.textContent(`tr.session[data-id="${first.id}"] .stalls`))?.trim(),
    "1",
    "stalls in the table",
  );

  // The next one fails (one attempt allowed): the page shows the failure and its reason.
  const second = await claimNextSession(db, "test", { trainingId, driver: "person" });
  assert.ok(second);
  await failSession(db, second.id, "player error: manifestLoadError (fatal)", second.attempts);
  await page.waitForFunction(() => document.querySelector("#failed")?.textContent?.trim() === "1", undefined, {
    timeout: 20_000,
  });
  assert.match((await page.textContent(`tr.session[data-id="${second.id}"] .error-reason`)) ?? "", /manifestLoadError/);
  assert.ok((await width("failed")) > 30, "the failed part of the bar grew");
  assert.match((await page.textContent("#eta-basis")) ?? "", /measured on 1/, "the estimate uses the measured session");

  const third = await claimNextSession(db, "test", { trainingId, driver: "person" });
  assert.ok(third);
  await completeSession(db, third.id, result(2));
  await page.waitForFunction(() => document.querySelector("#captured")?.textContent?.trim() === "2/3", undefined, {
    timeout: 20_000,
  });
  await page.waitForFunction(() => document.querySelector("#live-state")?.textContent === "finished", undefined, {
    timeout: 20_000,
  });
  assert.equal((await page.textContent("#state"))?.trim(), "finished-with-failures");
  assert.equal(
    await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded),
    true,
    "all of it without a reload",
  );

  await page.click(`tr.session[data-id="${first.id}"] a`);
  await page.waitForURL(/\/sessions\/\d+$/);
  assert.ok((await page.locator("#timeline svg path.series").count()) > 0, "player timeline plotted");
  assert.ok((await page.locator("#timeline svg rect.band").count()) > 0, "stall shaded");
  assert.ok((await page.locator("#throughput svg path.series").count()) > 0, "throughput plotted");

  await page.goBack();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
  const path = join(dir, "export.csv");
  await download.saveAs(path);
  const lines = readFileSync(path, "utf8").trim().split("\n");
  assert.equal(lines.length, 3, "header + one row per captured session");
  await context.close();
});
