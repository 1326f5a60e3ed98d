import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { checkImports } from "../../scripts/check-arch.ts";

// Rule (d) of `npm run arch` on a small tree: browser code may share the JSON shapes of its page only
// as types from a page-data file of render/, and that file may hold nothing but types.
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-arch-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

test("browser code imports page-data types only, and page-data files hold only types", () => {
  const dir = tree({
    "render/live-data.ts": "export interface Live { n: number }\nexport type Kind = 'a' | 'b';\n",
    "render/bad-data.ts":
      'import { x } from "./view.ts";\nexport const limit = 3;\nexport interface Ok { x: number }\n',
    "render/view.ts": "export const x = 1;\n",
    "web/typed.browser.ts": 'import type { Live } from "../render/live-data.ts";\nexport const f = (l: Live) => l.n;\n',
    "web/value.browser.ts": 'import { Live } from "../render/live-data.ts";\nexport const g = (l: Live) => l.n;\n',
    "web/view.browser.ts": 'import type { x } from "../render/view.ts";\nexport type X = typeof x;\n',
  });
  try {
    const found = checkImports(dir)
      .map((v) => `${v.rule} ${v.file} ${v.specifier}`)
      .sort();
    assert.deepEqual(found, [
      "browser render/bad-data.ts export const limit = 3;",
      'browser render/bad-data.ts import { x } from "./view.ts";',
      "browser web/value.browser.ts ../render/live-data.ts",
      "browser web/view.browser.ts ../render/view.ts",
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
