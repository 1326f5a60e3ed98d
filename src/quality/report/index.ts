export * from "./experiment-folder.ts";
export * from "./experiment-report-data.ts";
export * from "./synthetic-experiment.ts";
