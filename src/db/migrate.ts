import { readdirSync, readFileSync } from "node:fs";
import { QoelabError } from "../errors.ts";
import type { Db } from "./db.ts";

const migrationsDir = new URL("./migrations/", import.meta.url);

export interface Migration {
  id: string;
  sql: string;
}

/** The plain SQL files in migrations/, in name order. */
export function listMigrations(): Migration[] {
  return readdirSync(migrationsDir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => ({ id: name.replace(/\.sql$/, ""), sql: readFileSync(new URL(name, migrationsDir), "utf8") }));
}

/**
 * Applies the migrations not applied yet, each in its own transaction. An advisory lock keeps
 * two workers starting at once on one server from applying the same file twice.
 */
export async function migrate(db: Db): Promise<string[]> {
  const applied: string[] = [];
  await db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(7706001)");
    await tx.query(
      "CREATE TABLE IF NOT EXISTS schema_migration (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
    );
    const done = new Set((await tx.query<{ id: string }>("SELECT id FROM schema_migration")).map((r) => r.id));
    for (const migration of listMigrations()) {
      if (done.has(migration.id)) continue;
      try {
        for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      } catch (error) {
        throw new QoelabError(
          "DB_MIGRATION_FAILED",
          `database: migration ${migration.id} failed: ${(error as Error).message}`,
          { migration: migration.id },
          { cause: error },
        );
      }
      await tx.query("INSERT INTO schema_migration (id) VALUES ($1)", [migration.id]);
      applied.push(migration.id);
    }
  });
  return applied;
}

/** Splits a migration file on semicolons that end a line (our files hold no functions or quoted `;`). */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, "").trim())
    .filter((s) => s.length > 0);
}
