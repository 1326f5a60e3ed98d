/** What end-to-end tests, scripts and benchmarks use of the entry point (the commands load lazily from main.ts). */
export { type CliCollectionRuntimeOptions, createCollectionRuntime } from "./collection-runtime.ts";
