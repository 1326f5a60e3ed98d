import type { ChildProcess, SpawnOptions } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import { formatIpv4, formatSubnet, parseIpv4Cidr, parseLabSubnet } from "./address.ts";
import {
  createUplink,
  enableHostForwarding,
  releaseHostForwarding,
  removeUplink,
  reserveUplink,
  UPLINK_LOCK,
} from "./lab-uplink.ts";
import { type RunResult, run, runOk, spawnTool } from "./run.ts";
import { labsDir, listJson, readJson, removeFile, runDir, withLock, writeJson } from "./state.ts";

/*
 * Lab hosts are network namespaces joined by veth pairs:
 *
 *   two hosts:   client [<lab>-c] ───── [<lab>-s] server
 *   router:      client [<lab>-c] ─── [<lab>-rc] router [<lab>-rs] ─── [<lab>-s] server
 *
 * The veth ends are created directly inside their namespaces, so nothing ever appears in the root
 * namespace and deleting the namespaces removes every link.
 *
 * Optional uplink (router labs only): one more veth joins the router to this host's root namespace,
 *
 *   client ─── router [<lab>-ru] ─── [<lab>-u] this host ─── (its other networks)
 *
 * The router's default route goes through it and the host routes the lab subnet back through the
 * router, so a lab client reaches addresses outside the lab over the shaped router (external video
 * sources) and a browser on this host reaches the lab's server through the router (a person's
 * sessions). With `forward` the host also forwards and masquerades the lab's traffic; an `allow`
 * list, enforced on the router, limits where that traffic may go. Deleting the router namespace
 * removes the veth pair and the host's route; the host's rules and forwarding switch are removed
 * by name when the lab goes down.
 */

export type HostRole = "client" | "server" | "router";

export interface LabOptions {
  /** Short name: lowercase letters/digits, at most 10 characters (interface names ≤ 15). */
  name: string;
  router?: boolean;
  /**
   * IPv4 prefix inside 10.77.0.0/16; default 10.77.0.0/24 (halved between the two router links), or
   * for a lab with an uplink a /24 of its uplink slot (see address.ts).
   */
  subnet?: string;
  ipv6?: boolean;
  /** Join the router to this host (needs `router`); `true` means `{ forward: true }`. IPv4 only. */
  uplink?: boolean | UplinkOptions;
}

export interface UplinkOptions {
  /**
   * Forward and masquerade the lab's traffic to this host's other networks (default true). Without
   * it the lab reaches this host only and the host's forwarding switch is left alone.
   */
  forward?: boolean;
  /** Destinations beyond this host the lab may reach (IPv4 prefixes); default any. */
  allow?: string[];
}

export interface UplinkConfig {
  /** The /30 between router (first address) and host (second). */
  subnet: string;
  forward: boolean;
  /** Absent: any destination. */
  allow?: string[];
}

export interface LabConfig {
  name: string;
  router: boolean;
  subnet: string;
  ipv6: boolean;
  uplink?: UplinkConfig;
}

/** The uplink of a lab: its router end, its end in this host's root namespace, and the rules. */
export interface LabUplink {
  /** The router's namespace. */
  netns: string;
  routerIface: string;
  routerAddress: string;
  /** Interface in the root namespace (this host). */
  hostIface: string;
  hostAddress: string;
  prefix: number;
  /** The lab subnet the host routes through the router. */
  labSubnet: string;
  forward: boolean;
  allow?: string[];
}

/** One interface of one lab host, named "<host>:<peer>-side" (e.g. "router:client-side"). */
export interface LabLink {
  name: string;
  host: HostRole;
  netns: string;
  iface: string;
  address: string;
  prefix: number;
  address6?: string;
  peer: HostRole;
  peerIface: string;
  peerAddress: string;
  peerAddress6?: string;
}

export interface ExecOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export interface LabHost {
  name: HostRole;
  lab: string;
  netns: string;
  /** The lab-facing interface (for the router: the client-side one; see `interfaces`). */
  iface: string;
  address: string;
  address6?: string;
  interfaces: LabLink[];
  /** Runs argv (no shell) inside the host; resolves with the exit code, never throws for non-zero. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<RunResult>;
  /** Starts argv inside the host. */
  spawn(argv: readonly string[], opts?: SpawnOptions): ChildProcess;
}

