// Completes dist/ after tsc: copies the files the built package reads (SQL migrations) and bundles
// the browser scripts (every src/**/*.browser.ts → dist/**/*.browser.js, one classic script each).
import { cpSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

for (const [from, to] of [["src/db/migrations", "dist/db/migrations"]]) {
  mkdirSync(to, { recursive: true });
  cpSync(from, to, { recursive: true });
}

/** The entries: the browser scripts (`*.browser.ts`) under src/. */
function* browserEntries(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* browserEntries(path);
    else if (entry.name.endsWith(".browser.ts")) yield path;
  }
}

// The same esbuild settings as a server running from the sources (tsc has just compiled them).
const { bundleBrowserScript } = await import("../dist/common/browser-bundle.js");
for (const entry of browserEntries("src")) {
  const out = join("dist", relative("src", entry)).replace(/\.ts$/, ".js");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bundleBrowserScript(join(process.cwd(), entry)));
}
