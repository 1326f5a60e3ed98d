import {
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  rmSync,
  statSync,
} from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname, isAbsolute, join, sep } from "node:path";
import { type Capture, startCapture } from "../../capture/index.ts";
import { QoelabError } from "../../errors.ts";
import { impair, impairClear, targetOf } from "../impair/impair.ts";
import { clearUplinkShape, shapeUplink } from "../impair/uplink-shape.ts";
import { getLab, type HostRole, type Lab, type LabUplink, labDown, labHost, labUp } from "../lab/lab.ts";
import { killLabProcesses } from "../lab/lab-processes.ts";
import { trafficIface } from "../link-emulator/link-emulator.ts";
import {
  parseShaperRequest,
  type ShaperArgs,
  type ShaperOp,
  type ShaperRequest,
  type ShaperResults,
} from "./shaperd-protocol.ts";

export const DEFAULT_SHAPERD_SOCKET = "/run/qoelab/shaperd.sock";

/** The one unprivileged user a daemon serves: it alone may connect, and it owns what the daemon writes. */
export interface ShaperdUser {
  uid: number;
  gid: number;
}

/** A process the daemon started for a client in a lab host (origin server, player browser). */
export interface ShaperdProcess {
  readonly pid: number | undefined;
  /** False once it exited on its own (killed, crashed). */
  alive(): boolean;
  stop(): Promise<void>;
}

export interface ShaperdPlayer extends ShaperdProcess {
  /** Resolves when the player page finished, rejects with its coded error. */
  run(path: string, timeoutMs: number): Promise<void>;
}

/**
 * What the daemon starts on behalf of the collection (the collect domain provides it; netlab does
 * not know about players and origins). Both run as `runAs`, never as root.
 */
export interface ShaperdServices {
  startOrigin(options: { netns: string; root: string; port: number; runAs: ShaperdUser }): Promise<ShaperdProcess>;
  launchPlayer(options: { netns: string; forwardTo: string; runAs: ShaperdUser }): Promise<ShaperdPlayer>;
}

export interface ShaperDaemonOptions {
  socketPath?: string;
  /**
   * Captures are written only inside this directory. It and every directory above it must be
   * root's and writable by root alone (sticky directories such as /tmp excepted), so a client can
   * never swap a path component for a symlink while root's tcpdump opens the file.
   */
  captureDir: string;
  /** Who may connect (the socket is theirs, mode 0600) and owns the captures; default: this process. */
  user?: ShaperdUser;
  services?: ShaperdServices;
  log?: (message: string) => void;
  /**
   * Refuse uplinks that forward to the outside (they turn on the host's ip_forward and masquerade
   * the lab); host-only uplinks (a person's sessions) stay allowed. Default: allowed.
   */
  noForward?: boolean;
}

interface OwnedCapture {
  capture: Capture;
  stopping: boolean;
  diedEarly?: string;
}

/** What one client connection started: ended when it disconnects (a crashed web app leaves nothing). */
interface ConnectionResources {
  captures: Set<number>;
  players: Set<number>;
  origins: Set<string>;
}

/**
 * `qoelab shaperd`: the root side of collection for a web app that does not run as root. It
 * serves a closed set of validated commands over a local Unix socket owned by the one user it
 * serves (mode 0600: the kernel's permission check is the authentication) and builds every
 * command's argv itself; no shell string ever crosses the socket. Captures are handed to that user
 * (chown), origin servers and browsers run as that user.
 */
