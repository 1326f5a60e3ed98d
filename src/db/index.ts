export * from "./db.ts";
export * from "./migrate.ts";
export * from "./open-db.ts";
export * from "./sql-target.ts";
export * from "./wire-server.ts";
