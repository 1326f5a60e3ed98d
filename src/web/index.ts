export * from "./app.ts";
export * from "./listening-routes.ts";
