import { readFileSync } from "node:fs";

/** ../shared/data/realcaps from the repository root (the tests' working folder). */
export const REALCAPS = "../shared/data/realcaps";

/**
 * Every realcaps capture, as test-data/realcaps-capinfos.tsv lists them (src/fuzz/realcaps-walk.test.ts
 * checks that the table lists every one).
 */
export function realcapsFiles(): string[] {
  return readFileSync("test-data/realcaps-capinfos.tsv", "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.split("\t")[0]!);
}
