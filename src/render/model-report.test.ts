import assert from "node:assert/strict";
import { test } from "node:test";
import { renderModelReport } from "./model-report.ts";
import { syntheticModel } from "./test-support/synthetic-model.ts";

test("a model's report: one page with the confusion matrix, importance and per-bandwidth bars", async () => {
  const { file } = await syntheticModel();
  const html = renderModelReport(file);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /<svg[^>]*confusion matrix/);
  assert.match(html, /accuracy by bandwidth limit/);
  assert.match(html, /permutation: accuracy drop/);
  assert.doesNotMatch(html, /NaN|<script/);
});
