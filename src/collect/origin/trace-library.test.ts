import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseTrace } from "../../netlab/index.ts";
import { planSessionConditions, traceOffsetSeconds } from "../training/session-plan.ts";
import { validateTrainingRequest } from "../training/training-request.ts";
import {
  builtInTracesDir,
  listTraceEntries,
  loadTraceByName,
  rotateTrace,
  traceDirs,
  traceStats,
} from "./trace-library.ts";

test("the shipped traces: at least 8, statistics as their SOURCES.md rows give them", () => {
  const entries = listTraceEntries([builtInTracesDir()]);
  assert.ok(entries.length >= 8, `${entries.length} traces`);
  // SOURCES.md: hsdpa-bus-2011-01-29_1827 lasts 300 s, mean 1.46 Mbit/s, 56 s below 1 Mbit/s.
  const bus = loadTraceByName("hsdpa-bus-2011-01-29_1827", [builtInTracesDir()]);
  assert.equal(bus.stats.durationS, 300);
  assert.equal(Math.round(bus.stats.meanMbps * 100) / 100, 1.46);
  assert.equal(bus.stats.secondsBelow1Mbps, 56);
  assert.equal(bus.stats.perSecondMbps.length, 300);
});

test("a trace rotated to an offset keeps its period and its opportunities", () => {
  const text = "0\n0\n10\n500\n999\n1000\n";
  const rotated = rotateTrace(text, 500);
  assert.equal(rotated, "0\n499\n500\n500\n500\n510\n1000\n");
  const a = parseTrace(text);
  const b = parseTrace(rotated);
  assert.equal(b.periodUs, a.periodUs);
  // One opportunity more per period at most (the period's own line).
  assert.ok(b.times.length - a.times.length <= 1);
  const stats = traceStats(rotated);
  assert.equal(stats.durationS, 1);
});

test("a user's folder of traces is listed after the shipped ones; an unknown name is refused", () => {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-traces-${process.pid}-`));
  try {
    writeFileSync(join(dir, "my-flat-1.5"), `${Array.from({ length: 125 }, (_, i) => (i + 1) * 8).join("\n")}\n`);
    const entries = listTraceEntries(traceDirs([dir]));
    const mine = entries.find((e) => e.name === "my-flat-1.5");
    assert.equal(mine?.origin, dir);
    assert.equal(loadTraceByName("my-flat-1.5", [dir]).stats.meanMbps, 1.5);
    const previous = process.env.QOELAB_TRACES_DIR;
    process.env.QOELAB_TRACES_DIR = dir;
    try {
      const ok = validateTrainingRequest({ number_of_videos: "2", session_duration: "10", traces: "my-flat-1.5" });
      assert.ok(ok.ok && ok.value.traces[0] === "my-flat-1.5" && ok.value.bwLimitations.length === 0);
    } finally {
      if (previous === undefined) delete process.env.QOELAB_TRACES_DIR;
      else process.env.QOELAB_TRACES_DIR = previous;
    }
    const bad = validateTrainingRequest({ number_of_videos: "2", session_duration: "10", traces: "nope" });
    assert.ok(!bad.ok && /no bandwidth trace named "nope"/.test(bad.errors.traces ?? ""));
    const person = validateTrainingRequest({
      number_of_videos: "2",
      session_duration: "10",
      traces: "hsdpa-bus-2011-01-29_1827",
      driver: "person",
    });
    assert.ok(!person.ok && person.errors.traces);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("limits and traces are equally represented; offsets are seeded", () => {
  const plan = planSessionConditions(10, [1, 3], ["a", "b", "c"], 4);
  const count = (key: string) =>
    plan.filter((c) => (c.kind === "limit" ? `limit ${c.mbps}` : `trace ${c.name}`) === key).length;
  assert.deepEqual(["limit 1", "limit 3", "trace a", "trace b", "trace c"].map(count), [2, 2, 2, 2, 2]);
  assert.deepEqual(plan, planSessionConditions(10, [1, 3], ["a", "b", "c"], 4));
  const offsets = Array.from({ length: 20 }, (_, i) => traceOffsetSeconds(4, i, 300, 40));
  assert.ok(offsets.every((o) => o >= 0 && o < 260));
  assert.ok(new Set(offsets).size > 10);
  assert.equal(traceOffsetSeconds(4, 3, 300, 40), offsets[3]);
});

test("a training with traces and limits stores each session's link: trace, offset and the trace's mean", async () => {
  const { openDb } = await import("../../db/index.ts");
  const { createTraining, listSessions } = await import("../training/training-store.ts");
  const db = await openDb({ url: "", dataDir: "memory://" });
  try {
    const request = validateTrainingRequest({
      number_of_videos: "6",
      session_duration: "20",
      warmup: "5",
      bw_limitations: "2",
      traces: "hsdpa-bus-2011-01-29_1827, fcc-yahoo-797172",
      seed: "3",
    });
    assert.ok(request.ok);
    const training = await createTraining(db, request.value);
    assert.deepEqual(training.traces, ["hsdpa-bus-2011-01-29_1827", "fcc-yahoo-797172"]);
    const sessions = await listSessions(db, training.id);
    assert.deepEqual(sessions.map((s) => s.trace ?? `limit ${s.bw_limitation}`).sort(), [
      "fcc-yahoo-797172",
      "fcc-yahoo-797172",
      "hsdpa-bus-2011-01-29_1827",
      "hsdpa-bus-2011-01-29_1827",
      "limit 2",
      "limit 2",
    ]);
    for (const s of sessions.filter((x) => x.trace)) {
      const { stats } = loadTraceByName(s.trace!);
      assert.ok(s.trace_offset_s !== null && s.trace_offset_s >= 0 && s.trace_offset_s + 35 <= stats.durationS);
      // The session's bandwidth is the trace's mean over its warm-up and recording.
      const bins = stats.perSecondMbps.slice(s.trace_offset_s!, s.trace_offset_s! + 25);
      assert.equal(s.bw_limitation, Math.round((bins.reduce((a, b) => a + b, 0) / 25) * 1000) / 1000);
    }
  } finally {
    await db.close();
  }
});
