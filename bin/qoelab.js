#!/usr/bin/env node
// The `qoelab` command: the built CLI in dist/ (scripts/setup.sh builds it when the sources change),
// or, when dist/ is missing, the TypeScript sources through tsx (slower to start, same behaviour).
import { existsSync } from "node:fs";

const built = new URL("../dist/cli/main.js", import.meta.url);
if (existsSync(built)) {
  await import(built.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import(new URL("../src/cli/main.ts", import.meta.url).href);
}
