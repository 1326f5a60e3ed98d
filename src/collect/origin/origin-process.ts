import type { ChildProcess } from "node:child_process";
import { QoelabError } from "../../errors.ts";
import { qoelabCommand, spawnTool } from "../../netlab/index.ts";

/** The built-in origin's HTTP server running in a lab host (`qoelab origin serve` in its namespace). */
export interface OriginProcess {
  readonly pid: number | undefined;
  /** False once the server exited (killed, crashed): the next session starts another. */
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts `qoelab origin serve --root ROOT` inside `netns` and resolves once it says "serving".
 * With `runAs` (root starting it for an unprivileged web app) it runs as that user through setpriv,
 * so it serves only what that user may read.
 */
export async function startOriginProcess(options: {
  netns: string;
  root: string;
  port: number;
  runAs?: { uid: number; gid: number };
}): Promise<OriginProcess> {
  const serve = qoelabCommand([
    "origin",
    "serve",
    "--root",
    options.root,
    "--host",
    "0.0.0.0",
    "--port",
    String(options.port),
  ]);
  const argv = options.runAs
    ? ["setpriv", `--reuid=${options.runAs.uid}`, `--regid=${options.runAs.gid}`, "--clear-groups", ...serve]
    : serve;
  const child: ChildProcess = spawnTool(argv, { netns: options.netns, stdio: ["ignore", "pipe", "pipe"] });
  const where = `origin in ${options.netns}`;
  await new Promise<void>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new QoelabError("ORIGIN_START_FAILED", `${where}: did not start in 20 s`));
    }, 20_000);
    child.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes("serving")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new QoelabError("ORIGIN_START_FAILED", `${where}: ${error.message}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new QoelabError("ORIGIN_START_FAILED", `${where}: exited with ${code}: ${output.trim()}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return {
    pid: child.pid,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}
