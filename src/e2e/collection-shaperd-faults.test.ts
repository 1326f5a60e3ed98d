import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { labDown } from "../netlab/index.ts";
import { assertNetworkDataRecomputes } from "./test-support/network-data.ts";
import {
  NOBODY,
  type NobodyResult,
  type ShaperdForNobody,
  startShaperdForNobody,
} from "./test-support/shaperd-for-nobody.ts";
import { SMALL_ORIGIN } from "./test-support/small-origin.ts";

/*
 * Faults mid-session on the shaperd path lose no session (as collection-faults.test.ts shows for
 * root): a process of "nobody" collects two sessions at once through a real shaperd, and this
 * (root) process kills the chromium of one (it runs as nobody in the client host) and the tcpdump
 * of the other (root's, started by the daemon). Both are retried and captured, their first
 * attempt's reason kept.
 */
const prefix = `qg${process.pid % 100000}`;

describe("faults mid-session through shaperd", { timeout: 120_000 }, () => {
  let daemon: ShaperdForNobody;
  let result: NobodyResult;
  let log = "";
  const killed: { browser?: number; tcpdump?: number } = {};

  before(async () => {
    daemon = await startShaperdForNobody("shaperd-faults");
    const kill = (pid: number) =>
      setTimeout(() => {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone: the test below then finds no retry and says so
        }
      }, 1500);
    const collecting = daemon.collect(
      {
        labPrefix: prefix,
        maxSlots: 2,
        origin: SMALL_ORIGIN,
        trainings: [
          {
            number_of_videos: "2",
            session_duration: "6",
            bw_limitations: "5",
            warmup: "2",
            max_attempts: "3",
          },
        ],
      },
      (message) => {
        if (message.kind !== "event") return;
        const { event } = message;
        // The first capture of one session, and the first browser of the other, die a moment in. A
        // session's capture starts before its browser, so each victim is chosen apart from the other
        // (choosing the browser's without that once killed both in one session and none in the other).
        if (
          event.kind === "browser-started" &&
          killed.browser === undefined &&
          event.sessionId !== killed.tcpdump &&
          event.pid !== undefined
        ) {
          killed.browser = event.sessionId;
          kill(event.pid);
        }
        if (event.kind === "capture-started" && killed.tcpdump === undefined && event.sessionId !== killed.browser) {
          killed.tcpdump = event.sessionId;
          kill(event.pid);
        }
      },
    );
    result = await collecting.done;
    log = collecting.log();
  });

  after(async () => {
    for (const slot of [0, 1]) await labDown(`${prefix}${slot}`).catch(() => undefined);
    await daemon?.close();
  });

  test("killing chromium or tcpdump mid-session: each session is retried and captured, the reason kept", async () => {
    assert.equal(result.uid, NOBODY);
    assert.equal(result.operator, "shaperd");
    assert.ok(killed.browser !== undefined && killed.tcpdump !== undefined, `both were killed\n${log}`);
    assert.notEqual(killed.browser, killed.tcpdump, "one fault per session");
    const sessions = Object.values(result.sessions).flat();
    assert.equal(sessions.length, 2);
    for (const session of sessions) {
      assert.equal(session.status, 1, `session ${session.id}: ${session.error_reason ?? ""}\n${log}`);
      assert.equal(session.attempts, 2, `session ${session.id} was captured on its retry`);
      const victim = session.id === killed.browser ? "browser" : "tcpdump";
      assert.match(
        session.error_reason ?? "",
        victim === "browser" ? /browser|player/i : /^CAPTURE_DIED: session \d+: tcpdump ended during the capture/,
        `the first attempt's reason is kept (${victim} killed)`,
      );
      assert.ok(session.capture_file);
      await assertNetworkDataRecomputes(session.capture_file, session.network_data);
    }
    assert.equal(result.trainings[0]?.state, "finished");
  });
});
