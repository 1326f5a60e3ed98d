/**
 * Process entry of one link emulator (started by startLinkEmulator):
 *   node link-emulator-main.ts '<MainConfig JSON>'
 * Opens a TUN in each of the two lab hosts, puts the link's addresses on them, runs one worker thread
 * (own event loop) per direction, prints one JSON line {"ready":…} (or {"error":{code,message}}), and on
 * SIGTERM/SIGINT (or when stdin closes, unless detached) writes the packet logs and summary.json to
 * outDir. The TUN devices belong to this process: they, their addresses and routes vanish with it.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { setFlagsFromString } from "node:v8";

// V8's memory reducer runs full GCs of a heap that turns idle; the workers do (their packets are
// decided in C), so it marked the tsx-loaded heaps again and again while traffic flowed (~2 % of a core).
setFlagsFromString("--no-memory-reducer");

import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { isQoelabError, QoelabError } from "../../errors.ts";
import { run } from "../lab/run.ts";
import { errnoName, loadTunAddon, type TunAddon } from "./link-emulator-addon.ts";
import { type DirectionSummary, type LogFormat, summarizeDirection, writePacketLog } from "./link-emulator-log.ts";
import { LOG_STRIDE, type PipelineCounters } from "./link-emulator-pipeline.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";
import type { WorkerConfig, WorkerMessage } from "./link-emulator-worker.ts";

export interface TunEnd {
  host: string;
  netns: string;
  tun: string;
  mtu: number;
  /** "ip addr add" arguments: local address and peer prefix (v4 or v6). */
  addresses: { local: string; peer: string; v6: boolean }[];
}

export interface MainConfig {
  lab: string;
  link: string;
  device: string;
  outDir: string;
  log: LogFormat;
  seed: number;
  ends: [TunEnd, TunEnd];
  directions: { name: string; from: 0 | 1; to: 0 | 1; spec: DirectionSpec }[];
  detached: boolean;
  spinUs?: number;
  realtime?: number;
  slots?: number;
  windowMs?: number;
}

export interface LinkEmulatorSummary {
  lab: string;
  link: string;
  seed: number;
  /** CLOCK_REALTIME of the log's time 0, µs since 1970 (to line the log up with captures). */
  epochRealtimeUs: number;
  durationS: number;
  tun: { host: string; netns: string; tun: string }[];
  directions: DirectionSummary[];
  files: Record<string, string>;
  errors: string[];
}

const configArg = process.argv[2];
if (!configArg) {
  process.stderr.write("usage: link-emulator-main.ts CONFIG_JSON|@CONFIG_FILE\n");
  process.exit(2);
}
// A config holding a long trace comes in a file (argv has a size limit).
const configText = configArg.startsWith("@") ? readFileSync(configArg.slice(1), "utf8") : configArg;
const config = JSON.parse(configText) as MainConfig;
const fds: number[] = [];
let tun: TunAddon;