export interface Lab {
  name: string;
  config: LabConfig;
  hosts: { client: LabHost; server: LabHost; router?: LabHost };
  /** Every interface by link name: "client:router-side", "router:client-side", … */
  links: Record<string, LabLink>;
  uplink?: LabUplink;
}

interface LabState {
  version: 1;
  config: LabConfig;
  status: "creating" | "up" | "deleting";
  /** Namespaces this lab created (recorded before creating them). */
  namespaces: string[];
  pid: number;
  createdAt: string;
}

export interface LabStatus {
  name: string;
  config: LabConfig;
  /** up: every namespace and interface present; broken: some missing (crashed run); creating/deleting: in progress or interrupted. */
  state: "up" | "broken" | "creating" | "deleting";
  namespaces: { name: string; present: boolean }[];
  hosts: { name: HostRole; netns: string; iface: string; address: string; address6?: string }[];
  uplink?: LabUplink;
  createdAt: string;
}

const RESERVED = new Set(["client", "server", "router"]);

export function validateLabName(name: string): void {
  if (!/^[a-z][a-z0-9]{0,9}$/.test(name) || RESERVED.has(name)) {
    throw new QoelabError(
      "LAB_BAD_NAME",
      `lab name "${name}": use 1–10 lowercase letters/digits starting with a letter (not client/server/router)`,
      { lab: name },
    );
  }
}

/** The lab's config without its uplink (an uplink's addresses are given out by `labUp`). */
export function normalizeConfig(options: LabOptions): LabConfig {
  validateLabName(options.name);
  const config: LabConfig = {
    name: options.name,
    router: options.router ?? false,
    subnet: options.subnet ?? "10.77.0.0/24",
    ipv6: options.ipv6 ?? false,
  };
  parseLabSubnet(config.subnet, config.router ? 8 : 4);
  return config;
}

/** The uplink asked for, validated; undefined when none. */
export function normalizeUplink(options: LabOptions): Omit<UplinkConfig, "subnet"> | undefined {
  if (options.uplink === undefined || options.uplink === false) return undefined;
  if (!options.router) {
    throw new QoelabError(
      "LAB_UPLINK_NEEDS_ROUTER",
      `lab "${options.name}": an uplink joins the router to this host; bring the lab up with a router`,
      { lab: options.name },
    );
  }
  const requested = options.uplink === true ? {} : options.uplink;
  const uplink: Omit<UplinkConfig, "subnet"> = { forward: requested.forward ?? true };
  if (requested.allow) {
    uplink.allow = requested.allow.map((text) => {
      const cidr = parseIpv4Cidr(text);
      if (!cidr) {
        throw new QoelabError(
          "LAB_BAD_SUBNET",
          `lab "${options.name}": uplink destination "${text}" is not an IPv4 address or prefix`,
          { lab: options.name, allow: text },
        );
      }
      return formatSubnet(cidr);
    });
  }
  return uplink;
}

export function netnsName(lab: string, host: HostRole): string {
  return `qoelab-${lab}-${host}`;
}

function stateFile(name: string): string {
  return join(labsDir(), `${name}.json`);
}

