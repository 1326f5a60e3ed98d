import type { Db } from "../db.ts";
import { openDb } from "../open-db.ts";

let counter = 0;

/** The databases a shared suite runs on: PGlite always, the server when QOELAB_TEST_DATABASE_URL is set. */
export function testDatabaseKinds(): Array<"pglite" | "postgres"> {
  return process.env.QOELAB_TEST_DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];
}

/** A fresh, isolated database of the given kind: in-memory PGlite, or a private schema on the server. */
export async function openTestDb(kind: "pglite" | "postgres"): Promise<Db & { drop(): Promise<void> }> {
  if (kind === "pglite") {
    const db = await openDb({ url: "", dataDir: "memory://" });
    return Object.assign(db, { drop: () => db.close() });
  }
  const url = process.env.QOELAB_TEST_DATABASE_URL;
  if (!url) throw new Error("QOELAB_TEST_DATABASE_URL is not set");
  const schema = `qlt_${process.pid}_${Date.now() % 1_000_000}_${counter++}`;
  const db = await openDb({ url, schema });
  return Object.assign(db, {
    async drop() {
      await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await db.close();
    },
  });
}
