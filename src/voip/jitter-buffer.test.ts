import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { QoelabError } from "../errors.ts";
import { createJitterBuffer, parseJitterBuffer } from "./jitter-buffer.ts";

/** 20 ms packets; `extra[i]` ms of network delay on top of a 30 ms base. */
function run(spec: string, extra: number[], markers: number[] = []): { late: number[]; delay: number } {
  const jb = createJitterBuffer(parseJitterBuffer(spec));
  const late: number[] = [];
  extra.forEach((e, i) => {
    if (!jb.offer(i * 20 + 30 + e, i * 20, markers.includes(i))) late.push(i);
  });
  return { late, delay: jb.meanBufferDelayMs() };
}

describe("jitter buffers", () => {
  it("fixed: discards exactly the packets delayed more than the buffer beyond the first", () => {
    const extra = [0, 10, 59, 60, 61, 100, 5, 0];
    assert.deepEqual(run("fixed:60ms", extra).late, [4, 5]);
    // Buffer delay: every played packet waits until arrival₀ + 60 ms + media time → 60 ms beyond the fastest.
    assert.equal(run("fixed:60ms", extra).delay, 60);
  });

  it("none: plays everything", () => {
    assert.deepEqual(run("none", [0, 500, 0]).late, []);
  });

  it("adaptive: grows after a late packet, so a repeated delay is no longer late", () => {
    const extra = [0, 0, 0, 45, 0, 45, 45, 0];
    const { late } = run("adaptive:20ms", extra);
    assert.deepEqual(late, [3]);
  });

  it("parses specs and refuses bad ones with a coded error", () => {
    assert.deepEqual(parseJitterBuffer("fixed:60ms"), { kind: "fixed", delayMs: 60 });
    assert.deepEqual(parseJitterBuffer("fixed:0.1s"), { kind: "fixed", delayMs: 100 });
    assert.equal(parseJitterBuffer("adaptive").kind, "adaptive");
    for (const bad of ["fixed", "fixed:-3ms", "elastic"]) {
      assert.throws(
        () => parseJitterBuffer(bad),
        (e: unknown) => e instanceof QoelabError && e.code === "VOIP_BAD_JITTER_BUFFER",
      );
    }
  });
});
