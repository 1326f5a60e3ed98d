export * from "./answers.ts";
export { packetTime } from "./packet-time.ts";
export * from "./pcap-io.ts";
export * from "./rawsock-addon.ts";
export * from "./send.ts";
