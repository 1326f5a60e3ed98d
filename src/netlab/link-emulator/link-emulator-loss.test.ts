import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isQoelabError } from "../../errors.ts";
import { impair, impairClear, type Lab, labDown, labUp, parseImpairSpec, targetOf } from "../index.ts";
import { startLinkEmulator } from "./link-emulator.ts";
import { parseTrace } from "./link-emulator-rate.ts";
import type { DirectionSpec } from "./link-emulator-spec.ts";

/* Loss models, seeded drops, the impair backend and bad input, on a two-host lab (client ↔ server). */

const name = `ll${(process.pid % 100000).toString(36)}`;
let lab: Lab;
let dir: string;

before(async () => {
  lab = await labUp({ name });
  dir = mkdtempSync(join(tmpdir(), "qoelab-emuloss-"));
});

after(async () => {
  await labDown(name).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** Sends `count` UDP datagrams at `pps` from the client to the server. */
function sendUdp(count: number, pps: number): void {
  const code = `const s=require("node:dgram").createSocket("udp4");const b=Buffer.alloc(200);let n=0;const t0=performance.now();
const timer=setInterval(()=>{const due=Math.min(${count},Math.floor((performance.now()-t0)/1000*${pps}));while(n<due){b.writeUInt32BE(n);s.send(b,7400,"${lab.hosts.server.address}");n++;}
if(n>=${count}){clearInterval(timer);setTimeout(()=>process.exit(0),200);}},1);`;
  const r = spawnSync(
    "ip",
    ["netns", "exec", lab.hosts.client.netns, "chrt", "-f", "5", process.execPath, "-e", code],
    {
      encoding: "utf8",
    },
  );
  assert.equal(r.status, 0, r.stderr);
}

/** Arrival sequence numbers the loss model dropped, from the CSV packet log. */
function lostByModel(file: string): number[] {
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .filter((f) => f[5] === "loss-model")
    .map((f) => Number(f[0]));
}

function tunsIn(netns: string): string[] {
  const out = spawnSync("ip", ["-n", netns, "-br", "link"], { encoding: "utf8" }).stdout;
  return out
    .split("\n")
    .map((l) => l.split(/\s+/)[0] ?? "")
    .filter((n) => n.includes("-t"));
}

describe("link emulator: loss, seeds, impair backend, bad input", () => {
  it("Gilbert-Elliott loss rate and mean burst length lie in their 99 % intervals; one seed drops the same packets twice", async () => {
    const p = 0.05;
    const r = 0.25;
    const n = 5000;
    const runs: number[][] = [];
    let summaryLoss = 0;
    let summaryBurst = 0;
    for (const run of [1, 2]) {
      const em = await startLinkEmulator({
        lab,
        link: "client",
        spec: { egress: { loss: { kind: "gilbert", p, r, lossGood: 0, lossBad: 1 } }, seed: 4242 },
        outDir: join(dir, `ge${run}`),
      });
      sendUdp(n, 2500);
      const summary = await em.stop();
      const d = summary.directions.find((x) => x.name === "client-to-server");
      assert.ok(d);
      assert.equal(d.achieved.packets, n);
      runs.push(lostByModel(join(dir, `ge${run}`, "packets-client-to-server.csv")));
      summaryLoss = d.achieved.lossModelRate;
      summaryBurst = d.achieved.lossModelBursts.meanLength;
    }
    assert.deepEqual(runs[0], runs[1], "same seed, same traffic → same drops");
    // Two-state chain: π = p/(p+r); the sample mean's variance is π(1−π)/n·(1+λ)/(1−λ), λ = 1−p−r.
    const pi = p / (p + r);
    const lambda = 1 - p - r;
    const sd = Math.sqrt(((pi * (1 - pi)) / n) * ((1 + lambda) / (1 - lambda)));
    assert.ok(
      Math.abs(summaryLoss - pi) <= 2.576 * sd,
      `loss ${summaryLoss} ∉ ${pi.toFixed(4)} ± ${(2.576 * sd).toFixed(4)}`,
    );
    // Bursts are geometric with mean 1/r, variance (1−r)/r²; about n·π·r of them.
    const bursts = n * pi * r;
    const bsd = Math.sqrt((1 - r) / (r * r) / bursts);
    assert.ok(
      Math.abs(summaryBurst - 1 / r) <= 2.576 * bsd,
      `mean burst ${summaryBurst} ∉ ${1 / r} ± ${(2.576 * bsd).toFixed(3)}`,
    );
  });

  it("serves `impair` when netem is absent: delay on the client's egress, removed by impair clear", async () => {
    const target = targetOf(lab, "client");
    const result = await impair(target, parseImpairSpec({ delay: "30ms", lossModel: "gilbert:1%,50%" }), {
      prefer: ["emulator"],
    });
    assert.ok(
      result.assignments.every((a) => a.backend === "emulator"),
      JSON.stringify(result.assignments),
    );
    const ping = spawnSync(
      "ip",
      ["netns", "exec", lab.hosts.client.netns, "ping", "-c", "3", "-i", "0.2", lab.hosts.server.address],
      {
        encoding: "utf8",
      },
    );
    const avg = Number(/= [\d.]+\/([\d.]+)\//.exec(ping.stdout)?.[1]);
    assert.ok(avg >= 30 && avg < 35, `ping avg ${avg} ms (${ping.stdout})`);
    await impairClear(name, target);
    assert.deepEqual(tunsIn(lab.hosts.client.netns), [], "TUN gone after impair clear");
  });

  it("rejects bad input with coded errors and leaves nothing behind", async () => {
    const badTrace = (file: string, line?: number) => (e: unknown) =>
      isQoelabError(e) &&
      e.code === "EMULATOR_BAD_TRACE" &&
      (line === undefined || e.message.includes(`${file}:${line}`));
    assert.throws(() => parseTrace("1\n5\n3\n", "dec.trace"), badTrace("dec.trace", 3));
    assert.throws(() => parseTrace("1\n2\nabc\n", "nan.trace"), badTrace("nan.trace", 3));
    assert.throws(() => parseTrace("# qoelab-trace us\n100 1500\n50\n", "us.trace"), badTrace("us.trace"));
    const badEgress: [DirectionSpec, string][] = [
      [{ trace: { text: "3\n2\n", name: "bad" } }, "EMULATOR_BAD_TRACE"],
      [{ loss: { kind: "markov4", p13: 0.7, p31: 0.5, p32: 0.2, p23: 0.5, p14: 0.6 } }, "EMULATOR_BAD_LOSS_MODEL"],
      [{ loss: { kind: "gilbert", p: 0, r: 0, lossGood: 0, lossBad: 1 } }, "EMULATOR_BAD_LOSS_MODEL"],
    ];
    for (const [i, [egress, code]] of badEgress.entries()) {
      await assert.rejects(
        startLinkEmulator({ lab, link: "client", spec: { egress }, outDir: join(dir, `b${i + 1}`) }),
        (e) => isQoelabError(e) && e.code === code,
      );
    }
    const saved = process.env.QOELAB_TUN_DEVICE;
    process.env.QOELAB_TUN_DEVICE = join(dir, "no-such-tun");
    try {
      await assert.rejects(
        startLinkEmulator({ lab, link: "client", spec: { egress: { delay: 0.01 } }, outDir: join(dir, "b4") }),
        (e) => isQoelabError(e) && e.code === "EMULATOR_NO_TUN" && /modprobe tun/.test(e.message),
      );
    } finally {
      if (saved === undefined) delete process.env.QOELAB_TUN_DEVICE;
      else process.env.QOELAB_TUN_DEVICE = saved;
    }
    const first = await startLinkEmulator({
      lab,
      link: "client",
      spec: { egress: { delay: 0.01 } },
      outDir: join(dir, "b5"),
    });
    try {
      await assert.rejects(
        startLinkEmulator({ lab, link: "server", spec: {}, outDir: join(dir, "b6") }),
        (e) => isQoelabError(e) && e.code === "LINK_EMULATOR_EXISTS",
      );
    } finally {
      await first.stop();
    }
    assert.deepEqual(tunsIn(lab.hosts.client.netns), []);
    assert.deepEqual(tunsIn(lab.hosts.server.netns), []);
    assert.ok(!existsSync(join(dir, "b1", "summary.json")));
  });
});
