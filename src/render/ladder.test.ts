import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SipLadder } from "../voip/index.ts";
import { ladderSvg, ladderText } from "./ladder.ts";

const caller = "10.0.0.1:5060";
const callee = "10.0.1.2:5060";
const ladder: SipLadder = {
  endpoints: [caller, callee],
  events: [
    { frame: 1, time: 0, src: caller, dst: callee, label: "INVITE (SDP)", request: true },
    { frame: 2, time: 0.01, src: callee, dst: caller, label: "180 Ringing", request: false },
    { frame: 3, time: 0.5, src: callee, dst: caller, label: "200 OK (SDP)", request: false },
    { frame: 4, time: 0.51, src: caller, dst: callee, label: "ACK", request: true },
    { frame: 5, time: 6, src: caller, dst: callee, label: "BYE <x&y>", request: true },
  ],
};

describe("SIP ladder drawings", () => {
  it("text: one column per endpoint, arrows pointing from sender to receiver, times on the left", () => {
    const lines = ladderText(ladder).trimEnd().split("\n");
    assert.equal(lines.length, 1 + ladder.events.length);
    assert.ok(lines[0]!.includes(caller) && lines[0]!.includes(callee));
    assert.match(lines[1]!, /^ +0\.000000 +\|-*INVITE \(SDP\)-*>\|$/);
    assert.match(lines[3]!, /\|<-*200 OK \(SDP\)-*\|/);
  });

  it("SVG: standalone, one arrow per message, labels escaped", () => {
    const svg = ladderSvg(ladder);
    assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal((svg.match(/<line [^>]*marker-end/g) ?? []).length, ladder.events.length);
    assert.match(svg, />BYE &lt;x&amp;y&gt;</);
    assert.doesNotMatch(svg, /<script/);
  });
});
