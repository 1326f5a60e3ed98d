import assert from "node:assert/strict";
import { test } from "node:test";
import { computeQoeLabels, computeWindowLabels } from "./qoe-labels.ts";

const steady = (height: number, kbps: number, seconds: number) =>
  Array.from({ length: seconds }, (_, i) => ({ t: i + 1, height, bitrate: kbps * 1000 }));

test("a smooth 1080p session is good, hd, without stalls", () => {
  const labels = computeQoeLabels({ startupTime: 1.2, duration: 20, stalls: [], samples: steady(1080, 4500, 20) });
  assert.equal(labels.stall_count, 0);
  assert.equal(labels.qoe_class, "good");
  assert.equal(labels.resolution_class, "hd");
  assert.equal(labels.stalled, false);
  // q̄ = ln(4500/300) = 2.70805; startup penalty (μ/2)·1.2/20 = 0.081241
  assert.equal(labels.qoe_score, Math.round((Math.log(15) - (Math.log(15) / 2) * (1.2 / 20)) * 1e4) / 1e4);
});

test("stalls make a session poor and are counted with their time and ratio", () => {
  const labels = computeQoeLabels({
    startupTime: 3,
    duration: 20,
    stalls: [
      { start: 2, duration: 1.5 },
      { start: 10, duration: 0.5 },
    ],
    samples: steady(240, 300, 20),
  });
  assert.equal(labels.stall_count, 2);
  assert.equal(labels.stall_time_s, 2);
  assert.equal(labels.stall_ratio, 0.1);
  assert.equal(labels.qoe_class, "poor");
  assert.equal(labels.stall_class, "severe");
  assert.equal(labels.resolution_class, "low");
});

test("time-weighted height follows the time spent at each level; switches are counted", () => {
  const samples = [...steady(480, 800, 10), ...steady(720, 2000, 10).map((s) => ({ ...s, t: s.t + 10 }))];
  const labels = computeQoeLabels({
    duration: 20,
    samples,
    levelSwitches: [
      { t: null, bitrate: 800_000 },
      { t: 10, bitrate: 2_000_000 },
    ],
  });
  assert.equal(labels.time_weighted_height, 600);
  assert.equal(labels.switch_count, 1, "the switch during warm-up (t = null) is not counted");
  assert.equal(labels.qoe_class, "fair");
});

test("per-window labels: stalls overlapping each window, the window's time-weighted height, the last partial window marked", () => {
  const samples = Array.from({ length: 25 }, (_, i) => ({ t: i + 1, height: i < 12 ? 360 : 720 }));
  const windows = computeWindowLabels({ duration: 25, samples, stalls: [{ start: 9.5, duration: 1 }] }, 10);
  assert.deepEqual(
    windows.map((w) => [w.index, w.start_s, w.end_s, w.partial, w.stalled, w.stall_time_s, w.resolution_class]),
    [
      [0, 0, 10, false, true, 0.5, "low"],
      [1, 10, 20, false, true, 0.5, "sd"],
      [2, 20, 25, true, false, 0, "hd"],
    ],
  );
  // Window 1: 2 s at 360 and 8 s at 720.
  assert.equal(windows[1]?.time_weighted_height, 648);
});
