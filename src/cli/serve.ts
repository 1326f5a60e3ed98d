import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Command } from "commander";
import { type Db, openDb } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { DEFAULT_SHAPERD_SOCKET } from "../netlab/index.ts";
import { createApp } from "../web/index.ts";
import { createCollectionRuntime } from "./collection-runtime.ts";

export interface ServeOptions {
  host: string;
  port: string;
  dataDir?: string;
  /** An already open database (tests); otherwise opened from DATABASE_URL / dataDir. */
  db?: Db;
  /** Run the collection worker in this process (default: yes; as root directly, else through shaperd). */
  collect?: boolean;
  slots?: string;
  captureDir?: string;
  /** The shaper daemon's socket, for a web app that does not run as root. */
  shaperd?: string;
  /** IPv4 prefixes (comma-separated) the labs of external sources may reach through their uplink. */
  uplinkAllow?: string;
  /** Where warnings go (default stderr). */
  log?: (message: string) => void;
}

/** Starts the web app (and, in the same process, the collection worker once configured). */
export async function startServer(options: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new QoelabError("BAD_PORT", `serve: --port must be 1–65535, got "${options.port}"`);
  const db = options.db ?? (await openDb({ dataDir: options.dataDir }));
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  const runtime = options.collect === false ? undefined : await collectionOrNone(db, options, log);
  const app = runtime?.app ?? createApp({ db });
  runtime?.orchestrator.startWorker();
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.host, port }, () => resolve(s));
    s.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new QoelabError(
          error.code === "EADDRINUSE" ? "PORT_IN_USE" : "SERVE_FAILED",
          `serve: cannot listen on ${options.host}:${port}: ${error.message}`,
        ),
      ),
    );
  });
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime?.close();
      if (!options.db) await db.close();
    },
  };
}

/**
 * The collection worker, or none when this process is not root and no shaper daemon answers: the
 * web app then still serves trainings, results and exports, and says how to start the daemon.
 */
async function collectionOrNone(db: Db, options: ServeOptions, log: (message: string) => void) {
  try {
    return await createCollectionRuntime(db, {
      maxSlots: Number(options.slots ?? 1),
      captureDir: options.captureDir ?? join(options.dataDir ?? "./qoelab-data", "captures"),
      log,
      ...(options.shaperd ? { shaperdSocket: options.shaperd } : {}),
      ...(options.uplinkAllow ? { uplinkAllow: splitList(options.uplinkAllow) } : {}),
    });
  } catch (error) {
    if (!(error instanceof QoelabError) || error.code !== "COLLECT_NEEDS_SHAPERD") throw error;
    log(`qoelab: running without the collection worker. ${error.message}`);
    return undefined;
  }
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the web app (trainings, sessions, export) and the collection worker")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port", "8000")
    .option("--data-dir <dir>", "PGlite data directory when DATABASE_URL is unset", "./qoelab-data")
    .option("--no-collect", "do not run the collection worker in this process")
    .option("--slots <n>", "lab slots the collection worker runs in parallel", "1")
    .option("--capture-dir <dir>", "where session captures are written as root (default DATA_DIR/captures)")
    .option("--shaperd <socket>", "shaper daemon socket used when not root", DEFAULT_SHAPERD_SOCKET)
    .option("--uplink-allow <list>", "IPv4 prefixes the labs of Twitch/URL sources may reach (default any)")
    .action(async (options: ServeOptions) => {
      if (!process.env.DATABASE_URL)
        process.stdout.write(
          `qoelab: opening the embedded database in ${options.dataDir} (the first start initialises it)\n`,
        );
      const server = await startServer(options);
      process.stdout.write(
        `qoelab: web app on ${server.url} (database: ${process.env.DATABASE_URL ? "server" : "embedded PGlite"})\n`,
      );
      const stop = () => {
        void server.close().then(() => process.exit(0));
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
