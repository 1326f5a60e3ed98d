import { randomInt } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import { targetOf } from "../impair/impair.ts";
import { type HostRole, type Lab, type LabLink, onLabTeardown } from "../lab/lab.ts";
import { nodeModuleCommand, spawnTool } from "../lab/run.ts";
import { listJson, pidAlive, readJson, removeFile, runDir, writeJson } from "../lab/state.ts";
import { loadTunAddon } from "./link-emulator-addon.ts";
import type { LogFormat } from "./link-emulator-log.ts";
import type { LinkEmulatorSummary, MainConfig, TunEnd } from "./link-emulator-main.ts";
import { type LinkEmulatorSpec, validateDirectionSpec } from "./link-emulator-spec.ts";

/*
 * startLinkEmulator puts a userspace emulator on one link of a lab. How it joins the lab without
 * touching its veth pair or routing tables: it adds a TUN in each of the two hosts and gives each TUN
 * the host's own address with the far end as a point-to-point peer — the far address as /32, plus the
 * subnets behind the far end when it is the router. Those peer routes are more specific than the veth's
 * subnet and default routes, so the hosts' traffic on that link flows through the TUNs (and through the
 * emulator) instead; when the emulator process ends, the TUNs and their routes vanish and traffic falls
 * back to the veth. IPv6 is handled the same way (/128 peer, /64 subnets).
 */

export interface LinkEmulatorOptions {
  lab: Lab;
  /** The link as an impair target: "router:client-side", "client", "server:router-side", … */
  link: string;
  /** egress = host → peer of that target; ingress = peer → host. */
  spec: LinkEmulatorSpec;
  /** Where packet logs and summary.json go (default: <run dir>/emulators/<lab>-<hosts>/). */
  outDir?: string;
  log?: LogFormat;
  /** Keep running after this process exits (the impair backend); stop with stopLinkEmulator. */
  detached?: boolean;
  /** Packet buffers per direction (default 8192 of 2 KiB). */
  slots?: number;
  /** Wake this many µs before each deadline and spin (default 0). */
  spinUs?: number;
  /** SCHED_FIFO priority of the two direction threads (default 10; 0 = normal scheduling). */
  realtime?: number;
  /** Summary's rate window (default 500 ms). */
  windowMs?: number;
  /**
   * Where the two release threads run. On one CPU the directions hand packets over and wake each
   * other without cross-CPU interrupts, which on a VM cost more than the work itself; but SCHED_FIFO
   * threads busy on one CPU keep that CPU's softirq thread from running, delaying other programs'
   * traffic, and a stall of that one CPU holds both directions. "auto": one CPU while each thread
   * keeps it less than 25 % busy (checked every 100 ms), spread over all CPUs above that, back below
   * 10 % (13–18 % less CPU at 20 Mbit/s here, but a longer timing tail). A number: always that CPU.
   * "none" (default, or QOELAB_EMULATOR_CPU): wherever the scheduler puts them.
   */
  cpu?: number | "none" | "auto";
  /** How long its start may take (default 20 s; a busy machine's collection gives it more). */
  readyTimeoutMs?: number;
}

export interface LinkEmulator {
  pid: number;
  outDir: string;
  /** Direction names: "<host>-to-<peer>" (egress) and "<peer>-to-<host>" (ingress). */
  directions: [string, string];
  tun: { host: string; netns: string; tun: string }[];
  epochRealtimeUs: number;
  /** Stops the emulator, writes the logs, and resolves with the summary of achieved conditions. */
  stop(): Promise<LinkEmulatorSummary>;
}

interface EmulatorRecord {
  pid: number;
  lab: string;
  link: string;
  outDir: string;
  startedAt: string;
}

const MARKER = "link-emulator-main";

/** /dev/net/tun, or QOELAB_TUN_DEVICE. */
export function tunDevicePath(): string {
  return process.env.QOELAB_TUN_DEVICE ?? "/dev/net/tun";
}

function emulatorsDir(): string {
  return join(runDir(), "emulators");
}

function pairKey(a: string, b: string): string {
  return [a, b].sort().join("-");
}

