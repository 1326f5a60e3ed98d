import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

/** The repository's root: where `src/cli/main.ts` and tsx are found. */
const REPO_ROOT = resolve(import.meta.dirname, "../../..");

/** node's arguments that run `qoelab ARGS…` from the sources (relative to the repository's root). */
export function qoelabArgv(args: readonly string[]): string[] {
  return ["--import", "tsx", "src/cli/main.ts", ...args];
}

/** Runs `qoelab ARGS…` from the sources in the repository's root to its end: status, stdout and stderr as text. */
export function runQoelab(
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {},
) {
  return spawnSync(process.execPath, qoelabArgv(args), { encoding: "utf8", cwd: REPO_ROOT, ...options });
}
