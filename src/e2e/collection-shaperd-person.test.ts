import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import { playTrainingInPage } from "../collect/test-support/play-training.ts";
import { getLab, type Lab, labDown, run } from "../netlab/index.ts";
import { assertNetworkDataRecomputes, assertVideoToUplinkHost } from "./test-support/network-data.ts";
import { PERSON_TRAINING_FORM } from "./test-support/person-training.ts";
import {
  NOBODY,
  type NobodyResult,
  type ShaperdForNobody,
  startShaperdForNobody,
} from "./test-support/shaperd-for-nobody.ts";
import { SMALL_ORIGIN } from "./test-support/small-origin.ts";

/*
 * The person-driven loop without root in the web app: a process of "nobody" serves the web app on
 * loopback and reaches the lab only through a real shaperd. Chromium in the root namespace (a
 * person's browser on this host) opens /player?training=ID; the daemon brings up the lab slot with
 * a host-only uplink, shapes the router's end of it with tbf and captures on the host's end with a
 * filter of its own; the unprivileged process stores the session.
 */
const prefix = `qp${process.pid % 100000}`;
const personLab = `${prefix}p0`;

/** The qdiscs on the router's end of the person lab's uplink. */
async function uplinkQdiscs(lab: Lab): Promise<string> {
  const uplink = lab.uplink;
  assert.ok(uplink, `lab ${lab.name} has an uplink`);
  return (await run(["tc", "qdisc", "show", "dev", uplink.routerIface], { netns: uplink.netns })).stdout;
}

describe("a person's session through shaperd", { timeout: 120_000 }, () => {
  let daemon: ShaperdForNobody;
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  let result: NobodyResult;
  let log = "";
  let playerError: string | null = "not run";
  const shapedDuringCapture: Promise<string>[] = [];

  before(async () => {
    daemon = await startShaperdForNobody("shaperd-person");
    const serving = daemon.collect(
      {
        labPrefix: prefix,
        serve: true,
        origin: SMALL_ORIGIN,
        trainings: [PERSON_TRAINING_FORM],
      },
      (message) => {
        if (message.kind === "event" && message.event.kind === "capture-started")
          shapedDuringCapture.push(getLab(personLab).then(uplinkQdiscs));
      },
    );
    try {
      const [{ ids }, { url }] = await Promise.all([serving.next("trainings"), serving.next("listening")]);
      browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
      playerError = await playTrainingInPage(browser, url, ids[0]!);
    } finally {
      await browser?.close();
      serving.send("stop");
    }
    result = await serving.done;
    log = serving.log();
  });

  after(async () => {
    await browser?.close();
    await labDown(personLab).catch(() => undefined);
    await daemon?.close();
  });

  test("the person's page played the training to its end; the session is stored by nobody", () => {
    assert.equal(playerError, null, log);
    assert.equal(result.uid, NOBODY);
    assert.equal(result.operator, "shaperd");
    const [training] = result.trainings;
    assert.equal(training?.state, "finished");
    assert.equal(training?.driver, "person");
    const [session] = Object.values(result.sessions).flat();
    assert.ok(session);
    assert.equal(session.status, 1, `${session.error_reason ?? ""}\n${log}`);
    assert.match(session.worker ?? "", /\/browser-[a-z0-9]+$/, "claimed by the person's page");
    const played = session.application_data as { startupTime: number | null; samples?: { height: number }[] };
    assert.ok(played.startupTime !== null && played.samples?.some((s) => s.height > 0), "the video played");
  });

  test("the daemon shaped the uplink's router end while capturing, and cleared it after", async () => {
    assert.equal(shapedDuringCapture.length, 1);
    assert.match(await (shapedDuringCapture[0] as Promise<string>), /tbf 1: root .*rate 1Mbit/);
    assert.match(log, new RegExp(`plays session \\S+ at 1 Mbit/s \\(rate \\S+ by tbf on ${prefix}p0-ru\\)`));
    assert.doesNotMatch(await uplinkQdiscs(await getLab(personLab)), /tbf/);
  });

  test("the capture on the host's end is nobody's and holds the video; its network data is stored", async () => {
    const [session] = Object.values(result.sessions).flat();
    const file = session?.capture_file;
    assert.ok(session && file, "a capture file is stored");
    assert.ok(file.startsWith(`${daemon.captureDir}/`), file);
    const stat = statSync(file);
    assert.equal(stat.uid, NOBODY);
    assert.equal(stat.size, session.capture_size);
    const recomputed = await assertNetworkDataRecomputes(file, session.network_data);
    const lab = await getLab(personLab);
    assertVideoToUplinkHost(recomputed, lab);
    // The daemon's own filter: only the lab's TCP (the page and API on loopback never cross it).
    assert.ok(recomputed.flows.every((f) => "server" in f && f.server.address === lab.hosts.server.address));
  });
});
