import { connect } from "node:net";
import type { Db } from "./db.ts";
import { openDb } from "./open-db.ts";

export interface SqlTarget {
  db: Db;
  /** A postgres:// URL a client such as psql can use, when there is one. */
  url?: string;
  /** What was reached, for messages: "server", "qoelab serve's SQL port", "the data directory". */
  describe: string;
}

/** Whether something accepts TCP connections on 127.0.0.1:port (within 500 ms). */
export function portAnswers(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/**
 * The database a SQL command works on: $DATABASE_URL's server; else a running `qoelab serve`'s SQL
 * port (PGlite allows one process per data directory, so its data is reached through it); else the
 * embedded database in `dataDir`, opened here.
 */
export async function openSqlTarget(options: { dataDir: string; dbPort: number }): Promise<SqlTarget> {
  const server = process.env.DATABASE_URL;
  if (server) return { db: await openDb({ url: server, migrate: false }), url: server, describe: "server" };
  if (options.dbPort > 0 && (await portAnswers(options.dbPort))) {
    const url = `postgres://postgres@127.0.0.1:${options.dbPort}/postgres`;
    return { db: await openDb({ url, migrate: false }), url, describe: `qoelab serve's SQL port ${options.dbPort}` };
  }
  return { db: await openDb({ url: "", dataDir: options.dataDir }), describe: `the data directory ${options.dataDir}` };
}
