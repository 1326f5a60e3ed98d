import { QoelabError } from "../errors.ts";
import type { Db } from "./db.ts";

export interface WireServer {
  readonly host: string;
  readonly port: number;
  /** The psql command that connects to it. */
  readonly psql: string;
  /** A postgres:// URL for other clients (node-postgres, pandas, DBeaver…). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves the embedded database over the PostgreSQL wire protocol (@electric-sql/pglite-socket), so
 * psql and any PostgreSQL client can read what qoelab stores while it runs. PGlite is a single
 * session: clients share it, one message at a time, taking turns with qoelab's own statements (a
 * client's open transaction holds qoelab's writes until it ends, as a lock would on a server).
 */
export async function serveDbOverWire(db: Db, options: { host?: string; port: number }): Promise<WireServer> {
  const engine = db.embedded;
  if (!engine)
    throw new QoelabError("DB_NOT_EMBEDDED", `database: ${db.location} is a server already; connect to it directly`);
  const host = options.host ?? "127.0.0.1";
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const pg = engine.pglite;
  // The socket server's view of the engine: its turns go through our queue, and "in transaction"
  // means a client's transaction only (qoelab's own never stays open between our queue's items).
  const facade = {
    get waitReady() {
      return pg.waitReady;
    },
    isInTransaction: () => engine.clientInTransaction(),
    runExclusive: <T>(work: () => Promise<T>) => engine.exclusive(() => pg.runExclusive(work)),
    execProtocolRawStream: pg.execProtocolRawStream.bind(pg),
    exec: (sql: string) => engine.exclusive(() => pg.exec(sql)),
  } as unknown as typeof pg;
  const server = new PGLiteSocketServer({ db: facade, host, port: options.port, maxConnections: 16 });
  try {
    await server.start();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new QoelabError(
      code === "EADDRINUSE" ? "DB_PORT_IN_USE" : "DB_SERVE_FAILED",
      `database: cannot serve the embedded database on ${host}:${options.port}: ${(error as Error).message}` +
        (code === "EADDRINUSE" ? " (pick another with --db-port, or --db-port 0 to turn it off)" : ""),
      { host, port: options.port },
    );
  }
  const port = Number(server.getServerConn().split(":").pop());
  return {
    host,
    port,
    psql: `psql -h ${host} -p ${port} -U postgres postgres`,
    url: `postgres://postgres@${host}:${port}/postgres`,
    close: () => server.stop(),
  };
}
