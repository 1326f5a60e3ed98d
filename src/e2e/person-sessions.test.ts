import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { serve } from "@hono/node-server";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, chromiumPath } from "../chromium.ts";
import {
  CollectionOrchestrator,
  createTraining,
  directLabOperator,
  getTraining,
  listSessions,
  validateTrainingRequest,
} from "../collect/index.ts";
import { playTrainingInPage } from "../collect/test-support/play-training.ts";
import { type Db, openDb } from "../db/index.ts";
import { getLab, labDown, run } from "../netlab/index.ts";
import { createApp } from "../web/index.ts";
import { assertNetworkDataRecomputes, assertVideoToUplinkHost } from "./test-support/network-data.ts";
import { PERSON_TRAINING_FORM } from "./test-support/person-training.ts";
import { buildSmallOrigin } from "./test-support/small-origin.ts";

// The seed's person-driven loop, all real: Debian's chromium in the root namespace (as a person's
// browser on this host) opens /player?training=ID on a test server; the video comes from the
// built-in origin in a lab slot, through the router, shaped on the router's side of the uplink and
// captured on the host's side; the flow engine and PGlite store the result.
const prefix = `qm${process.pid % 100000}`;
const personLab = `${prefix}p0`;

describe("a person's sessions", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-person-"));
  let db: Db;
  let orchestrator: CollectionOrchestrator;
  let server: ReturnType<typeof serve>;
  let base = "";
  let browser: Awaited<ReturnType<typeof chromium.launch>> | undefined;
  const shapedDuringCapture: Promise<string>[] = [];
  let playedTraining = 0;

  before(async () => {
    db = await openDb({ url: "", dataDir: "memory://" });
    const origin = await buildSmallOrigin();
    let app: ReturnType<typeof createApp> | undefined;
    orchestrator = new CollectionOrchestrator({
      db,
      operator: directLabOperator(async (request) => app!.fetch(request)),
      origin,
      labPrefix: prefix,
      captureDir: join(dir, "captures"),
      onEvent: (event) => {
        if (event.kind !== "capture-started") return;
        shapedDuringCapture.push(
          getLab(personLab).then(async (lab) => {
            const shown = await run(["tc", "qdisc", "show", "dev", lab.uplink?.routerIface ?? "?"], {
              netns: lab.uplink?.netns ?? "",
            });
            return shown.stdout;
          }),
        );
      },
    });
    app = createApp({ db, controller: orchestrator });
    // The worker polls all along: it must leave the person's training alone.
    orchestrator.startWorker(200);
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app!.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve());
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: chromiumPath(), headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await orchestrator?.stop();
    await labDown(personLab).catch(() => undefined);
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a person's browser on this host plays a training through the shaped router; it is captured and stored", async () => {
    const request = validateTrainingRequest(PERSON_TRAINING_FORM);
    assert.ok(request.ok);
    const training = await createTraining(db, request.value);
    playedTraining = training.id;
    assert.equal(await playTrainingInPage(browser!, base, training.id), null);

    const [session] = await listSessions(db, training.id);
    assert.ok(session);
    assert.equal(session.status, 1, session.error_reason ?? "");
    assert.match(session.worker ?? "", /\/browser-[a-z0-9]+$/, "claimed by the person's page, not by the worker");
    const done = await getTraining(db, training.id);
    assert.equal(done.state, "finished");
    assert.equal(done.driver, "person");

    // Shaped to the session's limit on the router's end of the uplink while it was captured.
    assert.equal(shapedDuringCapture.length, 1);
    assert.match(await (shapedDuringCapture[0] as Promise<string>), /tbf 1: root .*rate 1Mbit/);
    const lab = await getLab(personLab);
    const uplink = lab.uplink;
    assert.ok(uplink);
    const after = await run(["tc", "qdisc", "show", "dev", uplink.routerIface], { netns: uplink.netns });
    assert.doesNotMatch(after.stdout, /tbf/, "the limit is cleared once the session is stored");

    // The capture holds the video from the lab's server to this host, and the stored network data
    // is what the flow engine computes from it.
    assert.ok(session.capture_file);
    assert.ok(statSync(session.capture_file).size > 1000);
    assert.equal(statSync(session.capture_file).size, session.capture_size);
    const recomputed = await assertNetworkDataRecomputes(session.capture_file, session.network_data);
    assertVideoToUplinkHost(recomputed, lab);
    const application = session.application_data as { samples?: { height: number }[]; startupTime: number | null };
    assert.equal(application.samples?.length, 6);
    assert.ok(application.startupTime !== null && application.samples?.some((s) => s.height > 0), "the video played");
  });

  test("a person cannot play an external source; with nothing left the player is told it is done", async () => {
    const urls = validateTrainingRequest({
      number_of_videos: "1",
      session_duration: "6",
      bw_limitations: "1",
      source: "urls",
      urls: "http://10.77.254.2:8080/a.m3u8",
    });
    assert.ok(urls.ok);
    const external = await createTraining(db, { ...urls.value, driver: "person" });
    const app = createApp({ db, controller: orchestrator });
    const refused = await app.request(`/api/trainings/${external.id}/next?worker=someone`);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { code: string }).code, "COLLECTION_PERSON_SOURCE_INVALID");
    const [first] = await listSessions(db, external.id);
    assert.equal(first?.status, -1, "nothing was claimed");
    assert.ok(playedTraining > 0);
    const none = await app.request(`/api/trainings/${playedTraining}/next?worker=someone`);
    assert.deepEqual(await none.json(), { done: true });
  });
});