function recordFile(lab: string, a: string, b: string): string {
  return join(emulatorsDir(), `${lab}-${pairKey(a, b)}.json`);
}

function isOurProcess(pid: number): boolean {
  if (!pidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(MARKER);
  } catch {
    return false;
  }
}

function ipv4Network(address: string, prefix: number): string {
  const parts = address.split(".").map(Number);
  const value = (((parts[0] ?? 0) << 24) | ((parts[1] ?? 0) << 16) | ((parts[2] ?? 0) << 8) | (parts[3] ?? 0)) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const net = (value & mask) >>> 0;
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
}

function ipv6Net64(address: string): string {
  return `${address.slice(0, address.lastIndexOf("::"))}::/64`;
}

/** TUN name of `host`'s end of its link to `peer`: "<lab>-t<h><p>" (≤ 14 characters). */
export function emulatorTunName(lab: string, host: HostRole, peer: HostRole): string {
  return `${lab}-t${host[0]}${peer[0]}`;
}

/** The two TUN ends (names, namespaces, addresses) for a link; pure. */
export function planEmulatedLink(lab: Lab, link: LabLink): [TunEnd, TunEnd] {
  const behind = (router: HostRole, except: HostRole): LabLink[] =>
    router === "router" ? Object.values(lab.links).filter((l) => l.host === "router" && l.peer !== except) : [];
  const end = (
    host: HostRole,
    peer: HostRole,
    local: string,
    local6: string | undefined,
    peerAddr: string,
    peer6: string | undefined,
  ): TunEnd => {
    const addresses: TunEnd["addresses"] = [{ local, peer: `${peerAddr}/32`, v6: false }];
    for (const l of behind(peer, host)) addresses.push({ local, peer: ipv4Network(l.address, l.prefix), v6: false });
    if (local6 && peer6) {
      addresses.push({ local: local6, peer: `${peer6}/128`, v6: true });
      for (const l of behind(peer, host))
        if (l.address6) addresses.push({ local: local6, peer: ipv6Net64(l.address6), v6: true });
    }
    return {
      host,
      netns: lab.hosts[host]?.netns ?? "",
      tun: emulatorTunName(lab.name, host, peer),
      mtu: 1500,
      addresses,
    };
  };
  return [
    end(link.host, link.peer, link.address, link.address6, link.peerAddress, link.peerAddress6),
    end(link.peer, link.host, link.peerAddress, link.peerAddress6, link.address, link.address6),
  ];
}

/** The emulator running on a lab link, if any (stale records of dead processes are removed). */
export async function findLinkEmulator(lab: string, a: HostRole, b: HostRole): Promise<EmulatorRecord | undefined> {
  const file = recordFile(lab, a, b);
  const record = await readJson<EmulatorRecord>(file);
  if (!record) return undefined;
  if (isOurProcess(record.pid)) return record;
  await removeFile(file);
  return undefined;
}

/**
 * The interface that carries `role`'s traffic: its TUN while a link emulator serves one of its
 * links (the TUN's peer routes take the traffic off the veth), else its veth. A capture "on the
 * host" must be taken there, or it sees nothing.
 */
export async function trafficIface(lab: Lab, role: HostRole): Promise<string> {
  const host = lab.hosts[role];
  if (!host) throw new QoelabError("LAB_BAD_HOST", `lab "${lab.name}" has no ${role}`, { lab: lab.name, host: role });
  for (const peer of Object.keys(lab.hosts) as HostRole[]) {
    if (peer !== role && (await findLinkEmulator(lab.name, role, peer))) return emulatorTunName(lab.name, role, peer);
  }
  return host.iface;
}

