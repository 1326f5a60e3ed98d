import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import { nodeModuleCommand } from "../lab/run.ts";
import { runDir } from "../lab/state.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";
import type { RelayConfig, RelayStats } from "./udp-relay.ts";

/*
 * The userspace relay backend: for each UDP port asked for, a relay process runs in the impaired
 * host and an iptables REDIRECT sends the matching datagrams to it; the relay forwards them to the
 * far-end host after seeded delay/jitter/loss/reordering/duplication/corruption. Only UDP over IPv4
 * on the given ports is affected. On an end host the relay's own packets are told apart by its
 * group id (the REDIRECT skips that gid), so they are not redirected back into it.
 */

export const RELAY_GID = 47_717;
const RELAY_MARKER = "udp-relay-main";
const RELAY_OPTIONS: readonly ImpairOption[] = ["delay", "loss", "reorder", "duplicate", "corrupt", "limit"];

export interface RelayNote {
  port: number;
  listenPort: number;
  pid: number;
  statsFile: string;
}

function safeKey(text: string): string {
  return text.replace(/[^a-z0-9-]/gi, "_");
}

export function relayConfig(
  target: ImpairTarget,
  spec: ImpairSpec,
  options: readonly ImpairOption[],
  port: number,
): RelayConfig {
  const has = (o: ImpairOption) => options.includes(o);
  const config: RelayConfig = {
    listenPort: 0,
    forwardHost: target.farHost.address,
    forwardPort: port,
    recordDrops: false,
  };
  if (has("delay")) {
    config.delay = spec.delay ?? 0;
    if (spec.jitter) config.jitter = spec.jitter;
    if (spec.delayDist) config.delayDist = spec.delayDist;
  }
  if (has("loss") && spec.loss) config.loss = spec.loss;
  if (has("reorder")) config.reorder = spec.reorder;
  if (has("duplicate")) config.duplicate = spec.duplicate;
  if (has("corrupt")) config.corrupt = spec.corrupt;
  if (has("limit")) config.limit = spec.limit;
  if (spec.seed !== undefined) config.seed = spec.seed;
  return config;
}

function redirectRule(target: ImpairTarget, port: number, listenPort: number): { chain: string; rule: string[] } {
  const match = ["-p", "udp", "-d", target.farHost.address, "--dport", String(port)];
  const comment = ["-m", "comment", "--comment", `qoelab-relay-${target.key}-${port}`];
  const jump = ["-j", "REDIRECT", "--to-ports", String(listenPort)];
  if (target.forwarding) return { chain: "PREROUTING", rule: [...match, ...comment, ...jump] };
  return {
    chain: "OUTPUT",
    rule: [...match, "-m", "owner", "!", "--gid-owner", String(RELAY_GID), ...comment, ...jump],
  };
}

async function startRelay(
  target: ImpairTarget,
  config: RelayConfig,
  statsFile: string,
  journal: Journal,
): Promise<RelayNote> {
  const logFile = statsFile.replace(/\.json$/, ".log");
  await journal.record({ kind: "remove", path: logFile });
  await journal.record({ kind: "remove", path: statsFile });
  const log = openSync(logFile, "a");
  const main = new URL(
    import.meta.url.endsWith(".ts") ? "./udp-relay-main.ts" : "./udp-relay-main.js",
    import.meta.url,
  );
  const argv = nodeModuleCommand(main, [JSON.stringify(config), statsFile]);
  const child = target.host.spawn(argv, {
    detached: true,
    stdio: ["ignore", "pipe", log],
    ...(target.forwarding ? {} : { gid: RELAY_GID }),
  });
  closeSync(log);
  if (child.pid === undefined) {
    throw new QoelabError("IMPAIR_RELAY_FAILED", `relay for ${target.key} port ${config.forwardPort}: could not start`);
  }
  await journal.record({ kind: "kill", pid: child.pid, marker: RELAY_MARKER });
  const listenPort = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(failure("no ready line within 15 s")), 15_000);
    function failure(why: string): QoelabError {
      let tail = "";
      try {
        tail = readFileSync(logFile, "utf8").trim().split("\n").slice(-3).join(" | ");
      } catch {
        // no log
      }
      return new QoelabError(
        "IMPAIR_RELAY_FAILED",
        `relay for ${target.lab.name}:${target.key} port ${config.forwardPort}: ${why}${tail ? ` (${tail})` : ""}`,
        { log: logFile },
      );
    }
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      out += chunk;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(failure(`exited with code ${code}`));
    });
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(failure(e.message));
    });
  });
  child.stdout?.destroy();
  child.removeAllListeners("exit");
  child.unref();
  return { port: config.forwardPort, listenPort, pid: child.pid, statsFile };
}

export const relayBackend: ImpairBackend = {
  name: "relay",
  async supports(option: ImpairOption, spec: ImpairSpec) {
    if (!RELAY_OPTIONS.includes(option)) return `the relay does not do ${option}`;
    if (!spec.udpPorts?.length) return "the userspace relay needs --udp-port P (it impairs UDP to those ports only)";
    return true;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, options: ImpairOption[], journal: Journal) {
    const dir = join(runDir(), "relays");
    mkdirSync(dir, { recursive: true });
    const relays: RelayNote[] = [];
    for (const port of spec.udpPorts ?? []) {
      const statsFile = join(dir, `${target.lab.name}-${safeKey(target.key)}-${port}.json`);
      const note = await startRelay(target, relayConfig(target, spec, options, port), statsFile, journal);
      relays.push(note);
      await journal.note("relays", relays);
      const { chain, rule } = redirectRule(target, port, note.listenPort);
      await journal.run(
        ["iptables", "-w", "-t", "nat", "-I", chain, ...rule],
        target.link.netns,
        ["iptables", "-w", "-t", "nat", "-D", chain, ...rule],
        "IMPAIR_APPLY_FAILED",
      );
    }
  },
  async show(_target: ImpairTarget, _options: ImpairOption[], notes: Record<string, unknown>) {
    const relays = (notes.relays ?? []) as RelayNote[];
    return relays
      .map((r) => {
        let alive = true;
        try {
          process.kill(r.pid, 0);
        } catch {
          alive = false;
        }
        let stats: RelayStats | undefined;
        try {
          stats = (JSON.parse(readFileSync(r.statsFile, "utf8")) as { stats: RelayStats }).stats;
        } catch {
          stats = undefined;
        }
        const s = stats
          ? `received ${stats.received}, lost ${stats.lost}, forwarded ${stats.forwarded}, duplicated ${stats.duplicated}, reordered ${stats.reordered}, queue-full ${stats.queueFull}, mean added delay ${stats.delayMeanMs.toFixed(3)} ms`
          : "no stats yet";
        return `udp ${r.port} → relay pid ${r.pid} (${alive ? "running" : "NOT RUNNING"}) :${r.listenPort}; ${s}`;
      })
      .join(" | ");
  },
};
