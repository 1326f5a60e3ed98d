import type { PGlite } from "@electric-sql/pglite";

/** The one database interface qoelab uses, over PGlite (embedded) or node-postgres (a server). */
export type SqlParam = string | number | boolean | null | Date | readonly unknown[] | Record<string, unknown>;

export interface Queryable {
  /** Runs one statement with `$1…` parameters and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<Row[]>;
}

export interface Db extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Where the data lives: a directory for PGlite, a redacted URL for a server. */
  readonly location: string;
  /** Runs one statement and returns its column names beside its rows (the names even with no row). */
  queryTable(sql: string): Promise<{ columns: string[]; rows: Record<string, unknown>[] }>;
  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** The embedded database's engine, for serving it to SQL clients (PGlite only). */
  readonly embedded?: EmbeddedEngine;
}

/** What the wire server needs of an embedded database: the engine and a turn in its queue. */
export interface EmbeddedEngine {
  readonly pglite: PGlite;
  /** Runs `work` between qoelab's own statements and transactions (never inside one of them). */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
  /** Whether a SQL client (not qoelab itself) holds a transaction open. */
  clientInTransaction(): boolean;
}
