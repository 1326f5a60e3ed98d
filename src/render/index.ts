export * from "./classify-view.ts";
export * from "./experiment-report.ts";
export * from "./ladder.ts";
export * from "./model-report.ts";
export * from "./svg-charts.ts";
