export * from "./address-text.ts";
export * from "./csv.ts";
export * from "./markup-escape.ts";
export * from "./xoshiro128.ts";
