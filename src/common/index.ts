export * from "./address-text.ts";
export * from "./browser-bundle.ts";
export * from "./csv.ts";
export * from "./duration.ts";
export * from "./markup-escape.ts";
export * from "./rtp-jitter.ts";
export * from "./xoshiro128.ts";
