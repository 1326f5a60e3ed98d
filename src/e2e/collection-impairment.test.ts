import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { getTraining, listSessions } from "../collect/index.ts";
import { analyzeCaptureFile } from "../flows/index.ts";
import { assertEverySessionStored, collectTrainingForSuite, exportedCells } from "./test-support/collect-training.ts";

// A training that asks for delay and loss on top of the rate: the router's downstream gets all
// three (the userspace link emulator where the kernel has no netem), and the client's capture shows
// them. All real: lab namespaces, the built-in origin, chromium, tcpdump, PGlite.
const DELAY_MS = 60;

describe("collection with added delay and loss", { timeout: 600_000 }, () => {
  const run = collectTrainingForSuite(
    {
      name: "impaired",
      number_of_videos: "2",
      session_duration: "8",
      bw_limitations: "3",
      warmup: "2",
      seed: "5",
      delay_ms: String(DELAY_MS),
      loss_percent: "1",
    },
    "qi",
  );

  test("the training keeps what it asked for and every session is captured", async () => {
    const training = await getTraining(run.db, run.trainingId);
    assert.deepEqual(training.impairment, { delay: DELAY_MS / 1000, loss: 0.01 });
    const sessions = await listSessions(run.db, run.trainingId);
    assertEverySessionStored(sessions);
  });

  test("the client's capture shows the added delay and the losses", async () => {
    for (const session of await listSessions(run.db, run.trainingId)) {
      assert.ok(session.capture_file);
      const { flows } = await analyzeCaptureFile(session.capture_file, { features: false, workers: 1 });
      const tcp = flows.flatMap((f) => (f.proto === "tcp" ? [f] : []));
      const video = tcp.reduce((a, b) => (b.s2c.dataBytes > a.s2c.dataBytes ? b : a));
      // At the client, its requests are acknowledged over the delayed downstream.
      assert.ok(video.c2s.rtt.min !== null && video.c2s.rtt.min >= DELAY_MS, `RTT min ${video.c2s.rtt.min} ms`);
      assert.ok(video.c2s.rtt.min < DELAY_MS + 30, `RTT min ${video.c2s.rtt.min} ms`);
      // 1 % of the downstream is dropped before the client: holes, then their retransmissions.
      const repaired = tcp.reduce((n, f) => n + f.s2c.retxPackets + f.s2c.outOfSequencePackets, 0);
      assert.ok(repaired > 0, `${video.s2c.dataPackets} data packets, none retransmitted`);
    }
  });

  test("the dataset export states the delay and loss of each session", async () => {
    for (const [delay, loss] of await exportedCells(run, ["delay_ms", "loss_percent"])) {
      assert.equal(Number(delay), DELAY_MS);
      assert.equal(Number(loss), 1);
    }
  });
});