export async function startShaperDaemon(
  options: ShaperDaemonOptions,
): Promise<{ server: Server; captureDir: string; close(): Promise<void> }> {
  const socketPath = options.socketPath ?? DEFAULT_SHAPERD_SOCKET;
  const user: ShaperdUser = options.user ?? { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
  mkdirSync(options.captureDir, { recursive: true, mode: 0o755 });
  const captureDir = trustedDirectory(options.captureDir);
  rmSync(socketPath, { force: true });
  const captures = new Map<number, OwnedCapture>();
  const players = new Map<number, ShaperdPlayer>();
  const origins = new Map<string, ShaperdProcess>();
  let nextCapture = 1;
  let nextPlayer = 1;

  function services(op: string): ShaperdServices {
    if (!options.services)
      throw new QoelabError("SHAPERD_NO_SERVICE", `shaperd: ${op} is not available in this daemon (no player/origin)`);
    return options.services;
  }

  function capturePath(file: string): string {
    const path = isAbsolute(file) ? file : join(captureDir, file);
    if (!path.startsWith(captureDir + sep))
      throw new QoelabError("SHAPERD_PATH_OUTSIDE", `shaperd: capture file ${file} is outside ${captureDir}`, {
        file,
        captureDir,
      });
    return path;
  }

  async function stopCapture(id: number): Promise<ShaperResults["capture.stop"]> {
    const owned = captures.get(id);
    if (!owned) throw new QoelabError("SHAPERD_NO_CAPTURE", `shaperd: no capture ${id}`);
    captures.delete(id);
    owned.stopping = true;
    const result = await owned.capture.stop();
    handOver(result.file, user);
    return {
      file: result.file,
      packets: result.packets,
      dropped: result.dropped,
      ...(owned.diedEarly ? { diedEarly: owned.diedEarly } : {}),
    };
  }

  async function stopOrigin(lab: string): Promise<boolean> {
    const origin = origins.get(lab);
    origins.delete(lab);
    if (!origin) return false;
    await origin.stop();
    return true;
  }

  /** Starts root's tcpdump into a file under the capture directory, owned by this connection. */
  async function beginCapture(
    mine: ConnectionResources,
    spec: { netns?: string; iface: string; file: string; snaplen: number; filter?: string },
  ): Promise<ShaperResults["capture.start"]> {
    const file = capturePath(spec.file);
    // Every directory below the trusted capture directory is made here, by root: no client can
    // have planted a symlink in it.
    mkdirSync(dirname(file), { recursive: true, mode: 0o755 });
    assertRootsAlone(captureDir, dirname(file));
    rmSync(file, { force: true });
    const capture = await startCapture({ ...spec, file });
    const id = nextCapture++;
    const owned: OwnedCapture = { capture, stopping: false };
    void capture.exited.then((result) => {
      if (!owned.stopping)
        owned.diedEarly = `tcpdump ended during the capture: ${result.stderr.trim().split("\n").pop() ?? ""}`;
    });
    captures.set(id, owned);
    mine.captures.add(id);
    return { id, pid: capture.pid, file };
  }

  async function execute(request: ShaperRequest, mine: ConnectionResources): Promise<ShaperResults[ShaperOp]> {
    switch (request.op) {
      case "ping":
        return { pong: true, captureDir, uid: user.uid, gid: user.gid };
      case "lab.up": {
        const { args } = request;
        if (args.uplink?.forward && options.noForward)
          throw new QoelabError(
            "SHAPERD_FORWARD_REFUSED",
            `shaperd: lab "${args.name}" asks for an uplink that forwards to the outside, and this daemon was started with --no-forward (sources that need the Internet cannot run through it)`,
            { lab: args.name },
          );
        const lab = await labUp({
          name: args.name,
          router: args.router,
          ...(args.uplink
            ? { uplink: { forward: args.uplink.forward, ...(args.uplink.allow ? { allow: args.uplink.allow } : {}) } }
            : {}),
        });
        return { name: lab.name, config: lab.config };
      }
      case "lab.down": {
        const { args } = request;
        await stopOrigin(args.name);
        return labDown(args.name);
      }
      case "slot.clean": {
        const killed = await killLabProcesses(await getLab(request.args.lab));
        return { killed };
      }
      case "shape": {
        const { args } = request;
        const lab = await getLab(args.lab);
        const result = await impair(
          targetOf(lab, args.link),
          {
            rate: args.rateBits,
            ...(args.limitPackets ? { limit: args.limitPackets } : {}),
            ...(args.delaySeconds !== undefined ? { delay: args.delaySeconds } : {}),
            ...(args.lossProbability ? { loss: { kind: "bernoulli", p: args.lossProbability } as const } : {}),
            ...(args.seed !== undefined ? { seed: args.seed } : {}),
            // Seeded loss: the link emulator, whose random choices follow the seed (iptables' do not).
          },
          args.lossProbability ? { prefer: ["emulator"] } : {},
        );
        return {
          link: args.link,
          assignments: result.assignments.map((a) => ({ option: a.option, value: a.value, backend: a.backend })),
        };
      }
      case "shape.clear": {
        const { args } = request;
        const lab = await getLab(args.lab);
        return impairClear(lab.name, targetOf(lab, args.link));
      }
      case "capture.start": {
        const { args } = request;
        const lab = await getLab(args.lab);
        const host = labHost(lab, args.host as HostRole);
        return beginCapture(mine, {
          netns: host.netns,
          iface: await trafficIface(lab, args.host as HostRole),
          file: args.file,
          snaplen: args.snaplen,
          ...(args.filter ? { filter: args.filter } : {}),
        });
      }
      case "uplink.capture": {
        const { args } = request;
        const uplink = uplinkOf(await getLab(args.lab));
        // The filter is the daemon's own: the lab's TCP only (the host's end sees the host's traffic too).
        return beginCapture(mine, {
          iface: uplink.hostIface,
          file: args.file,
          snaplen: args.snaplen,
          filter: `tcp and net ${uplink.labSubnet}`,
        });
      }
      case "uplink.shape": {
        const { args } = request;
        const uplink = uplinkOf(await getLab(args.lab));
        const applied = await shapeUplink(uplink, {
          rate: args.rateBits,
          ...(args.limitPackets ? { limit: args.limitPackets } : {}),
        });
        return { applied };
      }
      case "uplink.clear": {
        await clearUplinkShape(uplinkOf(await getLab(request.args.lab)));
        return { cleared: true };
      }
      case "capture.stop": {
        const { id } = request.args;
        mine.captures.delete(id);
        return stopCapture(id);
      }
      case "origin.start": {
        const { args } = request;
        const running = origins.get(args.lab);
        if (running?.alive()) return { pid: running.pid ?? 0 };
        if (!statSync(args.root, { throwIfNoEntry: false })?.isDirectory())
          throw new QoelabError("SHAPERD_NO_ORIGIN_ROOT", `shaperd: origin root ${args.root} is not a directory`);
        const starter = services("origin.start");
        const lab = await getLab(args.lab);
        const origin = await starter.startOrigin({
          netns: lab.hosts.server.netns,
          root: args.root,
          port: args.port,
          runAs: user,
        });
        origins.set(args.lab, origin);
        mine.origins.add(args.lab);
        return { pid: origin.pid ?? 0 };
      }
      case "origin.stop": {
        const { lab } = request.args;
        mine.origins.delete(lab);
        return { stopped: await stopOrigin(lab) };
      }
      case "player.launch": {
        const { args } = request;
        const launcher = services("player.launch");
        const lab = await getLab(args.lab);
        const player = await launcher.launchPlayer({
          netns: lab.hosts.client.netns,
          forwardTo: args.forwardTo,
          runAs: user,
        });
        const id = nextPlayer++;
        players.set(id, player);
        mine.players.add(id);
        return { id, pid: player.pid ?? null };
      }
      case "player.run": {
        const { args } = request;
        const player = players.get(args.id);
        if (!player) throw new QoelabError("SHAPERD_NO_PLAYER", `shaperd: no player ${args.id}`);
        await player.run(args.path, args.timeoutMs);
        return { done: true };
      }
      case "player.close": {
        const { id } = request.args;
        const player = players.get(id);
        players.delete(id);
        mine.players.delete(id);
        await player?.stop();
        return { closed: player !== undefined };
      }
    }
  }

  async function releaseConnection(mine: ConnectionResources): Promise<void> {
    for (const id of mine.players) {
      const player = players.get(id);
      players.delete(id);
      await player?.stop().catch(() => undefined);
    }
    for (const id of mine.captures) await stopCapture(id).catch(() => undefined);
    for (const lab of mine.origins) await stopOrigin(lab).catch(() => undefined);
  }

  const server = createServer((socket: Socket) => {
    const mine: ConnectionResources = { captures: new Set(), players: new Set(), origins: new Set() };
    let buffer = "";
    socket.setEncoding("utf8");
    const reply = (value: unknown) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(value)}\n`);
    };
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      if (buffer.length > 65536) {
        socket.end(
          `${JSON.stringify({ id: null, ok: false, error: { code: "SHAPERD_BAD_REQUEST", message: "shaperd: line too long" } })}\n`,
        );
        return;
      }
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        void (async () => {
          let id: number | null = null;
          try {
            const parsed = parseShaperRequest(line);
            id = parsed.id;
            options.log?.(`shaperd: ${parsed.request.op} ${JSON.stringify(parsed.request.args)}`);
            const result = await execute(parsed.request, mine);
            reply({ id, ok: true, result });
          } catch (error) {
            const code = error instanceof QoelabError ? error.code : "SHAPERD_FAILED";
            const message = error instanceof Error ? error.message : String(error);
            reply({ id, ok: false, error: { code, message } });
          }
        })();
      }
    });
    socket.on("close", () => void releaseConnection(mine));
    socket.on("error", () => undefined);
  });
  // No moment where another user could connect: the socket is born 0600, then given to the user.
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => resolve());
    });
  } finally {
    process.umask(umask);
  }
  if (process.getuid?.() === 0) chownSync(socketPath, user.uid, user.gid);
  return {
    server,
    captureDir,
    async close() {
      for (const id of [...captures.keys()]) await stopCapture(id).catch(() => undefined);
      for (const player of players.values()) await player.stop().catch(() => undefined);
      players.clear();
      for (const lab of [...origins.keys()]) await stopOrigin(lab).catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}

function uplinkOf(lab: Lab): LabUplink {
  if (!lab.uplink)
    throw new QoelabError("LAB_NO_UPLINK", `shaperd: lab "${lab.name}" has no uplink`, { lab: lab.name });
  return lab.uplink;
}

/**
 * The capture directory's real path, after checking that it and every directory above it belong
 * to this process's user (root) and that no one else may write them, except sticky directories
 * above it (such as /tmp), where others cannot rename or remove what is not theirs.
 */
function trustedDirectory(dir: string): string {
  const real = realpathSync(dir);
  const self = process.getuid?.() ?? 0;
  for (let current = real; ; current = dirname(current)) {
    const stat = statSync(current);
    const othersWrite = (stat.mode & 0o022) !== 0;
    const sticky = (stat.mode & 0o1000) !== 0 && current !== real;
    if ((stat.uid !== self && stat.uid !== 0) || (othersWrite && !sticky))
      throw new QoelabError(
        "SHAPERD_CAPTURE_DIR_UNSAFE",
        `shaperd: capture directory ${real} is unsafe: ${current} is owned by uid ${stat.uid} with mode ${(stat.mode & 0o7777).toString(8)} (it must be root's and writable by root alone)`,
        { captureDir: real, directory: current },
      );
    if (current === dirname(current)) return real;
  }
}

/** Every directory from `top` (trusted) down to `dir` must be a real directory that root alone may write. */
function assertRootsAlone(top: string, dir: string): void {
  for (let current = dir; current !== top; current = dirname(current)) {
    const stat = lstatSync(current);
    if (!stat.isDirectory() || stat.uid !== (process.getuid?.() ?? 0) || (stat.mode & 0o022) !== 0)
      throw new QoelabError(
        "SHAPERD_CAPTURE_DIR_UNSAFE",
        `shaperd: ${current} inside the capture directory is not a directory that only root may write`,
        { directory: current },
      );
  }
}

/** Gives a finished capture to the served user (through a descriptor that never follows a symlink). */
function handOver(file: string, user: ShaperdUser): void {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return; // tcpdump never created it: the caller sees packets 0
  }
  try {
    if (process.getuid?.() === 0) fchownSync(fd, user.uid, user.gid);
    fchmodSync(fd, 0o640);
  } finally {
    closeSync(fd);
  }
}

