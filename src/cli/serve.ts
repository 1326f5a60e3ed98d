import { join } from "node:path";
import { serve } from "@hono/node-server";
import type { Command } from "commander";
import { type Db, openDb } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { createApp } from "../web/index.ts";
import { createCollectionRuntime } from "./collection-runtime.ts";

export interface ServeOptions {
  host: string;
  port: string;
  dataDir?: string;
  /** An already open database (tests); otherwise opened from DATABASE_URL / dataDir. */
  db?: Db;
  /** Run the collection worker in this process (default: when root). */
  collect?: boolean;
  slots?: string;
  captureDir?: string;
}

/** Starts the web app (and, in the same process, the collection worker once configured). */
export async function startServer(options: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const port = Number(options.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new QoelabError("BAD_PORT", `serve: --port must be 1–65535, got "${options.port}"`);
  const db = options.db ?? (await openDb({ dataDir: options.dataDir }));
  const collect = options.collect ?? process.getuid?.() === 0;
  const runtime = collect
    ? await createCollectionRuntime(db, {
        maxSlots: Number(options.slots ?? 1),
        captureDir: options.captureDir ?? join(options.dataDir ?? "./qoelab-data", "captures"),
        log: (m) => process.stderr.write(`${m}\n`),
      })
    : undefined;
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

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the web app (trainings, sessions, export) and the collection worker")
    .option("--host <host>", "address to bind", "127.0.0.1")
    .option("--port <port>", "port", "8000")
    .option("--data-dir <dir>", "PGlite data directory when DATABASE_URL is unset", "./qoelab-data")
    .option("--no-collect", "do not run the collection worker in this process")
    .option("--slots <n>", "lab slots the collection worker runs in parallel", "1")
    .option("--capture-dir <dir>", "where session captures are written (default DATA_DIR/captures)")
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
