import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";

/**
 * Everything qoelab creates on the system is recorded under the run directory before it is created
 * (intent first), so a crashed run's leftovers are known and nothing else is ever touched.
 */
export function runDir(): string {
  return process.env.QOELAB_RUN_DIR ?? "/run/qoelab";
}

export function labsDir(): string {
  return join(runDir(), "labs");
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new QoelabError("NETLAB_STATE_CORRUPT", `${file}: not valid JSON (${(error as Error).message})`, { file });
  }
}

/** Atomic write (temp file + rename) so a crash never leaves half a state file. */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(join(file, ".."), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, file);
}

export async function removeFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

export async function listJson(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(".json")).map((f) => join(dir, f));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A per-name lock (a directory holding the owner's pid): two processes configuring the same lab
 * wait for each other; a lock whose owner died is taken over.
 */
export async function withLock<T>(name: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const dir = join(labsDir(), `${name}.lock`);
  await mkdir(labsDir(), { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = Number.parseInt((await readFile(join(dir, "pid"), "utf8").catch(() => "")) || "0", 10);
      if (owner > 0 && !pidAlive(owner)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new QoelabError("NETLAB_LOCKED", `lab "${name}" is being configured by process ${owner}`, {
          lab: name,
          pid: owner,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export { pidAlive };
