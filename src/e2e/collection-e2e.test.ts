import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { capturesArchive, exportTraining, getTraining, listSessions } from "../collect/index.ts";
import { analyzeCaptureFile } from "../flows/index.ts";
import { assertEverySessionStored, collectTrainingForSuite } from "./test-support/collect-training.ts";
import { assertNetworkDataRecomputes } from "./test-support/network-data.ts";

// End to end, all real: lab namespaces, tbf on the router, the built-in HLS origin (ffmpeg),
// Debian's chromium playing with hls.js, tcpdump on the client, the flow engine, PGlite.
describe("collection end to end", { timeout: 600_000 }, () => {
  const run = collectTrainingForSuite(
    {
      name: "e2e",
      number_of_videos: "3",
      session_duration: "15",
      // 0.1 Mbit/s: below the ladder's lowest rendition (160p, about 0.2 Mbit/s), so it stalls.
      bw_limitations: "0.1, 1, 5",
      warmup: "5",
      seed: "3",
    },
    "qe",
  );

  test("every session is captured and the training finishes", async () => {
    const training = await getTraining(run.db, run.trainingId);
    const sessions = await listSessions(run.db, run.trainingId);
    assertEverySessionStored(sessions);
    assert.equal(training.has_finished, true);
    assert.equal(training.state, "finished");
  });

  test("stalls at the lowest limit, none at the highest; the highest reaches a higher resolution", async () => {
    const sessions = await listSessions(run.db, run.trainingId);
    const at = (mbps: number) => sessions.find((s) => s.bw_limitation === mbps)!;
    const low = at(0.1).labels as { stall_count: number; time_weighted_height: number };
    const high = at(5).labels as { stall_count: number; time_weighted_height: number };
    assert.ok(low.stall_count > 0, `stalls at 0.1 Mbit/s: ${JSON.stringify(low)}`);
    assert.equal(high.stall_count, 0, `no stalls at 5 Mbit/s: ${JSON.stringify(high)}`);
    assert.ok(high.time_weighted_height > low.time_weighted_height, "5 Mbit/s plays a higher resolution than 0.1");
  });

  test("each pcap is non-empty and its stored network data equals a recomputation from it", async () => {
    for (const session of await listSessions(run.db, run.trainingId)) {
      assert.ok(session.capture_file);
      assert.ok(statSync(session.capture_file).size > 1000);
      assert.equal(statSync(session.capture_file).size, session.capture_size);
      const whole = await analyzeCaptureFile(session.capture_file, { features: true, workers: 1 });
      assert.ok(whole.flows.length > 0);
      const stored = session.network_data as { window?: { record_start_s?: number | null } };
      assert.ok(typeof stored.window?.record_start_s === "number", "the recorded window's start is stored");
      await assertNetworkDataRecomputes(session.capture_file, session.network_data);
      assert.deepEqual(
        (session.network_data as { session_features: unknown }).session_features,
        JSON.parse(JSON.stringify(whole.features)),
      );
    }
  });

  test("the captures archive holds every session's pcap", async () => {
    const tar = await capturesArchive(run.db, run.trainingId);
    const path = join(run.dir, "pcaps.tar");
    writeFileSync(path, tar);
    const listed = execFileSync("tar", ["-tf", path], { encoding: "utf8" }).trim().split("\n").sort();
    const sessions = await listSessions(run.db, run.trainingId);
    assert.deepEqual(listed, sessions.map((s) => `session-${s.id}.pcap`).sort());
  });

  test("the CSV export has one row per session and opens in a CSV reader", async () => {
    const file = await exportTraining(run.db, run.trainingId, "csv");
    const path = join(run.dir, "export.csv");
    writeFileSync(path, file.body);
    // Python's csv module as an independent CSV reader.
    const out = execFileSync(
      "python3",
      [
        "-c",
        "import csv,sys,json; r=list(csv.DictReader(open(sys.argv[1]))); print(json.dumps([len(r), sorted(set(x['bw_limitation_mbps'] for x in r)), 'label_stalled' in r[0], any(k.startswith('net_') for k in r[0])]))",
        path,
      ],
      { encoding: "utf8" },
    );
    assert.deepEqual(JSON.parse(out), [3, ["0.1", "1", "5"], true, true]);
    assert.match(readFileSync(path, "utf8").split("\n")[0] ?? "", /^training_id,training_name,session_id/);
  });
});