/** The lab's topology from its config alone (no system access). */
export function planLab(config: LabConfig): Lab {
  const { base, prefix } = parseLabSubnet(config.subnet, config.router ? 8 : 4);
  const links: Record<string, LabLink> = {};
  const add = (
    host: HostRole,
    peer: HostRole,
    iface: string,
    peerIface: string,
    address: number,
    peerAddress: number,
    linkPrefix: number,
    v6: string | undefined,
    peerV6: string | undefined,
  ) => {
    const link: LabLink = {
      name: `${host}:${peer}-side`,
      host,
      netns: netnsName(config.name, host),
      iface,
      address: formatIpv4(address),
      prefix: linkPrefix,
      peer,
      peerIface,
      peerAddress: formatIpv4(peerAddress),
    };
    if (config.ipv6 && v6 && peerV6) {
      link.address6 = v6;
      link.peerAddress6 = peerV6;
    }
    links[link.name] = link;
  };
  const n = config.name;
  if (!config.router) {
    const c = base + 1;
    const s = base + 2;
    add("client", "server", `${n}-c`, `${n}-s`, c, s, prefix, "fd00:77:0:1::1", "fd00:77:0:1::2");
    add("server", "client", `${n}-s`, `${n}-c`, s, c, prefix, "fd00:77:0:1::2", "fd00:77:0:1::1");
  } else {
    const half = 2 ** (32 - prefix - 1);
    const cr = base + 1;
    const cc = base + 2;
    const sr = base + half + 1;
    const ss = base + half + 2;
    const p = prefix + 1;
    add("client", "router", `${n}-c`, `${n}-rc`, cc, cr, p, "fd00:77:0:1::2", "fd00:77:0:1::1");
    add("router", "client", `${n}-rc`, `${n}-c`, cr, cc, p, "fd00:77:0:1::1", "fd00:77:0:1::2");
    add("router", "server", `${n}-rs`, `${n}-s`, sr, ss, p, "fd00:77:0:2::1", "fd00:77:0:2::2");
    add("server", "router", `${n}-s`, `${n}-rs`, ss, sr, p, "fd00:77:0:2::2", "fd00:77:0:2::1");
  }
  const host = (role: HostRole): LabHost => {
    const interfaces = Object.values(links).filter((l) => l.host === role);
    const first = interfaces[0] as LabLink;
    const netns = netnsName(config.name, role);
    const labHost: LabHost = {
      name: role,
      lab: config.name,
      netns,
      iface: first.iface,
      address: first.address,
      interfaces,
      exec: (argv, opts = {}) => run(argv, { ...opts, netns }),
      spawn: (argv, opts = {}) => spawnTool(argv, { ...opts, netns }),
    };
    if (first.address6) labHost.address6 = first.address6;
    return labHost;
  };
  const hosts: Lab["hosts"] = { client: host("client"), server: host("server") };
  if (config.router) hosts.router = host("router");
  const lab: Lab = { name: config.name, config, hosts, links };
  if (config.router && config.uplink) {
    const uplink = parseLabSubnet(config.uplink.subnet, 4);
    lab.uplink = {
      netns: netnsName(config.name, "router"),
      routerIface: `${n}-ru`,
      routerAddress: formatIpv4(uplink.base + 1),
      hostIface: `${n}-u`,
      hostAddress: formatIpv4(uplink.base + 2),
      prefix: uplink.prefix,
      labSubnet: config.subnet,
      forward: config.uplink.forward,
      ...(config.uplink.allow ? { allow: config.uplink.allow } : {}),
    };
  }
  return lab;
}

function roles(config: LabConfig): HostRole[] {
  return config.router ? ["client", "router", "server"] : ["client", "server"];
}

async function existingNamespaces(): Promise<Set<string>> {
  const out = await runOk(["ip", "netns", "list"]);
  // Lines look like "name (id: 3)" or just "name".
  return new Set(
    out
      .split("\n")
      .map((l) => l.trim().split(/\s+/)[0] ?? "")
      .filter(Boolean),
  );
}

/** `netns` undefined: this host's root namespace. */
async function interfacePresent(netns: string | undefined, iface: string): Promise<boolean> {
  const result = await run(["ip", ...(netns ? ["-n", netns] : []), "-br", "link", "show", "dev", iface]);
  return result.code === 0 && /\bUP\b|LOWER_UP/.test(result.stdout);
}

async function isHealthy(config: LabConfig): Promise<boolean> {
  const present = await existingNamespaces();
  const lab = planLab(config);
  for (const link of Object.values(lab.links)) {
    if (!present.has(link.netns)) return false;
    if (!(await interfacePresent(link.netns, link.iface))) return false;
  }
  if (lab.uplink) {
    if (!(await interfacePresent(lab.uplink.netns, lab.uplink.routerIface))) return false;
    if (!(await interfacePresent(undefined, lab.uplink.hostIface))) return false;
  }
  return true;
}

