import type { Hono } from "hono";
import { browserScript } from "../common/index.ts";

/** The pages' scripts web serves under /assets/, each a browser script of this folder (see common/browser-bundle.ts). */
const PAGE_SCRIPTS: Readonly<Record<string, string>> = {
  // The training page's live poller (render/training-pages.ts).
  "/assets/training-live.js": "./training-live.browser.ts",
  // A running classification's page reloads itself (render/classify-view.ts).
  "/assets/classify-job.js": "./classify-job.browser.ts",
};

export function registerPageScripts(app: Hono): void {
  for (const [path, entry] of Object.entries(PAGE_SCRIPTS))
    app.get(path, (c) =>
      c.body(browserScript(new URL(entry, import.meta.url)), 200, {
        "content-type": "text/javascript; charset=utf-8",
      }),
    );
}
