import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { runInNewContext } from "node:vm";
import { browserScript, bundleBrowserScript } from "./browser-bundle.ts";

describe("browser bundles", () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-browser-bundle-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("one classic script: the entry's imports inlined, types erased, ?. and ?? kept", () => {
    mkdirSync(join(dir, "src"));
    writeFileSync(join(dir, "src", "label.ts"), 'export const label = (n: number): string => "n=" + n;\n');
    writeFileSync(
      join(dir, "src", "page.ts"),
      'import { label } from "./label.ts";\ninterface Box { v?: { n: number } }\nconst box: Box = { v: { n: 3 } };\n(globalThis as unknown as { out: string }).out = label(box.v?.n ?? 0);\n',
    );
    const script = bundleBrowserScript(join(dir, "src", "page.ts"));
    assert.doesNotMatch(script, /\bimport\b|\bexport\b|interface/);
    assert.match(script, /\?\.n \?\? 0/);
    const context: { out?: string } = {};
    runInNewContext(script, context);
    assert.equal(context.out, "n=3");
  });

  test("from the sources the .ts is bundled; built, the .js written in its place is served as is", () => {
    mkdirSync(join(dir, "dist"));
    writeFileSync(join(dir, "dist", "page.js"), "built();\n");
    assert.equal(browserScript(pathToFileURL(join(dir, "dist", "page.ts"))), "built();\n");
    const fromSource = browserScript(pathToFileURL(join(dir, "src", "page.ts")));
    assert.equal(fromSource, bundleBrowserScript(join(dir, "src", "page.ts")));
    // Kept in memory: a later edit is not seen until the server restarts.
    writeFileSync(join(dir, "dist", "page.js"), "rebuilt();\n");
    assert.equal(browserScript(pathToFileURL(join(dir, "dist", "page.ts"))), "built();\n");
  });

  test("a script that does not compile fails with esbuild's message", () => {
    writeFileSync(join(dir, "src", "broken.ts"), "const = ;\n");
    assert.throws(() => bundleBrowserScript(join(dir, "src", "broken.ts")), /broken\.ts/);
  });
});
