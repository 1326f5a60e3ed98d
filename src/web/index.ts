export * from "./app.ts";
export * from "./html.ts";
export * from "./svg-chart.ts";
