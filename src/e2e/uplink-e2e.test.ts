import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { serve } from "@hono/node-server";
import {
  CollectionOrchestrator,
  createTraining,
  directLabOperator,
  listSessions,
  validateTrainingRequest,
} from "../collect/index.ts";
import { type InternetStandIn, startInternetStandIn } from "../collect/test-support/internet-stand-in.ts";
import { twitchStandIn } from "../collect/test-support/twitch-stand-in.ts";
import { type Db, openDb } from "../db/index.ts";
import { getLab, labDown, run } from "../netlab/index.ts";
import { createApp } from "../web/index.ts";
import { assertNetworkDataRecomputes, flowsFromServer } from "./test-support/network-data.ts";
import { buildSmallOrigin } from "./test-support/small-origin.ts";

/*
 * External video sources through the lab router's uplink, without the Internet: a namespace this
 * test makes plays "the internet" (joined to the host by a veth, 10.77.253.4k/30) and serves HLS
 * made by ffmpeg. A URL-source session and a Twitch session (Helix answered by a local stand-in,
 * the usher playlist by the "internet" origin) play in chromium in the lab's client: client →
 * router (tbf to the limit) → uplink → host (forwarding, masquerade) → "internet". The uplinks
 * allow only that one address, so nothing else ever leaves the lab.
 */
const prefix = `qx${process.pid % 100000}`;
const labs = [`${prefix}u0`, `${prefix}u1`];

describe("external sources through the router's uplink", { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-uplink-"));
  let db: Db;
  let inet: InternetStandIn = { address: "", stop: async () => undefined };
  let helix: ReturnType<typeof serve> | undefined;
  const urlsTraining = { id: 0 };
  const twitchTraining = { id: 0 };
  const shapedAtCapture: Promise<string[]>[] = [];
  const saved = { ...process.env };

  before(async () => {
    db = await openDb({ url: "", dataDir: "memory://" });
    const built = await buildSmallOrigin();
    // The "internet" site: the channel, and an usher path whose playlist points at it.
    const site = join(dir, "site");
    mkdirSync(join(site, "api", "channel", "hls"), { recursive: true });
    symlinkSync(join(built.root, "testcard"), join(site, "testcard"));
    const master = readFileSync(join(built.root, "testcard", "master.m3u8"), "utf8");
    writeFileSync(
      join(site, "api", "channel", "hls", "big_one.m3u8"),
      master.replace(/^(\d+p\/index\.m3u8)$/gm, "/testcard/$1"),
    );

    inet = await startInternetStandIn(`qx${process.pid % 100000}`, site, 253);

    const standIn = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const listening = serve({ fetch: twitchStandIn().fetch, hostname: "127.0.0.1", port: 0 }, () =>
        resolve(listening),
      );
    });
    helix = standIn;
    const helixUrl = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      TWITCH_CLIENT_ID: "cid",
      TWITCH_CLIENT_SECRET: "secret",
      TWITCH_WEB_CLIENT_ID: "webclient",
      TWITCH_ID_URL: helixUrl,
      TWITCH_API_URL: helixUrl,
      TWITCH_GQL_URL: helixUrl,
      TWITCH_USHER_URL: `http://${inet.address}:8080`,
    });

    const form = { number_of_videos: "1", session_duration: "6", bw_limitations: "1", warmup: "2" };
    const urls = validateTrainingRequest({
      ...form,
      name: "urls",
      source: "urls",
      urls: `http://${inet.address}:8080/testcard/master.m3u8`,
    });
    const twitch = validateTrainingRequest({ ...form, name: "twitch", source: "twitch" });
    assert.ok(urls.ok && twitch.ok);
    urlsTraining.id = (await createTraining(db, urls.value)).id;
    twitchTraining.id = (await createTraining(db, twitch.value)).id;

    let app: ReturnType<typeof createApp> | undefined;
    const orchestrator = new CollectionOrchestrator({
      db,
      operator: directLabOperator(async (request) => app!.fetch(request)),
      labPrefix: prefix,
      maxSlots: 2,
      captureDir: join(dir, "captures"),
      uplinkAllow: [`${inet.address}/32`],
      log: (m) => process.stderr.write(`${m}\n`),
      onEvent: (event) => {
        if (event.kind !== "capture-started") return;
        shapedAtCapture.push(
          Promise.all(
            labs.map(async (name) => {
              const lab = await getLab(name).catch(() => undefined);
              if (!lab?.hosts.router) return "";
              return (
                await run(["tc", "qdisc", "show", "dev", lab.hosts.router.iface], { netns: lab.hosts.router.netns })
              ).stdout;
            }),
          ),
        );
      },
    });
    app = createApp({ db, controller: orchestrator });
    // Both sessions at once, each in a lab slot with an uplink of its own.
    await orchestrator.runUntilIdle();
    await orchestrator.stop();
  });

  after(async () => {
    process.env = saved;
    await inet.stop();
    await new Promise<void>((resolve) => (helix ? helix.close(() => resolve()) : resolve()));
    for (const name of labs) await labDown(name).catch(() => undefined);
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("both sessions are captured, each from the stand-in's address", async () => {
    for (const [training, url] of [
      [urlsTraining.id, `http://${inet.address}:8080/testcard/master.m3u8`],
      [twitchTraining.id, `http://${inet.address}:8080/api/channel/hls/big_one.m3u8?`],
    ] as const) {
      const [session] = await listSessions(db, training);
      assert.ok(session);
      assert.equal(session.status, 1, session.error_reason ?? "");
      assert.ok(session.url?.startsWith(url), session.url ?? "");
      // It played: the stand-in has no route back to the lab, so its answers came through the masquerade.
      const played = session.application_data as { samples?: { height: number }[]; startupTime: number | null };
      assert.ok(played.startupTime !== null && played.samples?.some((s) => s.height > 0), "the video played");
      assert.ok(session.capture_file);
      assert.ok(statSync(session.capture_file).size > 1000);
      const recomputed = await assertNetworkDataRecomputes(session.capture_file, session.network_data);
      for (const flow of flowsFromServer(recomputed, inet.address)) {
        assert.equal(flow.server.port, 8080);
        // The client keeps its lab address: only the host masquerades, past the uplink.
        assert.match(flow.client.address, /^10\.77\.(1[2-8]\d|19[01])\.2$/);
      }
    }
    const twitch = (await listSessions(db, twitchTraining.id))[0];
    assert.equal(twitch?.channel, "big_one", "the most watched channel of the stand-in");
  });

  test("the router shaped the client's link to the limit while capturing", async () => {
    assert.equal(shapedAtCapture.length, 2);
    for (const shown of await Promise.all(shapedAtCapture))
      assert.ok(
        shown.some((q) => /tbf 1: root .*rate 1Mbit/.test(q)),
        shown.join("\n"),
      );
  });

  test("taking the labs down removes the host's rules and routes", async () => {
    const uplinks = await Promise.all(labs.map(async (name) => (await getLab(name)).uplink));
    for (const name of labs) await labDown(name);
    const rules = spawnSync("iptables-save", [], { encoding: "utf8" }).stdout;
    for (const name of labs) assert.doesNotMatch(rules, new RegExp(`qoelab-uplink:${name}\\b`));
    for (const uplink of uplinks) {
      assert.ok(uplink);
      assert.equal(spawnSync("ip", ["route", "show", uplink.labSubnet], { encoding: "utf8" }).stdout.trim(), "");
      assert.notEqual(spawnSync("ip", ["link", "show", "dev", uplink.hostIface]).status, 0);
    }
  });
});
