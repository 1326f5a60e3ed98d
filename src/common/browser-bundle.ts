// Browser scripts are TypeScript files named `*.browser.ts` (type-checked by tsconfig.browser.json);
// a page loads each one as a single classic script, bundled by esbuild. The build writes the bundles
// into dist/ (scripts/copy-assets.mjs); running from the sources, the first request bundles the file.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** esbuild's settings for every browser script, at build time and from the sources alike. */
const BUNDLE_OPTIONS = {
  bundle: true,
  // One classic script: the pages load it with a plain <script src>, after hls.js where needed.
  format: "iife",
  platform: "browser",
  // The syntax the scripts are written in (?., ??): kept as written, as the browsers we drive read it.
  target: "es2020",
  charset: "utf8",
  write: false,
} as const;

/** A browser script's JavaScript, from its TypeScript entry (an absolute path). Needs esbuild (a devDependency). */
export function bundleBrowserScript(entry: string): string {
  const esbuild = createRequire(import.meta.url)("esbuild") as typeof import("esbuild");
  const [output] = esbuild.buildSync({ ...BUNDLE_OPTIONS, entryPoints: [entry] }).outputFiles;
  if (!output) throw new Error(`esbuild wrote nothing for ${entry}`);
  return output.text;
}

const scripts = new Map<string, string>();

/**
 * The JavaScript a page loads for the browser entry `entry` (the URL of its `.ts`, next to the
 * caller's module): bundled once when the `.ts` is there (running from the sources), else the `.js`
 * the build wrote in its place (dist/ holds no `.ts` and needs no esbuild). Kept in memory.
 */
export function browserScript(entry: URL): string {
  const path = fileURLToPath(entry);
  let script = scripts.get(path);
  if (script === undefined) {
    script = existsSync(path) ? bundleBrowserScript(path) : readFileSync(path.replace(/\.ts$/, ".js"), "utf8");
    scripts.set(path, script);
  }
  return script;
}