/** Whether the lab that is up is what `options` asks for (an uplink's addresses are the lab's own). */
function satisfies(current: LabConfig, wanted: LabConfig, options: LabOptions): boolean {
  const same =
    current.name === wanted.name &&
    current.router === wanted.router &&
    current.ipv6 === wanted.ipv6 &&
    (options.subnet === undefined && current.uplink ? true : current.subnet === wanted.subnet);
  if (!same) return false;
  const uplink = normalizeUplink(options);
  if (!uplink || !current.uplink) return !uplink && !current.uplink;
  const allow = (list?: string[]) => JSON.stringify(list ? [...list].sort() : null);
  return current.uplink.forward === uplink.forward && allow(current.uplink.allow) === allow(uplink.allow);
}

/** Hooks other netlab parts register to release what they attached to a lab (impairments, relays). */
const teardownHooks: ((lab: string) => Promise<void>)[] = [];
export function onLabTeardown(hook: (lab: string) => Promise<void>): void {
  if (!teardownHooks.includes(hook)) teardownHooks.push(hook);
}

/** Kills every process still running inside a namespace we created (relays, generators, captures). */
async function killNamespaceProcesses(netns: string): Promise<void> {
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    const result = await run(["ip", "netns", "pids", netns]);
    const pids = result.stdout
      .split(/\s+/)
      .map((p) => Number.parseInt(p, 10))
      .filter((p) => p > 0 && p !== process.pid);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, signal === "SIGTERM" ? 200 : 50));
  }
}

/** Configs of the labs recorded with an uplink (any state), except `except`. */
async function uplinkLabs(except?: string): Promise<LabConfig[]> {
  const configs: LabConfig[] = [];
  for (const file of await listJson(labsDir())) {
    const state = await readJson<LabState>(file).catch(() => undefined);
    if (state?.config?.uplink && state.config.name !== except) configs.push(state.config);
  }
  return configs;
}

async function destroy(state: LabState): Promise<void> {
  state.status = "deleting";
  await writeJson(stateFile(state.config.name), state);
  for (const hook of teardownHooks) await hook(state.config.name).catch(() => undefined);
  const present = await existingNamespaces();
  for (const netns of state.namespaces) {
    if (!present.has(netns)) continue;
    await killNamespaceProcesses(netns);
    await runOk(["ip", "netns", "del", netns], { code: "LAB_DOWN_FAILED" });
  }
  const uplink = planLab(state.config).uplink;
  if (uplink) {
    await removeUplink(state.config.name, uplink);
    if (uplink.forward) {
      await withLock(UPLINK_LOCK, async () =>
        releaseHostForwarding((await uplinkLabs(state.config.name)).filter((c) => c.uplink?.forward).length),
      );
    }
  }
  // What impair attached to the lab lived in its namespaces and is gone with them.
  await removeFile(join(labsDir(), `${state.config.name}.impair.json`));
  const relays = join(runDir(), "relays");
  for (const file of await readdir(relays).catch(() => [] as string[])) {
    if (file.startsWith(`${state.config.name}-`)) await removeFile(join(relays, file));
  }
  await removeFile(stateFile(state.config.name));
}

function initialState(config: LabConfig): LabState {
  return {
    version: 1,
    config,
    status: "creating",
    namespaces: [],
    pid: process.pid,
    createdAt: new Date().toISOString(),
  };
}

