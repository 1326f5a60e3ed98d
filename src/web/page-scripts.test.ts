import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import type { Browser } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { type ClassifyJobView, classifyJobPage } from "../render/index.ts";
import { registerPageScripts } from "./page-scripts.ts";

// The pages' scripts as served, and a Classify run's page in Chromium: it reloads itself every
// second while the run goes on, and stays put once it failed. (The training page's poller is
// driven by pages-browser.test.ts.)
const app = new Hono();
registerPageScripts(app);
app.get("/job/:state", (c) => {
  const state = c.req.param("state") as ClassifyJobView["state"];
  return c.html(
    classifyJobPage({
      id: 1,
      trainingId: 2,
      state,
      progress: { done: 1, total: 4, message: "fold 1" },
      error: state === "failed" ? { code: "ML_NO_ROWS", message: "nothing to learn" } : undefined,
    }),
  );
});

let server: ReturnType<typeof serve>;
let browser: Browser;
let base = "";

before(async () => {
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

describe("page scripts", () => {
  it("serves each page's bundled script as JavaScript", async () => {
    for (const [path, holds] of [
      ["/assets/training-live.js", "/api/trainings/"],
      ["/assets/classify-job.js", "location.reload()"],
    ] as const) {
      const response = await app.request(path);
      assert.equal(response.status, 200, path);
      assert.equal(response.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.ok((await response.text()).includes(holds), `${path} holds ${holds}`);
    }
  });

  it("a running classification's page loads its script instead of an inline one", () => {
    const running = classifyJobPage({
      id: 1,
      trainingId: 2,
      state: "running",
      progress: { done: 0, total: 1, message: "" },
    });
    assert.match(running, /<script src="\/assets\/classify-job\.js"><\/script>/);
    assert.doesNotMatch(running, /<script>/);
  });

  it("a running classification's page reloads itself after a second; a failed one does not", async () => {
    const page = await browser.newPage();
    const mark = () =>
      page.evaluate(() => {
        (window as unknown as { marked?: boolean }).marked = true;
      });
    const marked = () => page.evaluate(() => (window as unknown as { marked?: boolean }).marked === true);
    try {
      await page.goto(`${base}/job/running`);
      await mark();
      const started = Date.now();
      await page.waitForFunction(() => !(window as unknown as { marked?: boolean }).marked, undefined, {
        timeout: 10_000,
      });
      assert.ok(Date.now() - started >= 800, "not before a second has passed");
      assert.equal(await page.textContent("#classify-progress span"), "fold 1");

      await page.goto(`${base}/job/failed`);
      await mark();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal(await marked(), true, "the failed run's page stays");
      assert.equal(await page.locator("script").count(), 0);
    } finally {
      await page.close();
    }
  });
});