/** QOELAB_RELEASE_CPU for the emulator process: "auto", "none" or a CPU number (checked). */
function emulatorCpu(cpu: LinkEmulatorOptions["cpu"]): string {
  const count = availableParallelism();
  if (cpu === undefined) {
    // QOELAB_EMULATOR_CPU picks the default for every emulator this process starts.
    const fromEnv = process.env.QOELAB_EMULATOR_CPU;
    if (fromEnv === undefined || fromEnv === "") return "none";
    return emulatorCpu(fromEnv === "auto" || fromEnv === "none" ? fromEnv : Number(fromEnv));
  }
  if (cpu === "auto") return "auto";
  if (cpu === "none") return "none";
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= count)
    throw new QoelabError(
      "EMULATOR_BAD_SPEC",
      `link emulator cpu ${cpu}: not one of this machine's CPUs 0–${count - 1}`,
      {
        cpu,
      },
    );
  return String(cpu);
}

/**
 * Starts the emulator on `options.link` of a lab that is up. Errors: LINK_EMULATOR_EXISTS,
 * EMULATOR_NO_TUN (no /dev/net/tun), EMULATOR_ADDON_MISSING (not built), EMULATOR_BAD_* (spec).
 * Nothing is left behind when it fails.
 */
export async function startLinkEmulator(options: LinkEmulatorOptions): Promise<LinkEmulator> {
  const { lab } = options;
  const target = targetOf(lab, options.link);
  const link = target.link;
  validateDirectionSpec(options.spec.egress ?? {}, `${link.host}→${link.peer}`);
  validateDirectionSpec(options.spec.ingress ?? {}, `${link.peer}→${link.host}`);
  const cpu = emulatorCpu(options.cpu);
  const device = tunDevicePath();
  if (!existsSync(device)) {
    throw new QoelabError(
      "EMULATOR_NO_TUN",
      `link emulator: ${device} does not exist; load the tun module (modprobe tun) or, in a container, pass the device (docker run --device /dev/net/tun --cap-add NET_ADMIN)`,
      { device },
    );
  }
  loadTunAddon();
  const existing = await findLinkEmulator(lab.name, link.host, link.peer);
  if (existing) {
    throw new QoelabError(
      "LINK_EMULATOR_EXISTS",
      `link ${lab.name}:${link.host}↔${link.peer} already has an emulator (pid ${existing.pid}, started ${existing.startedAt} for ${existing.link}); stop it first`,
      { lab: lab.name, pid: existing.pid },
    );
  }
  const egressName = `${link.host}-to-${link.peer}`;
  const ingressName = `${link.peer}-to-${link.host}`;
  const outDir = options.outDir ?? join(emulatorsDir(), `${lab.name}-${pairKey(link.host, link.peer)}`);
  mkdirSync(outDir, { recursive: true });
  const seed = options.spec.seed ?? randomInt(0, 2 ** 31);
  const config: MainConfig = {
    lab: lab.name,
    link: link.name,
    device,
    outDir,
    log: options.log ?? "csv",
    seed,
    ends: planEmulatedLink(lab, link),
    directions: [
      { name: egressName, from: 0, to: 1, spec: options.spec.egress ?? {} },
      { name: ingressName, from: 1, to: 0, spec: options.spec.ingress ?? {} },
    ],
    detached: options.detached ?? false,
    ...(options.spinUs !== undefined ? { spinUs: options.spinUs } : {}),
    ...(options.realtime !== undefined ? { realtime: options.realtime } : {}),
    ...(options.slots !== undefined ? { slots: options.slots } : {}),
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
  };
  const main = new URL(
    import.meta.url.endsWith(".ts") ? "./link-emulator-main.ts" : "./link-emulator-main.js",
    import.meta.url,
  );
  const logFile = join(outDir, "emulator.log");
  const log = openSync(logFile, "a");
  // A long trace would exceed argv's limit (E2BIG): such a config goes in a file of the run's folder.
  let configArg = JSON.stringify(config);
  if (configArg.length > 64 * 1024) {
    const file = join(outDir, "config.json");
    writeFileSync(file, configArg);
    configArg = `@${file}`;
  }
  const child = spawnTool(nodeModuleCommand(main, [configArg]), {
    env: { ...process.env, QOELAB_RELEASE_CPU: cpu },
    stdio: [config.detached ? "ignore" : "pipe", "pipe", log],
    detached: config.detached,
  });
  closeSync(log);
  const pid = child.pid;
  if (pid === undefined)
    throw new QoelabError("EMULATOR_FAILED", `link emulator for ${lab.name}:${link.name}: could not start`);
  const exited = new Promise<number>((resolve) => child.on("exit", (code) => resolve(code ?? 1)));
  const readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
  const ready = await new Promise<{ epochRealtimeUs: number; tun: LinkEmulator["tun"] }>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new QoelabError(
          "EMULATOR_FAILED",
          `link emulator for ${lab.name}:${link.name}: not ready within ${readyTimeoutMs / 1000} s (log: ${logFile})`,
        ),
      );
    }, readyTimeoutMs);
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      const msg = JSON.parse(line) as { ready?: boolean; error?: { code: string; message: string } } & Record<
        string,
        unknown
      >;
      if (msg.error) reject(new QoelabError(msg.error.code, msg.error.message, { lab: lab.name, link: link.name }));
      else resolve(msg as unknown as { epochRealtimeUs: number; tun: LinkEmulator["tun"] });
    });
    void exited.then((code) => {
      clearTimeout(timer);
      let tail = "";
      try {
        tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ");
      } catch {
        // no log
      }
      reject(
        new QoelabError(
          "EMULATOR_FAILED",
          `link emulator for ${lab.name}:${link.name} exited with code ${code}${tail ? ` (${tail})` : ""}`,
        ),
      );
    });
  });
  child.stdout?.removeAllListeners("data");
  // A detached emulator outlives us: its stdout pipe must be closed here, or this process keeps
  // reading it (the ready line is the only thing it writes there) and never exits.
  if (config.detached) {
    child.stdout?.destroy();
    child.unref();
  } else child.stdout?.resume();
  const record: EmulatorRecord = { pid, lab: lab.name, link: link.name, outDir, startedAt: new Date().toISOString() };
  await writeJson(recordFile(lab.name, link.host, link.peer), record);
  let stopping: Promise<LinkEmulatorSummary> | undefined;
  return {
    pid,
    outDir,
    directions: [egressName, ingressName],
    tun: ready.tun,
    epochRealtimeUs: ready.epochRealtimeUs,
    stop() {
      stopping ??= (async () => {
        await stopProcess(pid, exited);
        await removeFile(recordFile(lab.name, link.host, link.peer));
        return readSummary(outDir, lab.name, link.name);
      })();
      return stopping;
    },
  };
}

