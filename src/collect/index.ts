export * from "./dataset-export.ts";
export * from "./field-errors.ts";
export * from "./session-controller.ts";
export * from "./session-plan.ts";
export * from "./training-request.ts";
export * from "./training-store.ts";
