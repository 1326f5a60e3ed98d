import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { startServer } from "../cli/serve.ts";
import { claimNextSession, completeSession } from "../collect/index.ts";
import { type Db, openDb } from "../db/index.ts";

// The pages in real Chromium: submit the form (a bad field first), watch progress, open a
// session, export. Collection itself is simulated through the store so the test stays short.
const dir = mkdtempSync(join(tmpdir(), "qoelab-pages-"));
let db: Db;
let server: Awaited<ReturnType<typeof startServer>>;
let browser: Awaited<ReturnType<typeof chromium.launch>>;

before(async () => {
  db = await openDb({ url: "", dataDir: "memory://" });
  server = await startServer({ host: "127.0.0.1", port: String(20000 + (process.pid % 20000)), db, collect: false });
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
});
after(async () => {
  await browser?.close();
  await server?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("form, live progress, session page and export in Chromium", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(`${server.url}/trainings/new`);
  await page.fill("#number_of_videos", "3");
  await page.fill("#session_duration", "abc");
  await page.fill("#bw_limitations", "0.25, 1, 2");
  await page.click("button[type=submit]");
  assert.match((await page.textContent("#session_duration-error")) ?? "", /whole number/);
  assert.equal(await page.inputValue("#bw_limitations"), "0.25, 1, 2", "the other fields keep their values");
  await page.fill("#session_duration", "20");
  await page.click("button[type=submit]");
  await page.waitForURL(/\/trainings\/\d+$/);
  const trainingId = Number(page.url().split("/").pop());
  assert.equal(await page.locator("tr.session").count(), 3);
  assert.equal((await page.textContent("#captured"))?.trim(), "0/3");

  // Sessions get captured while the page is open: its progress follows without a reload.
  for (let i = 0; i < 3; i++) {
    const session = await claimNextSession(db, "test", { trainingId });
    assert.ok(session);
    await completeSession(db, session.id, {
      url: "http://10.77.0.130:8080/testcard/master.m3u8",
      channel: "testcard",
      applicationData: {
        samples: [1, 2, 3].map((t) => ({ t, height: 720, bitrate: 2_000_000, buffer: 4 })),
        stalls: [{ start: 1, duration: 0.5 }],
      },
      networkData: { series: { window: 1, bytes: [100000, 250000, 240000] }, features: { down_mbps_mean: 1.9 } },
      labels: { stall_count: 1, stalled: true },
      captureFile: null,
      captureSize: null,
    });
  }
  await page.waitForFunction(() => document.querySelector("#captured")?.textContent?.trim() === "3/3", undefined, {
    timeout: 20_000,
  });
  assert.equal((await page.textContent("#state"))?.trim(), "finished");

  await page.reload();
  await page.click("tr.session a >> nth=0");
  await page.waitForURL(/\/sessions\/\d+$/);
  assert.ok((await page.locator("#timeline svg path.series").count()) > 0, "player timeline plotted");
  assert.ok((await page.locator("#timeline svg rect.band").count()) > 0, "stall shaded");
  assert.ok((await page.locator("#throughput svg path.series").count()) > 0, "throughput plotted");

  await page.goBack();
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
  const path = join(dir, "export.csv");
  await download.saveAs(path);
  const lines = readFileSync(path, "utf8").trim().split("\n");
  assert.equal(lines.length, 4, "header + one row per session");
  await context.close();
});
