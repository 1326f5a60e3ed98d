export * from "./answers.ts";
export * from "./pcap-io.ts";
export * from "./rawsock-addon.ts";
export * from "./send.ts";
