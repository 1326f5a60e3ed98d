import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { getTraining, listSessions, loadTraceByName } from "../collect/index.ts";
import { assertEverySessionStored, collectTrainingForSuite, exportedCells } from "./test-support/collect-training.ts";

// A trace-driven training end to end: two sessions, each on one real bandwidth trace (the link
// emulator replays it on the router's downstream from a seeded offset), played by chromium from the
// built-in origin's "noise" content (every rendition at its cap, so the player always wants more
// than a trace below the top rendition offers). All real: namespaces, emulator, tcpdump, PGlite.
const TRACES = ["hsdpa-bus-2011-01-29_1827", "fcc-yahoo-797172"];

interface LinkData {
  trace: string;
  offset_s: number;
  record_start_s: number | null;
  delivered_mbps: number[];
  offered_mbps: number[];
  idle_mbps?: number[];
}

describe("a trace-driven training", { timeout: 900_000 }, () => {
  const run = collectTrainingForSuite(
    {
      name: "traces",
      number_of_videos: "2",
      session_duration: "14",
      traces: TRACES.join(", "),
      warmup: "8",
      seed: "11",
    },
    "qt",
    { channels: ["noise"] },
  );

  test("each trace gets one session, from a seeded offset, and both are captured", async () => {
    const training = await getTraining(run.db, run.trainingId);
    assert.deepEqual(training.traces, TRACES);
    assert.deepEqual(training.bw_limitations, []);
    const sessions = await listSessions(run.db, run.trainingId);
    assertEverySessionStored(sessions);
    assert.deepEqual(sessions.map((s) => s.trace).sort(), [...TRACES].sort());
    for (const s of sessions) {
      assert.ok(s.trace_offset_s !== null && s.trace_offset_s >= 0 && s.trace_offset_s < 300, `${s.trace_offset_s}`);
      const link = s.network_data?.link as LinkData;
      assert.equal(link.trace, s.trace);
      assert.equal(link.offset_s, s.trace_offset_s);
    }
  });

  test("the link offers the trace from the session's offset, second by second", async () => {
    for (const session of await listSessions(run.db, run.trainingId)) {
      const link = session.network_data?.link as LinkData;
      const { stats } = loadTraceByName(link.trace);
      const bins = stats.perSecondMbps;
      let compared = 0;
      // Second k of the emulator's clock is second offset + k of the trace file (within one period; the
      // rotated trace adds one opportunity where the period closes).
      for (let k = 0; k < link.offered_mbps.length && link.offset_s + k + 1 < bins.length; k++) {
        const expected = bins[link.offset_s + k] ?? 0;
        assert.ok(
          Math.abs((link.offered_mbps[k] ?? 0) - expected) <= 0.02,
          `${link.trace}@${link.offset_s}s, second ${k}: offered ${link.offered_mbps[k]}, the trace file ${expected}`,
        );
        compared++;
      }
      assert.ok(compared >= 10, `only ${compared} seconds compared`);
    }
  });

  test("the link delivers what the trace offers, per 2 s, where the trace is below the top rendition", async () => {
    for (const session of await listSessions(run.db, run.trainingId)) {
      const link = session.network_data?.link as LinkData;
      const top = topRenditionMbps(session.application_data);
      assert.ok(link.record_start_s !== null && link.record_start_s > 0, `record start ${link.record_start_s}`);
      assert.equal(link.idle_mbps?.length, link.offered_mbps.length, "the emulator reports its idle capacity");
      const sum2 = (series: number[], k: number) => ((series[k] ?? 0) + (series[k + 1] ?? 0)) / 2;
      // The recorded window (after the warm-up), in whole 2 s buckets of the emulator's clock.
      const first = Math.ceil(link.record_start_s);
      const buckets: string[] = [];
      let misses = 0;
      let compared = 0;
      for (let k = first; k + 1 < link.delivered_mbps.length && k + 1 < first + 14; k += 2) {
        const offered = sum2(link.offered_mbps, k);
        const delivered = sum2(link.delivered_mbps, k);
        // What the trace offered while the player had data in flight: capacity that found the queue
        // empty (between segment requests, a CPU-starved player, TCP growing into a rate that jumped
        // up) is the sender's shortfall, which no link can deliver. That share is shown, not hidden.
        const asked = offered - sum2(link.idle_mbps ?? [], k);
        const within = Math.abs(delivered - asked) <= 0.15 * asked;
        const compare = offered < top && asked >= 0.05;
        buckets.push(
          `${k}s offered ${offered.toFixed(2)}, while asked ${asked.toFixed(2)} (idle ${Math.round((100 * (offered - asked)) / Math.max(offered, 1e-9))} %), delivered ${delivered.toFixed(2)}${compare ? (within ? "" : "  ← off by more than 15 %") : "  (not compared)"}`,
        );
        if (!compare) continue;
        compared++;
        if (!within) misses++;
      }
      const report = `${session.trace}@${session.trace_offset_s}s, top rendition ${top.toFixed(2)} Mbit/s, recording from ${link.record_start_s} s:\n${buckets.join("\n")}`;
      assert.equal(misses, 0, report);
      assert.ok(compared >= 3, `only ${compared} buckets below the top rendition: ${report}`);
    }
  });

  test("the stored flows have their handshake and the features cover the recorded window", async () => {
    for (const session of await listSessions(run.db, run.trainingId)) {
      const data = session.network_data as {
        flows: Array<{ proto: string; handshake?: boolean; s2c: { dataBytes: number } }>;
        features: Record<string, number>;
        session_features: Record<string, number>;
        window: { record_start_s: number; packets: number };
      };
      // The video's connections (the player's last requests end with its reset: segments still in
      // flight then arrive as lone packets, which tstat would not log as flows either).
      const video = data.flows.filter((f) => f.proto === "tcp" && f.s2c.dataBytes > 64_000);
      assert.ok(video.length > 0, "no TCP flow carried the video");
      assert.deepEqual(
        video.map((f) => f.handshake),
        video.map(() => true),
      );
      // The capture began before the player's warm-up; the features start at "start".
      assert.ok(data.window.record_start_s >= 3, `record start ${data.window.record_start_s} s into the capture`);
      assert.ok(data.window.packets > 0);
      assert.ok(Object.keys(data.session_features).length > 0);
      assert.ok(Object.keys(data.features).length > 0);
    }
  });

  test("the dataset export names each session's trace and offset", async () => {
    const cells = await exportedCells(run, ["trace", "trace_offset_s"]);
    assert.deepEqual(cells.map(([trace]) => trace).sort(), [...TRACES].sort());
  });
});

/** The top rendition's advertised bitrate (Mbit/s) from the player's level list. */
function topRenditionMbps(applicationData: Record<string, unknown> | null): number {
  const levels = (applicationData?.levels as Array<{ bitrate?: number }> | undefined) ?? [];
  const top = Math.max(...levels.map((l) => l.bitrate ?? 0));
  assert.ok(top > 0, "the player listed no level");
  return top / 1e6;
}
