import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OrchestratorEvent, SessionRow, TrainingRow } from "../../collect/index.ts";
import { qoelabCommand } from "../../netlab/index.ts";
import type { NobodyCollectConfig } from "./collect-as-nobody.ts";

/*
 * Non-root collection in tests, all real: this (root) process starts `qoelab shaperd` for the user
 * "nobody", and runs collect-as-nobody.ts as nobody with a home of its own (its origin cache and
 * PGlite), so every privileged step of its sessions crosses the daemon's socket.
 */

export const NOBODY = 65534;

export type NobodyMessage =
  | { kind: "trainings"; ids: number[] }
  | { kind: "event"; event: OrchestratorEvent }
  | { kind: "listening"; url: string }
  | {
      kind: "result";
      uid: number;
      operator: string;
      trainings: TrainingRow[];
      sessions: Record<string, SessionRow[]>;
    };

export type NobodyResult = Extract<NobodyMessage, { kind: "result" }>;

/** One run of collect-as-nobody.ts: its messages as they come, its end, and its stdin. */
export interface NobodyRun {
  /** Resolves with the final report; rejects with the log when the process fails. */
  readonly done: Promise<NobodyResult>;
  /** Resolves with the first message of this kind. */
  next<K extends NobodyMessage["kind"]>(kind: K): Promise<Extract<NobodyMessage, { kind: K }>>;
  /** What the process wrote to stderr so far (the orchestrator's log). */
  log(): string;
  send(line: string): void;
}

export interface ShaperdForNobody {
  readonly dir: string;
  readonly socketPath: string;
  readonly captureDir: string;
  /** The daemon's own log (every request it served). */
  daemonLog(): string;
  collect(
    config: Omit<NobodyCollectConfig, "dataDir" | "socket">,
    onMessage?: (message: NobodyMessage) => void,
  ): NobodyRun;
  close(): Promise<void>;
}

/** Starts the daemon (as root) for nobody in a fresh directory; `name` tells test files apart. */
export async function startShaperdForNobody(name: string): Promise<ShaperdForNobody> {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-${name}-`));
  chmodSync(dir, 0o755); // nobody reaches the socket; the daemon's captures stay root's
  const home = join(dir, "home");
  mkdirSync(home);
  chownSync(home, NOBODY, NOBODY);
  const socketPath = join(dir, "shaperd.sock");
  const captureDir = join(dir, "captures");
  const argv = qoelabCommand(["shaperd", "--socket", socketPath, "--capture-dir", captureDir, "--user", `${NOBODY}`]);
  const daemon: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let daemonLog = "";
  await new Promise<void>((resolve, reject) => {
    daemon.stdout!.on("data", (d: Buffer) => {
      daemonLog += d.toString();
      if (daemonLog.includes("listening on")) resolve();
    });
    daemon.stderr!.on("data", (d: Buffer) => {
      daemonLog += d.toString();
    });
    daemon.once("exit", (code) => reject(new Error(`shaperd exited ${code}: ${daemonLog}`)));
  });
  const children = new Set<ChildProcess>();
  let runs = 0;

  function collect(
    config: Omit<NobodyCollectConfig, "dataDir" | "socket">,
    onMessage?: (message: NobodyMessage) => void,
  ): NobodyRun {
    const full: NobodyCollectConfig = { ...config, dataDir: join(home, `db${runs++}`), socket: socketPath };
    const script = join(import.meta.dirname, "collect-as-nobody.ts");
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, "cache") };
    delete env.DATABASE_URL;
    const child = spawn(process.execPath, ["--import", import.meta.resolve("tsx"), script, JSON.stringify(full)], {
      uid: NOBODY,
      gid: NOBODY,
      cwd: home,
      env,
    });
    children.add(child);
    const seen: NobodyMessage[] = [];
    const waiting: { kind: string; resolve(m: NobodyMessage): void }[] = [];
    let stdout = "";
    let log = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      for (let nl = stdout.indexOf("\n"); nl >= 0; nl = stdout.indexOf("\n")) {
        const message = JSON.parse(stdout.slice(0, nl)) as NobodyMessage;
        stdout = stdout.slice(nl + 1);
        seen.push(message);
        onMessage?.(message);
        for (const waiter of waiting.filter((w) => w.kind === message.kind)) {
          waiting.splice(waiting.indexOf(waiter), 1);
          waiter.resolve(message);
        }
      }
    });
    child.stderr.on("data", (d: Buffer) => {
      log += d.toString();
    });
    const done = new Promise<NobodyResult>((resolve, reject) => {
      child.once("exit", (code) => {
        children.delete(child);
        const result = seen.find((m): m is NobodyResult => m.kind === "result");
        if (code === 0 && result) resolve(result);
        else reject(new Error(`collect as nobody exited ${code}: ${log}`));
      });
    });
    return {
      done,
      next: <K extends NobodyMessage["kind"]>(kind: K) => {
        const found = seen.find((m) => m.kind === kind);
        if (found) return Promise.resolve(found as Extract<NobodyMessage, { kind: K }>);
        return Promise.race([
          new Promise<Extract<NobodyMessage, { kind: K }>>((resolve) =>
            waiting.push({ kind, resolve: resolve as (m: NobodyMessage) => void }),
          ),
          done.then(() => {
            throw new Error(`collect as nobody ended without a "${kind}" message: ${log}`);
          }),
        ]);
      },
      log: () => log,
      send: (line) => child.stdin.write(`${line}\n`),
    };
  }

  return {
    dir,
    socketPath,
    captureDir,
    daemonLog: () => daemonLog,
    collect,
    async close() {
      for (const child of children) child.kill("SIGKILL");
      if (daemon.exitCode === null) {
        const exited = new Promise((resolve) => daemon.once("exit", resolve));
        daemon.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