async function stopProcess(pid: number, exited?: Promise<number>): Promise<void> {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const gone =
    exited ??
    (async () => {
      while (pidAlive(pid)) await new Promise((r) => setTimeout(r, 25));
      return 0;
    })();
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 30_000).unref());
  if ((await Promise.race([gone, timeout])) === "timeout") {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
}

async function readSummary(outDir: string, lab: string, link: string): Promise<LinkEmulatorSummary> {
  try {
    return JSON.parse(await readFile(join(outDir, "summary.json"), "utf8")) as LinkEmulatorSummary;
  } catch (error) {
    throw new QoelabError(
      "EMULATOR_NO_SUMMARY",
      `link emulator for ${lab}:${link}: no summary in ${outDir} (${(error as Error).message})`,
      { outDir },
      { cause: error },
    );
  }
}

/** Stops the emulator of a lab link started elsewhere (e.g. by impair); resolves with its summary, if any. */
export async function stopLinkEmulator(
  lab: string,
  a: HostRole,
  b: HostRole,
): Promise<LinkEmulatorSummary | undefined> {
  const record = await findLinkEmulator(lab, a, b);
  if (!record) return undefined;
  await stopProcess(record.pid);
  await removeFile(recordFile(lab, a, b));
  return readSummary(record.outDir, lab, record.link).catch(() => undefined);
}

// The emulator runs outside the lab's namespaces, so lab down must stop it explicitly.
onLabTeardown(async (lab: string) => {
  for (const file of await listJson(emulatorsDir())) {
    const record = await readJson<EmulatorRecord>(file);
    if (record?.lab !== lab) continue;
    if (isOurProcess(record.pid)) await stopProcess(record.pid);
    await removeFile(file);
  }
});
