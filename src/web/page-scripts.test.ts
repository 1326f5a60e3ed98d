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
      // Each document notes when its navigation began (its timeOrigin) in the tab's sessionStorage, so
      // the test reads the page's own clock, however slowly this machine runs the test in between; a
      // read that meets a reload is retried (the page goes on reloading every second).
      await page.addInitScript(() => {
        const origins = JSON.parse(sessionStorage.getItem("origins") ?? "[]") as number[];
        origins.push(performance.timeOrigin);
        sessionStorage.setItem("origins", JSON.stringify(origins));
      });
      const origins = async (): Promise<number[]> => {
        for (;;) {
          try {
            return await page.evaluate(() => JSON.parse(sessionStorage.getItem("origins") ?? "[]") as number[]);
          } catch (error) {
            if (!/context was destroyed|navigat/i.test(String(error))) throw error;
          }
        }
      };
      await page.goto(`${base}/job/running`);
      const deadline = Date.now() + 30_000;
      let seen = await origins();
      while (seen.length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        seen = await origins();
      }
      assert.ok(seen.length >= 2, "the running job's page reloads");
      const [first = 0, second = 0] = seen;
      assert.ok(second - first >= 995, `reloaded ${second - first} ms after loading`);
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