async function create(config: LabConfig): Promise<void> {
  const lab = planLab(config);
  const present = await existingNamespaces();
  const namespaces = roles(config).map((r) => netnsName(config.name, r));
  const foreign = namespaces.filter((ns) => present.has(ns));
  if (foreign.length > 0) {
    throw new QoelabError(
      "LAB_NAMESPACE_EXISTS",
      `lab "${config.name}": namespace ${foreign.join(", ")} exists but was not created by qoelab (no record in ${labsDir()}); remove it yourself or pick another lab name`,
      { lab: config.name, namespaces: foreign },
    );
  }
  const state = initialState(config);
  try {
    for (const netns of namespaces) {
      state.namespaces.push(netns);
      await writeJson(stateFile(config.name), state);
      await runOk(["ip", "netns", "add", netns], { code: "LAB_UP_FAILED" });
    }
    for (const role of roles(config)) {
      const netns = netnsName(config.name, role);
      await runOk(["ip", "-n", netns, "link", "set", "lo", "up"], { code: "LAB_UP_FAILED" });
      const sysctls = config.ipv6
        ? ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0", "net.ipv6.conf.default.accept_ra=0"]
        : ["net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"];
      if (role === "router") {
        sysctls.push("net.ipv4.ip_forward=1");
        if (config.ipv6) sysctls.push("net.ipv6.conf.all.forwarding=1");
      }
      await runOk(["sysctl", "-qw", ...sysctls], { netns, code: "LAB_UP_FAILED" });
    }
    const done = new Set<string>();
    for (const link of Object.values(lab.links)) {
      const key = [link.iface, link.peerIface].sort().join("|");
      if (done.has(key)) continue;
      done.add(key);
      const peer = lab.links[`${link.peer}:${link.host}-side`] as LabLink;
      await runOk(
        [
          "ip",
          "link",
          "add",
          link.iface,
          "netns",
          link.netns,
          "type",
          "veth",
          "peer",
          "name",
          peer.iface,
          "netns",
          peer.netns,
        ],
        { code: "LAB_UP_FAILED" },
      );
    }
    for (const link of Object.values(lab.links)) {
      // Offloads off so a capture shows the packets as they cross the wire (no GSO/GRO super-packets).
      await runOk(["ethtool", "-K", link.iface, "tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"], {
        netns: link.netns,
        code: "LAB_UP_FAILED",
      });
      await runOk(["ip", "-n", link.netns, "addr", "add", `${link.address}/${link.prefix}`, "dev", link.iface], {
        code: "LAB_UP_FAILED",
      });
      if (link.address6) {
        await runOk(["ip", "-n", link.netns, "-6", "addr", "add", `${link.address6}/64`, "dev", link.iface, "nodad"], {
          code: "LAB_UP_FAILED",
        });
      }
      await runOk(["ip", "-n", link.netns, "link", "set", link.iface, "up"], { code: "LAB_UP_FAILED" });
    }
    if (lab.uplink) {
      await createUplink(config.name, lab.uplink);
      if (lab.uplink.forward) await withLock(UPLINK_LOCK, () => enableHostForwarding(config.name));
    }
    if (config.router) {
      for (const role of ["client", "server"] as const) {
        const link = lab.links[`${role}:router-side`] as LabLink;
        await runOk(["ip", "-n", link.netns, "route", "add", "default", "via", link.peerAddress], {
          code: "LAB_UP_FAILED",
        });
        if (link.peerAddress6) {
          await runOk(["ip", "-n", link.netns, "-6", "route", "add", "default", "via", link.peerAddress6], {
            code: "LAB_UP_FAILED",
          });
        }
      }
    }
    state.status = "up";
    await writeJson(stateFile(config.name), state);
  } catch (error) {
    // Roll back everything recorded so far; the original error is what the caller needs.
    await destroy(state).catch(() => undefined);
    throw error;
  }
}

/**
 * Brings a lab up. Same config already up → reused; leftovers of a crashed run → cleaned and
 * recreated; up with a different config → LAB_ALREADY_UP.
 */
export async function labUp(options: LabOptions): Promise<Lab> {
  const requested = normalizeConfig(options);
  const uplink = normalizeUplink(options);
  return withLock(requested.name, async () => {
    const state = await readJson<LabState>(stateFile(requested.name));
    if (state) {
      const healthy = state.status === "up" && (await isHealthy(state.config));
      if (healthy && satisfies(state.config, requested, options)) return planLab(state.config);
      if (healthy) {
        throw new QoelabError(
          "LAB_ALREADY_UP",
          `lab "${requested.name}" is already up with a different configuration (${describe(state.config)}); run "qoelab lab down --name ${requested.name}" first`,
          { lab: requested.name, current: state.config, requested },
        );
      }
      await destroy(state);
    }
    const config = uplink
      ? await withLock(UPLINK_LOCK, async () => {
          const reserved = await reserveUplink(requested, uplink, options.subnet !== undefined, await uplinkLabs());
          // Recorded before the lock is released, so the next lab sees these addresses as taken.
          await writeJson(stateFile(reserved.name), initialState(reserved));
          return reserved;
        })
      : requested;
    await create(config);
    return planLab(config);
  });
}

