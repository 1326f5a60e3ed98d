export * from "./g711.ts";
export * from "./g711-plc.ts";
export * from "./levels.ts";
export * from "./pcm.ts";
export * from "./resample.ts";
export * from "./wav.ts";
