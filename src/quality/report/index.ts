export * from "./experiment-folder.ts";
export * from "./experiment-report.ts";
export * from "./svg-charts.ts";
export * from "./synthetic-experiment.ts";