function describe(config: LabConfig): string {
  const uplink = config.uplink
    ? ` uplink=${config.uplink.subnet}${config.uplink.forward ? " forward" : ""}${config.uplink.allow ? ` allow=${config.uplink.allow.join(",")}` : ""}`
    : "";
  return `router=${config.router} subnet=${config.subnet} ipv6=${config.ipv6}${uplink}`;
}

/** Removes a lab and everything recorded for it; a lab that does not exist is not an error. */
export async function labDown(name: string): Promise<{ removed: boolean }> {
  validateLabName(name);
  return withLock(name, async () => {
    const state = await readJson<LabState>(stateFile(name));
    if (!state) {
      // An impairment record can outlive its lab when a run was killed mid-way; it names nothing alive.
      await removeFile(join(labsDir(), `${name}.impair.json`));
      return { removed: false };
    }
    await destroy(state);
    return { removed: true };
  });
}

/** The Lab of a lab that is up (for impair/capture/exec); LAB_NOT_UP otherwise. */
export async function getLab(name: string): Promise<Lab> {
  validateLabName(name);
  const state = await readJson<LabState>(stateFile(name));
  if (state?.status !== "up" || !(await isHealthy(state.config))) {
    throw new QoelabError("LAB_NOT_UP", `lab "${name}" is not up (run "qoelab lab up --name ${name}")`, { lab: name });
  }
  return planLab(state.config);
}

export async function labStatus(name?: string): Promise<LabStatus[]> {
  const files = name ? [stateFile(name)] : await listJson(labsDir());
  const present = await existingNamespaces();
  const out: LabStatus[] = [];
  for (const file of files) {
    const state = await readJson<LabState>(file);
    if (!state?.config) continue;
    const lab = planLab(state.config);
    let healthy = state.status === "up";
    if (healthy) healthy = await isHealthy(state.config);
    out.push({
      name: state.config.name,
      config: state.config,
      state: state.status === "up" ? (healthy ? "up" : "broken") : state.status,
      namespaces: state.namespaces.map((ns) => ({ name: ns, present: present.has(ns) })),
      hosts: Object.values(lab.hosts)
        .filter((h): h is LabHost => h !== undefined)
        .map((h) => ({
          name: h.name,
          netns: h.netns,
          iface: h.interfaces.map((i) => i.iface).join(","),
          address: h.interfaces.map((i) => i.address).join(","),
          ...(h.address6 ? { address6: h.interfaces.map((i) => i.address6).join(",") } : {}),
        })),
      ...(lab.uplink ? { uplink: lab.uplink } : {}),
      createdAt: state.createdAt,
    });
  }
  return out;
}

/** Resolves "HOST" or "LAB:HOST" (default lab name when no lab is given). */
export function parseHostRef(text: string, defaultLab = "lab"): { lab: string; host: HostRole } {
  const parts = text.split(":");
  const [a, b] = parts;
  if (parts.length === 1 && a && RESERVED.has(a)) return { lab: defaultLab, host: a as HostRole };
  if (parts.length === 2 && a && b && RESERVED.has(b)) return { lab: a, host: b as HostRole };
  throw new QoelabError("LAB_BAD_HOST", `host "${text}": expected client, server or router, optionally as LAB:HOST`, {
    host: text,
  });
}

export function labHost(lab: Lab, role: HostRole): LabHost {
  const host = lab.hosts[role];
  if (!host) {
    throw new QoelabError("LAB_BAD_HOST", `lab "${lab.name}" has no ${role} (bring it up with --router)`, {
      lab: lab.name,
      host: role,
    });
  }
  return host;
}