function say(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function failStart(error: unknown): never {
  for (const fd of fds) tun?.close(fd);
  const e = isQoelabError(error)
    ? { code: error.code, message: error.message }
    : { code: "EMULATOR_FAILED", message: String((error as Error)?.message ?? error) };
  say({ error: e });
  process.exit(1);
}

async function openEnd(end: TunEnd): Promise<number> {
  const fd = tun.openTun(end.tun, `/var/run/netns/${end.netns}`, end.mtu, config.device);
  if (fd < 0) {
    const where = `${config.lab}:${end.host} (${end.netns})`;
    if (fd === -16) {
      throw new QoelabError(
        "LINK_EMULATOR_EXISTS",
        `link ${config.lab}:${config.link}: TUN ${end.tun} in ${where} is already held by another emulator; stop it first`,
        { tun: end.tun },
      );
    }
    throw new QoelabError(
      "EMULATOR_TUN_FAILED",
      `link ${config.lab}:${config.link}: cannot open TUN ${end.tun} in ${where}: ${errnoName(fd)} (${tun.strerror(fd)})`,
      { tun: end.tun, errno: -fd },
    );
  }
  fds.push(fd);
  for (const a of end.addresses) {
    const argv = [
      "ip",
      "-n",
      end.netns,
      ...(a.v6 ? ["-6"] : []),
      "addr",
      "add",
      a.local,
      "peer",
      a.peer,
      "dev",
      end.tun,
    ];
    if (a.v6) argv.push("nodad");
    const r = await run(argv);
    if (r.code !== 0) {
      throw new QoelabError("EMULATOR_TUN_FAILED", `${argv.join(" ")}: ${r.stderr.trim()}`, { argv });
    }
  }
  await run(["ip", "-n", end.netns, "link", "set", "dev", end.tun, "txqueuelen", "10000"]);
  return fd;
}

/** A worker thread running `url`; from source, tsx's hooks are registered in the thread first. */
function startWorker(url: URL, workerData: WorkerConfig): Worker {
  if (!url.pathname.endsWith(".ts")) return new Worker(url, { workerData });
  const tsx = import.meta.resolve("tsx/esm/api");
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(code, { eval: true, workerData });
}

interface DirectionRun {
  name: string;
  spec: DirectionSpec;
  worker: Worker;
  binFile: string;
  binFd: number;
  rows: number;
  ready: Promise<void>;
  counters?: PipelineCounters;
  done: Promise<void>;
}

async function main(): Promise<void> {
  try {
    tun = loadTunAddon();
  } catch (error) {
    failStart(error);
  }
  mkdirSync(config.outDir, { recursive: true });
  const endFds: number[] = [];
  try {
    for (const end of config.ends) endFds.push(await openEnd(end));
  } catch (error) {
    failStart(error);
  }
  const epochUs = tun.nowUs();
  const epochRealtimeUs = tun.realtimeUs();
  const errors: string[] = [];
  const workerUrl = new URL(
    import.meta.url.endsWith(".ts") ? "./link-emulator-worker.ts" : "./link-emulator-worker.js",
    import.meta.url,
  );
  const runs: DirectionRun[] = config.directions.map((d, i) => {
    const workerConfig: WorkerConfig = {
      name: d.name,
      fdIn: endFds[d.from] as number,
      fdOut: endFds[d.to] as number,
      spec: d.spec,
      seed: config.seed * 2 + i,
      epochUs,
      log: true,
      spinUs: config.spinUs ?? 0,
      realtime: config.realtime ?? 10,
      ...(config.slots !== undefined ? { slots: config.slots } : {}),
    };
    const binFile = join(config.outDir, `.packets-${d.name}.bin`);
    const binFd = openSync(binFile, "w");
    const worker = startWorker(workerUrl, workerConfig);
    const r: DirectionRun = {
      name: d.name,
      spec: d.spec,
      worker,
      binFile,
      binFd,
      rows: 0,
      done: Promise.resolve(),
      ready: Promise.resolve(),
    };
    let readyResolve: () => void = () => undefined;
    let readyReject: (e: Error) => void = () => undefined;
    r.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    r.done = new Promise<void>((resolve) => {
      worker.on("message", (m: WorkerMessage) => {
        if (m.type === "ready") {
          readyResolve();
        } else if (m.type === "log") {
          writeSync(binFd, new Uint8Array(m.buffer, 0, m.rows * LOG_STRIDE * 8));
          r.rows += m.rows;
        } else if (m.type === "done") {
          r.counters = m.counters;
          resolve();
        } else if (m.type === "error") {
          errors.push(`${d.name}: ${m.message}`);
          void shutdown();
        }
      });
      worker.on("error", (e) => {
        errors.push(`${d.name}: worker failed: ${e.message}`);
        readyReject(e);
        resolve();
      });
      worker.on("exit", () => {
        readyReject(new Error("worker exited"));
        resolve();
      });
    });
    return r;
  });
  try {
    await Promise.all(runs.map((r) => r.ready));
  } catch (error) {
    failStart(
      new QoelabError(
        "EMULATOR_FAILED",
        `link ${config.lab}:${config.link}: a direction did not start: ${(error as Error).message}`,
      ),
    );
  }
  let shuttingDown = false;
  async function shutdown(): Promise<void> {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const r of runs) r.worker.postMessage({ type: "stop" });
    await Promise.all(runs.map((r) => r.done));
    const durationS = (tun.nowUs() - epochUs) / 1e6;
    for (const fd of endFds) tun.close(fd);
    const files: Record<string, string> = {};
    const directions: DirectionSummary[] = [];
    for (const r of runs) {
      closeSync(r.binFd);
      const bytes = readFileSync(r.binFile);
      const records = new Float64Array(bytes.buffer, bytes.byteOffset, r.rows * LOG_STRIDE);
      directions.push(summarizeDirection(r.name, r.spec, records, r.rows, config.windowMs ?? 500));
      if (config.log !== "none") {
        const file = join(config.outDir, `packets-${r.name}.${config.log}`);
        writePacketLog(file, config.log, records, r.rows);
        files[r.name] = file;
      }
      rmSync(r.binFile, { force: true });
    }
    const summary: LinkEmulatorSummary = {
      lab: config.lab,
      link: config.link,
      seed: config.seed,
      epochRealtimeUs,
      durationS: +durationS.toFixed(3),
      tun: config.ends.map((e) => ({ host: e.host, netns: e.netns, tun: e.tun })),
      directions,
      files: { ...files, summary: join(config.outDir, "summary.json") },
      errors,
    };
    writeFileSync(join(config.outDir, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    await Promise.all(runs.map((r) => r.worker.terminate()));
    process.exit(0);
  }
  process.on("SIGTERM", () => void shutdown());
  process.on("SIGINT", () => void shutdown());
  process.on("SIGHUP", () => undefined);
  if (!config.detached) process.stdin.on("end", () => void shutdown()).resume();
  say({
    ready: true,
    pid: process.pid,
    epochUs,
    epochRealtimeUs,
    tun: config.ends.map((e) => ({ host: e.host, netns: e.netns, tun: e.tun })),
  });
}

await main();
