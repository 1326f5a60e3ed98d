export * from "./app.ts";
export * from "./html.ts";
export * from "./listening-routes.ts";
