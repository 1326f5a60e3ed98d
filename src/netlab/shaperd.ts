import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { type Capture, startCapture } from "../capture/index.ts";
import { QoelabError } from "../errors.ts";
import { impair, impairClear, targetOf } from "./impair.ts";
import { getLab, labDown, labHost, labUp } from "./lab.ts";
import { parseShaperRequest, type ShaperRequest } from "./shaperd-protocol.ts";

export const DEFAULT_SHAPERD_SOCKET = "/run/qoelab/shaperd.sock";

export interface ShaperDaemonOptions {
  socketPath?: string;
  /** Captures are written only here (requests name a plain file). */
  captureDir: string;
  log?: (message: string) => void;
}

/**
 * `qoelab shaperd`: the root-side of collection for a web app that does not run as root. It
 * serves a closed set of validated commands over a local Unix socket (mode 0660) and builds every
 * command's argv itself; no shell string ever crosses the socket.
 */
export async function startShaperDaemon(
  options: ShaperDaemonOptions,
): Promise<{ server: Server; close(): Promise<void> }> {
  const socketPath = options.socketPath ?? DEFAULT_SHAPERD_SOCKET;
  mkdirSync(dirname(socketPath), { recursive: true });
  mkdirSync(options.captureDir, { recursive: true });
  rmSync(socketPath, { force: true });
  const captures = new Map<number, Capture>();
  let nextCapture = 1;

  async function execute(request: ShaperRequest): Promise<unknown> {
    switch (request.op) {
      case "ping":
        return { pong: true };
      case "lab.up": {
        const lab = await labUp({ name: request.args.name, router: request.args.router });
        return { name: lab.name, hosts: Object.keys(lab.hosts) };
      }
      case "lab.down":
        return labDown(request.args.name);
      case "shape": {
        const lab = await getLab(request.args.lab);
        const result = await impair(targetOf(lab, request.args.link), {
          rate: request.args.rateBits,
          ...(request.args.limitPackets ? { limit: request.args.limitPackets } : {}),
        });
        return { link: request.args.link, assignments: result.assignments };
      }
      case "shape.clear": {
        const lab = await getLab(request.args.lab);
        return impairClear(lab.name, targetOf(lab, request.args.link));
      }
      case "capture.start": {
        const lab = await getLab(request.args.lab);
        const host = labHost(lab, request.args.host as "client" | "server" | "router");
        const file = join(options.captureDir, request.args.file);
        const capture = await startCapture({
          netns: host.netns,
          iface: host.iface,
          file,
          snaplen: request.args.snaplen,
          ...(request.args.filter ? { filter: request.args.filter } : {}),
        });
        const id = nextCapture++;
        captures.set(id, capture);
        return { id, file };
      }
      case "capture.stop": {
        const capture = captures.get(request.args.id);
        if (!capture) throw new QoelabError("SHAPERD_NO_CAPTURE", `shaperd: no capture ${request.args.id}`);
        captures.delete(request.args.id);
        const result = await capture.stop();
        return { file: result.file, packets: result.packets, dropped: result.dropped };
      }
    }
  }

  const server = createServer((socket: Socket) => {
    let buffer = "";
    socket.setEncoding("utf8");
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
            const result = await execute(parsed.request);
            socket.write(`${JSON.stringify({ id, ok: true, result })}\n`);
          } catch (error) {
            const code = error instanceof QoelabError ? error.code : "SHAPERD_FAILED";
            const message = error instanceof Error ? error.message : String(error);
            socket.write(`${JSON.stringify({ id, ok: false, error: { code, message } })}\n`);
          }
        })();
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => resolve());
  });
  chmodSync(socketPath, 0o660);
  return {
    server,
    async close() {
      for (const capture of captures.values()) await capture.stop().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(socketPath, { force: true });
    },
  };
}

/** Client of the shaper daemon: one request at a time per call, answered by id. */
export class ShaperClient {
  private nextId = 1;
  private constructor(
    private readonly socket: Socket,
    private readonly pending: Map<number, { resolve(v: unknown): void; reject(e: Error): void }>,
  ) {}

  static connect(socketPath = DEFAULT_SHAPERD_SOCKET): Promise<ShaperClient> {
    return new Promise((resolve, reject) => {
      const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
      const socket = createConnection(socketPath);
      let buffer = "";
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        buffer += chunk;
        for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
          const reply = JSON.parse(buffer.slice(0, nl)) as {
            id: number;
            ok: boolean;
            result?: unknown;
            error?: { code: string; message: string };
          };
          buffer = buffer.slice(nl + 1);
          const waiter = pending.get(reply.id ?? 0);
          if (!waiter) continue;
          pending.delete(reply.id);
          if (reply.ok) waiter.resolve(reply.result);
          else
            waiter.reject(
              new QoelabError(reply.error?.code ?? "SHAPERD_FAILED", reply.error?.message ?? "shaperd failed"),
            );
        }
      });
      socket.once("connect", () => resolve(new ShaperClient(socket, pending)));
      socket.once("error", (error) =>
        reject(
          new QoelabError(
            "SHAPERD_UNAVAILABLE",
            `shaperd: cannot connect to ${socketPath} (${error.message}); start it as root with "qoelab shaperd"`,
          ),
        ),
      );
    });
  }

  call(op: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Sends a raw line (tests use it to check that malformed requests are refused). */
  callRaw(line: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending.set(0, { resolve, reject });
      this.socket.write(`${line}\n`);
    });
  }

  close(): void {
    this.socket.end();
  }
}
