export * from "./experiment-report.ts";
export * from "./svg-charts.ts";
