import { type Db, openDb } from "../db/index.ts";

/** Runs `body` with the database (DATABASE_URL, else PGlite in `dataDir`), closed whatever happens. */
export async function withDb<T>(dataDir: string | undefined, body: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDb({ dataDir });
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}
