import { readdirSync, readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { DEFAULT_SHAPERD_SOCKET, type Lab, type LabOptions, labDown } from "../netlab/index.ts";
import { directLabOperator } from "./operator/direct-lab-operator.ts";
import type { LabOperator } from "./operator/lab-operator.ts";
import { ShaperdLabOperator } from "./operator/shaperd-lab-operator.ts";
import type { LocalOrigin } from "./origin/local-origin.ts";
import { CollectionOrchestrator, type OrchestratorEvent } from "./session/orchestrator.ts";
import type { PlayableSession, SessionController } from "./session/session-controller.ts";

/** The web app the player talks to (pages, assets, API): built by the caller around the controller. */
export interface CollectionApp {
  fetch(request: Request): Response | Promise<Response>;
}

export interface CollectionRuntimeOptions<A extends CollectionApp = CollectionApp> {
  /** Builds the web app the player's page, assets and API requests go to (the entry point supplies it). */
  createApp: (controller: SessionController) => A;
  maxSlots?: number;
  /** Where captures go as root; through shaperd they go to the daemon's capture directory. */
  captureDir?: string;
  log?: (message: string) => void;
  originChannels?: readonly string[];
  originDuration?: number;
  /** A built-in origin already built (otherwise built on first use from the channels and duration). */
  origin?: LocalOrigin;
  /** Destinations (IPv4 prefixes) the labs of external sources may reach through their uplink; default any. */
  uplinkAllow?: string[];
  staleAfterSeconds?: number;
  labPrefix?: string;
  onEvent?: (event: OrchestratorEvent) => void;
  /** The shaper daemon's socket, used when this process is not root (default /run/qoelab/shaperd.sock). */
  shaperdSocket?: string;
  /** How long `close` lets running sessions end before it ends their labs' processes (ms, default 3000). */
  stopGraceMs?: number;
  /** How long `close` waits for running sessions before it ends this process's children (ms, default 15000). */
  stopTimeoutMs?: number;
}

export interface CollectionRuntime<A extends CollectionApp = CollectionApp> {
  orchestrator: CollectionOrchestrator;
  app: A;
  /** "direct" as root, "shaperd" through the daemon. */
  operator: LabOperator["kind"];
  close(): Promise<void>;
}

/**
 * Wires the collection worker to the web app (`options.createApp`: the entry point's, so collect
 * does not import web). As root the process does the privileged steps
 * itself and the player's requests are answered in-process. Otherwise `qoelab shaperd` does them:
 * its chromium's page requests come back to this web app through a listener on loopback (an
 * ephemeral port, whatever address `serve` binds), and nothing privileged happens here.
 * Throws COLLECT_NEEDS_SHAPERD when not root and no daemon answers.
 */
export async function createCollectionRuntime<A extends CollectionApp>(
  db: Db,
  options: CollectionRuntimeOptions<A>,
): Promise<CollectionRuntime<A>> {
  let orchestrator: CollectionOrchestrator | undefined;
  const controller: SessionController = {
    next: (trainingId: number, worker: string) => orchestrator!.next(trainingId, worker),
    play: (id: number): Promise<{ session: PlayableSession; url: string }> => orchestrator!.play(id),
    start: (id: number) => orchestrator!.start(id),
    finish: (id: number, data: Record<string, unknown>) => orchestrator!.finish(id, data),
    fail: (id: number, reason: string) => orchestrator!.fail(id, reason),
  };
  const app = options.createApp(controller);
  let operator: LabOperator;
  let loopback: ReturnType<typeof serve> | undefined;
  let captureDir = options.captureDir;
  if (process.getuid?.() === 0) {
    operator = directLabOperator(async (request) => app.fetch(request));
  } else {
    const socketPath = options.shaperdSocket ?? DEFAULT_SHAPERD_SOCKET;
    loopback = await listenOnLoopback(app);
    const { port } = loopback.address() as AddressInfo;
    try {
      operator = await ShaperdLabOperator.connect(socketPath, `http://127.0.0.1:${port}`);
    } catch (error) {
      await new Promise<void>((resolve) => loopback!.close(() => resolve()));
      if (error instanceof QoelabError && error.code === "SHAPERD_UNAVAILABLE")
        throw new QoelabError(
          "COLLECT_NEEDS_SHAPERD",
          `collection needs root for namespaces, shaping and capture: no shaper daemon answers on ${socketPath}. Start it as root for this user: sudo qoelab shaperd --user ${process.getuid?.() ?? "$(id -u)"} --socket ${socketPath} (or run this command as root)`,
          { socket: socketPath },
          { cause: error },
        );
      throw error;
    }
    if (captureDir && captureDir !== operator.captureDir)
      options.log?.(`collect: captures go to shaperd's capture directory ${operator.captureDir}`);
    captureDir = operator.captureDir;
    options.log?.(`collect: privileged steps through shaperd at ${socketPath}`);
  }
  // The labs this process brings up, so stopping removes them (the namespaces are ours to remove).
  const labsMade = new Map<string, Lab>();
  const tracked = trackLabs(operator, labsMade);
  orchestrator = new CollectionOrchestrator({
    db,
    operator: tracked,
    ...(options.maxSlots ? { maxSlots: options.maxSlots } : {}),
    ...(captureDir ? { captureDir } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.originChannels ? { originChannels: options.originChannels } : {}),
    ...(options.originDuration ? { originDuration: options.originDuration } : {}),
    ...(options.origin ? { origin: options.origin } : {}),
    ...(options.uplinkAllow ? { uplinkAllow: options.uplinkAllow } : {}),
    ...(options.staleAfterSeconds !== undefined ? { staleAfterSeconds: options.staleAfterSeconds } : {}),
    ...(options.labPrefix ? { labPrefix: options.labPrefix } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  return {
    orchestrator,
    app,
    operator: operator.kind,
    async close() {
      // A session still playing ends when its lab's processes do: stopping does not wait out a video
      // (the session fails with its reason and is retried by the next worker).
      const grace = setTimeout(() => {
        for (const lab of labsMade.values()) void operator.cleanSlot(lab).catch(() => undefined);
      }, options.stopGraceMs ?? 3000);
      // A session busy elsewhere (building the origin's video) is not waited for past the deadline:
      // what this process started is ended, and the session is resumed by the next worker.
      let deadline: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => {
        deadline = setTimeout(() => resolve("late"), options.stopTimeoutMs ?? 15_000);
      });
      try {
        if ((await Promise.race([orchestrator!.stop(), late])) === "late") {
          options.log?.("collect: a session is still running; ending this process's children and removing its labs");
          endChildProcesses();
        }
      } finally {
        clearTimeout(grace);
        clearTimeout(deadline);
      }
      if (loopback) await new Promise<void>((resolve) => loopback!.close(() => resolve()));
      if (operator.kind === "direct") {
        for (const name of labsMade.keys()) {
          await labDown(name).catch((error: Error) =>
            options.log?.(`collect: lab ${name} not removed: ${error.message}`),
          );
        }
      }
    },
  };
}

/** SIGTERM to this process's own children (ffmpeg, tcpdump, chromium through `ip netns exec`…). */
function endChildProcesses(): void {
  let entries: string[] = [];
  try {
    entries = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return;
  }
  for (const pid of entries) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid …"; comm may hold spaces and brackets, so read after the last ")".
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid) process.kill(Number(pid), "SIGTERM");
    } catch {
      // gone already
    }
  }
}

/** The operator, recording each lab it brings up in `made`. */
function trackLabs(operator: LabOperator, made: Map<string, Lab>): LabOperator {
  return new Proxy(operator, {
    get(target, property) {
      if (property === "labUp")
        return async (options: LabOptions) => {
          const lab = await target.labUp(options);
          made.set(lab.name, lab);
          return lab;
        };
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function listenOnLoopback(app: CollectionApp): Promise<ReturnType<typeof serve>> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: (request) => app.fetch(request), hostname: "127.0.0.1", port: 0 }, () =>
      resolve(server),
    );
    server.once("error", (error: Error) =>
      reject(new QoelabError("SERVE_FAILED", `collect: cannot listen on 127.0.0.1 for shaperd: ${error.message}`)),
    );
  });
}
