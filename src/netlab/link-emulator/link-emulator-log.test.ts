import assert from "node:assert/strict";
import { test } from "node:test";
import { summarizeDirection } from "./link-emulator-log.ts";
import { FATE_DELIVERED, LOG_STRIDE } from "./link-emulator-pipeline.ts";

/** Log rows [seq, arrival, scheduled, departure, size, code] of delivered packets. */
function log(packets: Array<[arrivalUs: number, departureUs: number, bytes: number]>): Float64Array {
  const records = new Float64Array(packets.length * LOG_STRIDE);
  packets.forEach(([arrival, departure, bytes], i) => {
    records.set([i, arrival, departure, departure, bytes, FATE_DELIVERED], i * LOG_STRIDE);
  });
  return records;
}

test("a window's idle capacity is what the link offered while it had nothing to send", () => {
  // A trace of one 1500-byte opportunity per ms (12 Mbit/s); two packets in the first second, each
  // served at the first opportunity at or after its arrival, then one in the next second.
  const trace = Array.from({ length: 1000 }, (_, i) => String(i + 1)).join("\n");
  const records = log([
    [0, 1000, 1500],
    [500_000, 500_000, 1500],
    [1_200_000, 1_200_000, 1500],
  ]);
  const summary = summarizeDirection("down", { trace: { text: trace } }, records, 3, 1000);
  const [first] = summary.achieved.rate.windows;
  assert.ok(first);
  // 999 opportunities in [0, 1 s): 2 carried packets, the 997 others found the link idle.
  assert.equal(first.askedMbps, 11.988);
  assert.equal(first.mbps, 0.024);
  assert.equal(first.idleMbps, 11.964);
});

test("a backlogged link has no idle capacity; jitter leaves it unknown", () => {
  // 8 Mbit/s: a 1000-byte packet takes 1 ms; a packet arrives every ms from 0 on, through 2 s.
  const packets: Array<[number, number, number]> = [];
  for (let i = 0; i < 2000; i++) packets.push([i * 1000, (i + 1) * 1000, 1000]);
  const busy = summarizeDirection("down", { rate: 8e6 }, log(packets), packets.length, 1000);
  assert.deepEqual(
    busy.achieved.rate.windows.map((w) => [w.mbps, w.idleMbps]),
    // The first window lost its first ms to the first packet's own transmission, not to idleness.
    [
      [7.992, 0],
      [8, 0],
    ],
  );
  const jittered = summarizeDirection("down", { rate: 8e6, delay: 0.01, jitter: 0.005 }, log(packets), 2000, 1000);
  assert.equal(jittered.achieved.rate.windows[0]?.idleMbps, undefined);
});
