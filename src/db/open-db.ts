import { mkdirSync } from "node:fs";
import { QoelabError } from "../errors.ts";
import type { Db, Queryable, SqlParam } from "./db.ts";
import { migrate } from "./migrate.ts";

export interface OpenDbOptions {
  /** A postgres:// URL; when absent, PGlite in `dataDir`. Defaults to $DATABASE_URL. */
  url?: string | undefined;
  /** PGlite data directory (default ./qoelab-data); "memory://" keeps it in memory. */
  dataDir?: string | undefined;
  /** Schema to work in (created when missing): lets tests share one server. */
  schema?: string | undefined;
  /** Apply migrations (default true). */
  migrate?: boolean;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]*)@/, "//$1:***@");
}

/** Opens the database: $DATABASE_URL (or `url`) → that server; otherwise embedded PGlite. */
export async function openDb(options: OpenDbOptions = {}): Promise<Db> {
  const url = options.url ?? process.env.DATABASE_URL;
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw new QoelabError("DB_BAD_SCHEMA", `database: invalid schema name "${options.schema}"`);
  }
  const db = url
    ? await openServer(url, options.schema)
    : await openEmbedded(options.dataDir ?? "./qoelab-data", options.schema);
  if (options.migrate !== false) {
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

async function openEmbedded(dataDir: string, schema: string | undefined): Promise<Db> {
  const { PGlite } = await import("@electric-sql/pglite");
  if (!dataDir.startsWith("memory://")) mkdirSync(dataDir, { recursive: true });
  let pg: InstanceType<typeof PGlite>;
  try {
    pg = await PGlite.create(dataDir);
  } catch (error) {
    throw new QoelabError(
      "DB_OPEN_FAILED",
      `database: cannot open PGlite data directory ${dataDir}: ${String(error)}`,
      {
        dataDir,
      },
    );
  }
  if (schema) await pg.exec(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
  // PGlite runs one statement at a time; queue so a transaction is never interleaved.
  let queue: Promise<unknown> = Promise.resolve();
  const enqueue = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  // Our own work never leaves a transaction open between queue items, so a transaction open when an
  // item starts is a SQL client's (the wire server's): wait for it to end rather than join it.
  let ownTransaction = false;
  const serialize = <T>(work: () => Promise<T>): Promise<T> =>
    enqueue(async () => {
      while (pg.isInTransaction()) await new Promise((resolve) => setTimeout(resolve, 5));
      return work();
    });
  const direct: Queryable = {
    query: async <Row>(sql: string, params: readonly SqlParam[] = []) =>
      (await runStatement(pg, sql, params)).rows as Row[],
  };
  return {
    kind: "pglite",
    location: dataDir,
    query: (sql, params) => serialize(() => direct.query(sql, params)),
    queryTable: (sql) => serialize(async () => asTable(await runStatement(pg, sql, []))),
    transaction: (work) =>
      serialize(async () => {
        ownTransaction = true;
        try {
          await pg.exec("BEGIN");
          try {
            const result = await work(direct);
            await pg.exec("COMMIT");
            return result;
          } catch (error) {
            await pg.exec("ROLLBACK");
            throw error;
          }
        } finally {
          ownTransaction = false;
        }
      }),
    close: () => serialize(() => pg.close()),
    embedded: {
      pglite: pg,
      // A client's message inside its own open transaction runs at once (our queue waits for that
      // transaction to end); any other waits its turn between our statements and transactions.
      exclusive: (work) => (pg.isInTransaction() && !ownTransaction ? work() : enqueue(work)),
      clientInTransaction: () => pg.isInTransaction() && !ownTransaction,
    },
  };
}

async function openServer(url: string, schema: string | undefined): Promise<Db> {
  const pgModule = await import("pg");
  const Pool = pgModule.default.Pool;
  const pool = new Pool({
    connectionString: url,
    max: 8,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on("error", () => undefined); // idle client errors surface on the next query instead
  try {
    const client = await pool.connect();
    try {
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw new QoelabError("DB_CONNECT_FAILED", `database: cannot connect to ${redact(url)}: ${String(error)}`, {
      url: redact(url),
    });
  }
  const run = async <Row>(target: StatementTarget, sql: string, params: readonly SqlParam[]): Promise<Row[]> =>
    (await runStatement(target, sql, params)).rows as Row[];
  return {
    kind: "postgres",
    location: redact(url),
    query: (sql, params = []) => run(pool, sql, params),
    queryTable: async (sql) => asTable(await runStatement(pool, sql, [])),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await work({ query: (sql, params = []) => run(client, sql, params) });
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

/** What both drivers (PGlite, node-postgres) answer a statement with: its rows and its columns. */
interface StatementTarget {
  query(sql: string, params: unknown[]): Promise<{ rows: unknown[]; fields: readonly { name: string }[] }>;
}

/** One statement on either driver, a SQL error turned into a coded one. */
async function runStatement(target: StatementTarget, sql: string, params: readonly SqlParam[]) {
  try {
    return await target.query(sql, params as unknown[]);
  } catch (error) {
    throw wrapSqlError(error, sql);
  }
}

const asTable = (result: Awaited<ReturnType<StatementTarget["query"]>>) => ({
  columns: result.fields.map((f) => f.name),
  rows: result.rows as Record<string, unknown>[],
});

function wrapSqlError(error: unknown, sql: string): QoelabError {
  if (error instanceof QoelabError) return error;
  const code = (error as { code?: string }).code;
  const statement = sql.trim().split("\n")[0]?.slice(0, 80);
  // SQLSTATE class 22 (data exception: a NUL byte in text, a number out of range, bad input
  // syntax): the value came from the caller, so it is bad input, and the statement stays out.
  if (typeof code === "string" && code.startsWith("22"))
    return new QoelabError(
      "DB_BAD_VALUE",
      `database: a value was refused: ${(error as Error).message ?? String(error)} (SQLSTATE ${code})`,
      { sqlState: code },
      { cause: error, kind: "bad_input" },
    );
  return new QoelabError(
    "DB_QUERY_FAILED",
    `database: ${(error as Error).message ?? String(error)} (in: ${statement})`,
    { sqlState: code },
    { cause: error },
  );
}
