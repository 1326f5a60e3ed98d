import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ListeningTest } from "../quality/listening/index.ts";
import { listeningStartPage } from "./listening-pages.ts";

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

  it("the whole web app's pages still link to the video pages", () => {
    const test = { id: 1, name: "t", method: "acr" } as unknown as ListeningTest;
    assert.match(listeningStartPage(test, { question: "Quality", options: [] } as never, "r1"), /New training/);
  });
});
