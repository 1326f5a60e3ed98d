export * from "./jitter-buffer.ts";
export * from "./ladder.ts";
export * from "./rtp-extract.ts";
export * from "./rtp-streams.ts";
export * from "./sdp-media.ts";
export * from "./sip-calls.ts";
