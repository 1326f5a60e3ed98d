import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { SessionRow } from "../collect/index.ts";
import { labDown, qoelabCommand, run } from "../netlab/index.ts";
import { recomputeNetworkData } from "./test-support/network-data.ts";

// Non-root collection, all real: `qoelab shaperd` runs as root (this test), the collection runs in a
// process of "nobody" with its own PGlite, and gets its lab, shaping, origin, browser and capture
// through the daemon's socket only.
const NOBODY = 65534;
const prefix = `qn${process.pid % 100000}`;
const dir = mkdtempSync(join(tmpdir(), "qoelab-shaperd-collect-"));
chmodSync(dir, 0o755); // nobody reaches the socket and its script; the daemon's captures stay root's
const home = join(dir, "home");
const socketPath = join(dir, "shaperd.sock");
const captureDir = join(dir, "captures");
const script = join(dir, "collect-as-user.mjs");

// What the unprivileged process runs: the same runtime `qoelab serve`/`collect` use.
const modules = (path: string) => pathToFileURL(join(import.meta.dirname, path)).href;
writeFileSync(
  script,
  `import { createCollectionRuntime } from ${JSON.stringify(modules("../cli/collection-runtime.ts"))};
import { openDb } from ${JSON.stringify(modules("../db/index.ts"))};
import { createTraining, listSessions, validateTrainingRequest } from ${JSON.stringify(modules("../collect/index.ts"))};
const [dataDir, socket, labPrefix] = process.argv.slice(2);
const db = await openDb({ url: "", dataDir });
try {
  const request = validateTrainingRequest({ number_of_videos: "1", session_duration: "8", bw_limitations: "5", warmup: "2" });
  if (!request.ok) throw new Error(JSON.stringify(request));
  const training = await createTraining(db, request.value);
  const runtime = await createCollectionRuntime(db, {
    originChannels: ["testcard"],
    originDuration: 10,
    labPrefix,
    shaperdSocket: socket,
    log: (m) => process.stderr.write(m + "\\n"),
  });
  await runtime.orchestrator.runUntilIdle(training.id);
  await runtime.close();
  process.stdout.write(JSON.stringify({ operator: runtime.operator, uid: process.getuid(), sessions: await listSessions(db, training.id) }));
} finally {
  await db.close();
}
`,
);

/** nobody's environment: a home of its own (the origin's video cache), the embedded database. */
function nobodyEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, "cache") };
  delete env.DATABASE_URL;
  return env;
}

/** Runs the script as nobody; resolves with its JSON answer and its log. */
function collectAsNobody(dataDir: string, socket: string): Promise<{ answer: Record<string, unknown>; log: string }> {
  // Plain JavaScript importing our TypeScript: tsx as the loader.
  const argv = [process.execPath, "--import", import.meta.resolve("tsx"), script, dataDir, socket, prefix];
  const env = nobodyEnv();
  const child = spawn(argv[0]!, argv.slice(1), { uid: NOBODY, gid: NOBODY, cwd: home, env });
  let stdout = "";
  let log = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    log += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => {
      if (code !== 0) reject(new Error(`collect as nobody exited ${code}: ${log}`));
      else resolve({ answer: JSON.parse(stdout) as Record<string, unknown>, log });
    });
  });
}

/** Starts `qoelab serve` as nobody, fetches its front page, stops it; resolves with its log and the status. */
async function serveAsNobody(dataDir: string, socket: string): Promise<{ log: string; status: number }> {
  const port = 40000 + (process.pid % 20000);
  const argv = qoelabCommand(["serve", "--port", String(port), "--data-dir", dataDir, "--shaperd", socket]);
  const env = nobodyEnv();
  const child = spawn(argv[0]!, argv.slice(1), { uid: NOBODY, gid: NOBODY, cwd: home, env });
  let log = "";
  child.stderr.on("data", (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    await new Promise<void>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("web app on")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`serve exited ${code}: ${out}${log}`)));
    });
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.arrayBuffer();
    return { log, status: response.status };
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

/** Owners of the processes in a lab host whose command name matches. */
async function ownersIn(netns: string, comm: RegExp): Promise<number[]> {
  const pids = (await run(["ip", "netns", "pids", netns])).stdout.split(/\s+/).filter((p) => /^\d+$/.test(p));
  const owners: number[] = [];
  for (const pid of pids) {
    try {
      if (!comm.test(readFileSync(`/proc/${pid}/comm`, "utf8"))) continue;
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (uid) owners.push(Number(uid[1]));
    } catch {
      // ended meanwhile
    }
  }
  return owners;
}

