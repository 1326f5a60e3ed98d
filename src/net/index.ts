export * from "./answers.ts";
export * from "./rawsock-addon.ts";
export * from "./send.ts";
