export * from "./emodel.ts";
export * from "./pesq/index.ts";
