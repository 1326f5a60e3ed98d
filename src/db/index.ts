export * from "./db.ts";
export * from "./migrate.ts";
export * from "./open-db.ts";
export * from "./test-db.ts";
