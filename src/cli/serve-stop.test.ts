import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { labDown } from "../netlab/index.ts";
import { freePort } from "./test-support/free-port.ts";
import { qoelabArgv } from "./test-support/run-qoelab.ts";

const prefix = `qs${process.pid % 100000}`;
const scratch = mkdtempSync(join(tmpdir(), `qoelab-serve-stop-${process.pid}-`));
let server: ChildProcess | undefined;
after(async () => {
  server?.kill("SIGKILL");
  for (const lab of [`${prefix}0`, `${prefix}u0`, `${prefix}p0`]) await labDown(lab).catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
});

const ourNamespaces = () =>
  execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(`qoelab-${prefix}`));

async function until<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe("stopping qoelab serve", { skip: process.getuid?.() !== 0 ? "needs root (lab namespaces)" : false }, () => {
  it("SIGTERM during a session removes the lab namespaces its worker made", async () => {
    const port = await freePort();
    let output = "";
    server = spawn(
      process.execPath,
      qoelabArgv([
        "serve",
        "--port",
        String(port),
        "--db-port",
        "0",
        "--data-dir",
        join(scratch, "data"),
        "--slots",
        "1",
        "--lab-prefix",
        prefix,
      ]),
      { env: { ...process.env, DATABASE_URL: "" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    server.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    server.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    await until("the web app", () => (/web app on/.test(output) ? true : undefined), 60_000);
    const posted = await fetch(`http://127.0.0.1:${port}/trainings`, {
      method: "POST",
      body: new URLSearchParams({
        name: "stop me",
        number_of_videos: "1",
        session_duration: "30",
        bw_limitations: "2",
        warmup: "1",
      }),
      redirect: "manual",
    });
    assert.equal(posted.status, 303, await posted.text());

    const made = await until(
      "the worker's lab",
      () => (ourNamespaces().length > 0 ? ourNamespaces() : undefined),
      90_000,
    );
    assert.ok(made.includes(`qoelab-${prefix}0-client`), made.join(", "));

    const exited = new Promise<number | null>((resolve) => server?.once("exit", (code) => resolve(code)));
    server.kill("SIGTERM");
    const code = await Promise.race([
      exited,
      new Promise<"still running">((r) => setTimeout(r, 90_000, "still running")),
    ]);
    assert.equal(code, 0, output);
    server = undefined;
    assert.deepEqual(ourNamespaces(), [], "no namespace of this server is left");
    assert.match(output, /SIGTERM: stopping/);
  });
});
