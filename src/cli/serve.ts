import { join } from "node:path";
import type { Command } from "commander";
import { type Db, openDb, serveDbOverWire, type WireServer } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { createApp } from "../web/index.ts";
import { createCollectionRuntime, SHAPERD_SOCKET_OPTION } from "./collection-runtime.ts";
import { BIND_HOST_OPTION, DATA_DIR_OPTION, listenPortOption, UPLINK_ALLOW_OPTION } from "./common-options.ts";
import { listenHttp } from "./listen-http.ts";
import { parsePort, splitList } from "./option-parsers.ts";

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
  /** Port serving the embedded database over the PostgreSQL protocol on 127.0.0.1 ("0": none). */
  dbPort?: string;
  /** Lab slot names' prefix (default "qc"): two workers on one machine need different ones. */
  labPrefix?: string;
}

export interface RunningServer {
  url: string;
  /** The embedded database's SQL port, when it is served. */
  sql?: WireServer;
  close(): Promise<void>;
}

/** Starts the web app (and, in the same process, the collection worker once configured). */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const port = parsePort(options.port, "--port", "serve");
  const dbPort = parsePort(options.dbPort ?? "0", "--db-port", "serve", 0);
  const db = options.db ?? (await openDb({ dataDir: options.dataDir }));
  const log = options.log ?? ((m: string) => process.stderr.write(`${m}\n`));
  // The embedded database for SQL clients; a port in use costs the SQL access, not the web app.
  let sql: WireServer | undefined;
  if (db.embedded && dbPort !== 0) {
    try {
      sql = await serveDbOverWire(db, { port: dbPort });
    } catch (error) {
      if (!(error instanceof QoelabError)) throw error;
      log(`qoelab: ${error.message}`);
    }
  }
  const runtime = options.collect === false ? undefined : await collectionOrNone(db, options, log);
  const app = runtime?.app ?? createApp({ db });
  runtime?.orchestrator.startWorker();
  const server = await listenHttp(app, options.host, port, "serve");
  const url = `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`;
  return {
    url,
    ...(sql ? { sql } : {}),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open pages (keep-alive, live updates) would hold the listener open forever.
      (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      await closed;
      await runtime?.close();
      await sql?.close();
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
      ...(options.labPrefix ? { labPrefix: options.labPrefix } : {}),
    });
  } catch (error) {
    if (!(error instanceof QoelabError) || error.code !== "COLLECT_NEEDS_SHAPERD") throw error;
    log(`qoelab: running without the collection worker. ${error.message}`);
    return undefined;
  }
}

export function register(program: Command): void {
  program
    .command("serve")
    .description("run the web app (trainings, sessions, export) and the collection worker")
    .option(...BIND_HOST_OPTION)
    .option(...listenPortOption("8000"))
    .option(...DATA_DIR_OPTION)
    .option("--no-collect", "do not run the collection worker in this process")
    .option("--slots <n>", "lab slots the collection worker runs in parallel", "1")
    .option("--capture-dir <dir>", "where session captures are written as root (default DATA_DIR/captures)")
    .option(...SHAPERD_SOCKET_OPTION)
    .option(...UPLINK_ALLOW_OPTION)
    .option("--db-port <port>", "serve the embedded database to SQL clients (psql) on 127.0.0.1:PORT; 0: not", "5433")
    .option("--lab-prefix <prefix>", "lab slot names' prefix, for a second worker on one machine", "qc")
    .action(async (options: ServeOptions) => {
      if (!process.env.DATABASE_URL)
        process.stdout.write(
          `qoelab: opening the embedded database in ${options.dataDir} (the first start initialises it)\n`,
        );
      const server = await startServer(options);
      process.stdout.write(
        `qoelab: web app on ${server.url} (database: ${process.env.DATABASE_URL ? "server" : "embedded PGlite"})\n`,
      );
      if (server.sql)
        process.stdout.write(`qoelab: SQL on ${server.sql.host}:${server.sql.port}: ${server.sql.psql}\n`);
      // The first signal stops cleanly (sessions end, lab namespaces removed); a second one exits now.
      let stopping = false;
      const stop = (signal: NodeJS.Signals) => {
        if (stopping) process.exit(130);
        stopping = true;
        process.stdout.write(`qoelab: ${signal}: stopping (the worker's labs are removed; again to exit at once)\n`);
        server.close().then(
          () => process.exit(0),
          (error: Error) => {
            process.stderr.write(`qoelab: stopping: ${error.message}\n`);
            process.exit(1);
          },
        );
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    });
}
