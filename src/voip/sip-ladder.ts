import type { SipCall, SipEvent } from "./sip-calls.ts";

/**
 * What a ladder (flow) diagram of SIP calls shows: the endpoints (address:port, in order of first
 * appearance: one column each) and every message of the calls in time order (one row each, from
 * sender to receiver). render/ladder.ts draws it as text or SVG.
 */
export interface SipLadder {
  endpoints: string[];
  events: SipEvent[];
}

export function sipLadder(calls: readonly SipCall[]): SipLadder {
  const events = calls.flatMap((c) => c.events).sort((a, b) => a.time - b.time || a.frame - b.frame);
  const endpoints: string[] = [];
  for (const e of events) {
    if (!endpoints.includes(e.src)) endpoints.push(e.src);
    if (!endpoints.includes(e.dst)) endpoints.push(e.dst);
  }
  return { endpoints, events };
}
