import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { type InternetStandIn, startInternetStandIn } from "../collect/test-support/internet-stand-in.ts";
import { getLab, labDown, run } from "../netlab/index.ts";
import { assertNetworkDataRecomputes, flowsFromServer } from "./test-support/network-data.ts";
import {
  NOBODY,
  type NobodyResult,
  type ShaperdForNobody,
  startShaperdForNobody,
} from "./test-support/shaperd-for-nobody.ts";
import { buildSmallOrigin } from "./test-support/small-origin.ts";

/*
 * A URL source through the lab router's uplink, collected by a process of "nobody" through a real
 * shaperd: the daemon brings the labs up with a forwarding uplink allowed to one address (the
 * "internet" stand-in), shapes, captures and runs chromium; the unprivileged process stores the
 * sessions. The training's second URL answers 404: that session's player never plays, so it must
 * not be stored as captured but retried (bounded) with its reason, the first session untouched.
 */
const prefix = `qy${process.pid % 100000}`;
const labs = [`${prefix}u0`, `${prefix}u1`];
const sysctl = (key: string) => spawnSync("sysctl", ["-n", key], { encoding: "utf8" }).stdout.trim();
const forwardingBefore = sysctl("net.ipv4.ip_forward");
const hostRules = () => spawnSync("iptables-save", [], { encoding: "utf8" }).stdout;

/** What root sees while a session is captured: the routers' qdiscs, the host's rules and forwarding. */
async function observe(): Promise<{ qdiscs: string; rules: string; forwarding: string }> {
  const qdiscs: string[] = [];
  for (const name of labs) {
    const lab = await getLab(name).catch(() => undefined);
    if (lab?.hosts.router)
      qdiscs.push(
        (await run(["tc", "qdisc", "show", "dev", lab.hosts.router.iface], { netns: lab.hosts.router.netns })).stdout,
      );
  }
  return { qdiscs: qdiscs.join("\n"), rules: hostRules(), forwarding: sysctl("net.ipv4.ip_forward") };
}

describe("a URL source through the uplink, collected through shaperd", { timeout: 150_000 }, () => {
  let daemon: ShaperdForNobody;
  let internet: InternetStandIn;
  let result: NobodyResult;
  let log = "";
  const duringCapture: Promise<Awaited<ReturnType<typeof observe>>>[] = [];
  const good = () => `http://${internet.address}:8080/testcard/master.m3u8`;
  const missing = () => `http://${internet.address}:8080/missing/master.m3u8`;

  before(async () => {
    const built = await buildSmallOrigin();
    internet = await startInternetStandIn(prefix, built.root);
    daemon = await startShaperdForNobody("shaperd-uplink");
    const collecting = daemon.collect(
      {
        labPrefix: prefix,
        maxSlots: 2,
        uplinkAllow: [`${internet.address}/32`],
        trainings: [
          {
            name: "urls",
            number_of_videos: "2",
            session_duration: "6",
            bw_limitations: "1",
            warmup: "2",
            max_attempts: "2",
            source: "urls",
            urls: `${good()} ${missing()}`,
          },
        ],
      },
      (message) => {
        if (message.kind === "event" && message.event.kind === "capture-started") duringCapture.push(observe());
      },
    );
    result = await collecting.done;
    log = collecting.log();
  });

  after(async () => {
    for (const name of labs) await labDown(name).catch(() => undefined);
    await daemon?.close();
    await internet?.stop();
    if (sysctl("net.ipv4.ip_forward") !== forwardingBefore)
      spawnSync("sysctl", ["-qw", `net.ipv4.ip_forward=${forwardingBefore}`]);
  });

  const sessions = () => Object.values(result.sessions).flat();

  test("the URL session is captured by nobody through the daemon; its network data is its pcap's", async () => {
    assert.equal(result.uid, NOBODY);
    assert.equal(result.operator, "shaperd", log);
    const session = sessions().find((s) => s.url === good());
    assert.ok(session, JSON.stringify(sessions()));
    assert.equal(session.status, 1, `${session.error_reason ?? ""}\n${log}`);
    assert.equal(session.attempts, 1);
    const played = session.application_data as { startupTime: number | null; samples?: { height: number }[] };
    assert.ok(played.startupTime !== null && played.samples?.some((s) => s.height > 0), "the video played");
    const file = session.capture_file;
    assert.ok(file, "a capture file is stored");
    assert.ok(file.startsWith(`${daemon.captureDir}/`), file);
    const stat = statSync(file);
    assert.equal(stat.uid, NOBODY, "the capture was handed to the collecting user");
    assert.equal(stat.size, session.capture_size);
    const recomputed = await assertNetworkDataRecomputes(file, session.network_data);
    // The video came from the stand-in, which has no route to the lab: through the host's masquerade;
    // the client keeps its lab address (10.77.128.0/17 uplink slots).
    for (const flow of flowsFromServer(recomputed, internet.address))
      assert.match(flow.client.address, /^10\.77\.(1[2-8]\d|19[01])\.2$/);
  });

  test("a session whose manifest is 404 is never stored as captured: retried, bounded, its reason kept", () => {
    const session = sessions().find((s) => s.url === null && s.position === 1);
    assert.ok(session, JSON.stringify(sessions().map((s) => [s.position, s.status, s.url])));
    assert.equal(session.status, -1);
    assert.equal(session.attempts, 2, "tried up to the training's max_attempts");
    assert.equal(session.application_data, null, "nothing of the failed attempts is stored");
    assert.equal(session.network_data, null);
    assert.match(
      session.error_reason ?? "",
      new RegExp(
        `^PLAYER_NEVER_PLAYED: session ${session.id}: the player never started playback of ${missing().replace(/\./g, "\\.")} \\(last player error: manifestLoadError \\(networkError, fatal\\)`,
      ),
    );
    assert.equal(result.trainings[0]?.state, "finished-with-failures");
    assert.match(log, /PLAYER_NEVER_PLAYED|never started playback/);
  });

  test("while capturing, the router shaped the client's link and the host forwarded for the lab only", async () => {
    assert.equal(duringCapture.length, 3, "one capture per attempt: 1 + 2");
    for (const seen of await Promise.all(duringCapture)) {
      assert.match(seen.qdiscs, /tbf 1: root .*rate 1Mbit/);
      assert.match(seen.rules, new RegExp(`qoelab-uplink:${prefix}u[01]\\b`));
      assert.equal(seen.forwarding, "1");
    }
    // The daemon got the allow list as data: the router rejects any other destination.
    const router = (await getLab(labs[0] as string)).hosts.router;
    assert.ok(router);
    const filter = await run(["iptables", "-S", "FORWARD"], { netns: router.netns });
    assert.match(filter.stdout, new RegExp(`-d ${internet.address}/32 .*-j ACCEPT`));
    assert.match(filter.stdout, /-j REJECT/);
  });

  test("taking the labs down removes the host's rules and puts forwarding back", async () => {
    for (const name of labs) await labDown(name);
    const rules = hostRules();
    for (const name of labs) assert.doesNotMatch(rules, new RegExp(`qoelab-uplink:${name}\\b`));
    // Another test's forwarding uplink may still hold the switch on; otherwise it is back as it was.
    if (!/qoelab-uplink:/.test(rules)) assert.equal(sysctl("net.ipv4.ip_forward"), forwardingBefore);
  });
});