type Waiter = { resolve(v: unknown): void; reject(e: Error): void };

/**
 * Client of the shaper daemon: requests are answered by id, so calls may overlap (a player runs
 * for minutes while captures start and stop). A lost connection fails the calls in flight; the
 * next call connects again.
 */
export class ShaperClient {
  private nextId = 1;
  private socket: Socket | undefined;
  private readonly pending = new Map<number, Waiter>();

  private constructor(readonly socketPath: string) {}

  static async connect(socketPath = DEFAULT_SHAPERD_SOCKET): Promise<ShaperClient> {
    const client = new ShaperClient(socketPath);
    await client.open();
    return client;
  }

  private open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.socketPath);
      let buffer = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const reply = JSON.parse(buffer.slice(0, nl)) as {
            id: number | null;
            ok: boolean;
            result?: unknown;
            error?: { code: string; message: string };
          };
          buffer = buffer.slice(nl + 1);
          const id = reply.id ?? 0;
          const waiter = this.pending.get(id);
          if (!waiter) continue;
          this.pending.delete(id);
          if (reply.ok) waiter.resolve(reply.result);
          else
            waiter.reject(
              new QoelabError(reply.error?.code ?? "SHAPERD_FAILED", reply.error?.message ?? "shaperd failed"),
            );
        }
      });
      socket.once("connect", () => {
        this.socket = socket;
        resolve(socket);
      });
      socket.once("error", (error) => {
        reject(
          new QoelabError(
            "SHAPERD_UNAVAILABLE",
            `shaperd: cannot connect to ${this.socketPath} (${error.message}); start it as root: sudo qoelab shaperd --socket ${this.socketPath}`,
            { socket: this.socketPath },
          ),
        );
      });
      socket.once("close", () => {
        if (this.socket === socket) this.socket = undefined;
        for (const waiter of this.pending.values())
          waiter.reject(
            new QoelabError("SHAPERD_DISCONNECTED", `shaperd: the connection to ${this.socketPath} was lost`),
          );
        this.pending.clear();
      });
    });
  }

  async call<O extends ShaperOp>(
    op: O,
    ...args: ShaperArgs<O> extends Record<string, never> ? [] : [ShaperArgs<O>]
  ): Promise<ShaperResults[O]> {
    const socket = await this.open();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      socket.write(`${JSON.stringify({ id, op, args: args[0] ?? {} })}\n`);
    });
  }

  /** Sends a raw line (tests use it to check that malformed requests are refused). */
  async callRaw(line: string): Promise<unknown> {
    const socket = await this.open();
    return new Promise((resolve, reject) => {
      this.pending.set(0, { resolve, reject });
      socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.socket?.end();
  }
}
