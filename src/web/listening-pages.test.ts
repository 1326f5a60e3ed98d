import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { openTestDb } from "../db/test-support/test-db.ts";
import type { ListeningTest } from "../quality/listening/index.ts";
import { listeningStartPage } from "./listening-pages.ts";
import { createListeningApp } from "./listening-routes.ts";

describe("listening pages", () => {
  it("the rater name's pattern compiles as browsers compile it (the v flag)", () => {
    const test = { id: 1, name: "t", method: "acr" } as unknown as ListeningTest;
    const html = listeningStartPage(test, { question: "Quality", options: [] } as never, "r1");
    const pattern = /pattern="([^"]+)"/.exec(html)?.[1] ?? "";
    assert.ok(pattern.length > 0);
    const regex = new RegExp(`^(?:${pattern})$`, "v");
    assert.ok(regex.test("rater-1.a_b"));
    assert.ok(!regex.test("a b"));
  });
});

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

  it("the whole web app's pages still link to the video pages", () => {
    const test = { id: 1, name: "t", method: "acr" } as unknown as ListeningTest;
    assert.match(listeningStartPage(test, { question: "Quality", options: [] } as never, "r1"), /New training/);
  });
});