describe("collection by a non-root user through shaperd", { timeout: 180_000 }, () => {
  let daemon: ChildProcess | undefined;
  let result: { answer: Record<string, unknown>; log: string };
  const seen = { tbf: false, chromiumUids: new Set<number>(), originUids: new Set<number>() };

  before(async () => {
    mkdirSync(home);
    chownSync(home, NOBODY, NOBODY);
    const argv = qoelabCommand([
      "shaperd",
      "--socket",
      socketPath,
      "--capture-dir",
      captureDir,
      "--user",
      String(NOBODY),
    ]);
    daemon = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let out = "";
      daemon!.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("listening on")) resolve();
      });
      daemon!.stderr!.on("data", (d: Buffer) => {
        out += d.toString();
      });
      daemon!.once("exit", (code) => reject(new Error(`shaperd exited ${code}: ${out}`)));
    });
    // Watch the lab from outside while the session runs: the shaper on the router, who runs what.
    const watching = setInterval(() => {
      void (async () => {
        const qdisc = await run(["tc", "qdisc", "show", "dev", `${prefix}0-rc`], {
          netns: `qoelab-${prefix}0-router`,
        });
        if (/tbf .*rate 5Mbit/.test(qdisc.stdout)) seen.tbf = true;
        for (const uid of await ownersIn(`qoelab-${prefix}0-client`, /^chrom/)) seen.chromiumUids.add(uid);
        // The origin is the one node process there (ip netns exec and setpriv run as root before it).
        for (const uid of await ownersIn(`qoelab-${prefix}0-server`, /^node/)) seen.originUids.add(uid);
      })().catch(() => undefined);
    }, 400);
    try {
      result = await collectAsNobody(join(home, "db"), socketPath);
    } finally {
      clearInterval(watching);
    }
  });
  after(async () => {
    if (daemon && daemon.exitCode === null) {
      const exited = new Promise((resolve) => daemon!.once("exit", resolve));
      daemon.kill("SIGTERM");
      await exited;
    }
    await labDown(`${prefix}0`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  test("the session is captured by a process of nobody, through the daemon", () => {
    assert.equal(result.answer.uid, NOBODY);
    assert.equal(result.answer.operator, "shaperd", result.log);
    assert.match(result.log, /privileged steps through shaperd at /);
    const sessions = result.answer.sessions as SessionRow[];
    assert.deepEqual(
      sessions.map((s) => [s.status, s.error_reason]),
      [[1, null]],
      result.log,
    );
  });

  test("the pcap is nobody's, in the daemon's capture directory, and the stored network data is computed from it", async () => {
    const [session] = result.answer.sessions as SessionRow[];
    assert.ok(session?.capture_file);
    assert.ok(session.capture_file.startsWith(`${statSync(captureDir) && captureDir}/`), session.capture_file);
    const stat = statSync(session.capture_file);
    assert.ok(stat.size > 1000);
    assert.equal(stat.size, session.capture_size);
    assert.equal(stat.uid, NOBODY, "the capture was handed to the collecting user");
    const recomputed = await recomputeNetworkData(session.capture_file, session.network_data);
    assert.ok(recomputed.flows.length > 0);
    assert.deepEqual(session.network_data, JSON.parse(JSON.stringify(recomputed)));
  });

  test("the link was shaped to 5 Mbit/s, and the browser and the origin ran as nobody", () => {
    assert.ok(seen.tbf, "tbf at 5Mbit on the router's client side during the session");
    assert.match(result.log, /at 5 Mbit\/s \(rate \S+ by \w+/);
    assert.deepEqual([...seen.chromiumUids], [NOBODY], "chromium in the client host");
    assert.deepEqual([...seen.originUids], [NOBODY], "the origin server in the server host");
  });

  test("qoelab serve as nobody collects through the daemon, or runs the web app alone and says how", async () => {
    const through = await serveAsNobody(join(home, "serve-db"), socketPath);
    assert.equal(through.status, 200);
    assert.match(through.log, /privileged steps through shaperd at /);
    const alone = await serveAsNobody(join(home, "serve-db2"), join(dir, "absent.sock"));
    assert.equal(alone.status, 200);
    assert.match(alone.log, /running without the collection worker.*sudo qoelab shaperd --user 65534/);
  });
});
