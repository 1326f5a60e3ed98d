import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startCapture } from "../../capture/index.ts";
import { type Lab, type LabHost, labDown, labUp } from "../index.ts";
import { startLinkEmulator } from "./link-emulator.ts";
import { wakeProbeAddonPath } from "./link-emulator-addon.ts";
import { traceFromSteps } from "./link-emulator-rate.ts";

/*
 * The emulator on the router↔client link of a router lab, with real traffic between client and server.
 * Bounds are the issue's; "egress" is router → client (what the video downstream crosses).
 */

const name = `le${(process.pid % 100000).toString(36)}`;
let lab: Lab;
let dir: string;

before(async () => {
  lab = await labUp({ name, router: true });
  dir = mkdtempSync(join(tmpdir(), "qoelab-emu-"));
});

after(async () => {
  await labDown(name).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `code` with node inside a host and resolves with its stdout once it exits. The probes run at
 * real-time priority (as the emulator's threads do) so a loaded machine does not blur the instrument.
 */
function nodeIn(host: LabHost, code: string): { done: Promise<string>; kill(): void } {
  const child = host.spawn(["chrt", "-f", "5", process.execPath, "-e", code], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<string>((resolve, reject) =>
    child.on("exit", (code) =>
      code === 0 || code === null ? resolve(out) : reject(new Error(`exit ${code}: ${err}`)),
    ),
  );
  return { done, kill: () => child.kill("SIGTERM") };
}

const UDP_ECHO = `const s=require("node:dgram").createSocket("udp4");s.on("message",(m,r)=>s.send(m,r.port,r.address));s.bind(7100);process.on("SIGTERM",()=>process.exit(0));`;

/** Sends `count` probes every `gapMs`, prints the RTTs (ms) as JSON. */
const UDP_PROBER = (to: string, count: number, gapMs: number) => `
const s=require("node:dgram").createSocket("udp4");const sent=new Map();const rtt=[];let i=0;
s.on("message",(m)=>{const k=m.readUInt32BE(0);const t=sent.get(k);if(t!==undefined){rtt.push(Number(process.hrtime.bigint()-t)/1e6);sent.delete(k);}});
s.bind(0,()=>{const timer=setInterval(()=>{if(i>=${count}){clearInterval(timer);setTimeout(()=>{process.stdout.write(JSON.stringify(rtt));process.exit(0)},400);return;}
const b=Buffer.alloc(64);b.writeUInt32BE(i);sent.set(i,process.hrtime.bigint());s.send(b,7100,"${to}");i++;},${gapMs});});`;

/** Sends UDP at `mbps` (1500-byte IP packets) for `seconds`. */
const UDP_FLOOD = (to: string, mbps: number, seconds: number) => `
const s=require("node:dgram").createSocket({type:"udp4",sendBufferSize:4<<20});const b=Buffer.alloc(1472);const t0=performance.now();let n=0;
const pps=${mbps}e6/12000;const timer=setInterval(()=>{const el=(performance.now()-t0)/1000;if(el>${seconds}){clearInterval(timer);setTimeout(()=>process.exit(0),100);return;}
while(n<el*pps){b.writeUInt32BE(n);s.send(b,7200,"${to}");n++;}},1);`;

const TCP_SINK = `let bytes=0;const marks=[];const t0=performance.now();
require("node:net").createServer((c)=>{c.on("data",(d)=>{bytes+=d.length});c.on("end",()=>{process.stdout.write(JSON.stringify(marks));process.exit(0)})}).listen(7300);
setInterval(()=>marks.push([(performance.now()-t0)/1000,bytes]),250);`;

const TCP_SOURCE = (to: string, seconds: number) => `
const c=require("node:net").connect(7300,"${to}");const b=Buffer.alloc(65536);const t0=performance.now();
function pump(){while((performance.now()-t0)/1000<${seconds}){if(!c.write(b)){c.once("drain",pump);return;}}c.end();}
c.on("connect",pump);c.on("close",()=>process.exit(0));`;

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number;
}

/** tshark fields of a capture, one array per packet. */
function tsharkFields(file: string, filter: string, fields: string[]): string[][] {
  const args = ["-r", file, "-Y", filter, "-T", "fields", ...fields.flatMap((f) => ["-e", f])];
  const r = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 256 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t"));
}

/** The lateness (ms) of the longest-held 1 ms sleep of a SCHED_FIFO thread on each CPU, over `seconds`. */
function stallControls(seconds: number): Promise<number[]> {
  const count = Math.round(seconds * 1000);
  const code = `const a=require(${JSON.stringify(wakeProbeAddonPath())});process.stdout.write(String(a.timerWakeCost(${count},1000,10)[3]/1000))`;
  return Promise.all(
    Array.from({ length: availableParallelism() }, (_, cpu) => {
      const r = spawn("taskset", ["-c", String(cpu), process.execPath, "-e", code], {
        stdio: ["ignore", "pipe", "inherit"],
      });
      let out = "";
      r.stdout.on("data", (d: Buffer) => {
        out += d.toString();
      });
      return new Promise<number>((resolve) => r.on("exit", () => resolve(Number(out) || 0)));
    }),
  );
}

/** One RTT measurement through a fresh emulator (50 ms each way); `check` asserts the rest of the test. */
async function measureRtt(
  name: string,
): Promise<{ p50: number; p99: number; rtts: number[]; held: number; check(): void }> {
  const client = lab.hosts.client;
  const server = lab.hosts.server;
  const em = await startLinkEmulator({
    lab,
    link: "router:client-side",
    spec: { egress: { delay: 0.05 }, ingress: { delay: 0.05 }, seed: 1 },
    outDir: join(dir, name),
  });
  const [nearTun, farTun] = em.tun;
  const near = await startCapture({
    netns: nearTun?.netns,
    iface: nearTun?.tun ?? "",
    filter: "udp port 7100",
    file: join(dir, "near.pcap"),
  });
  const far = await startCapture({
    netns: farTun?.netns,
    iface: farTun?.tun ?? "",
    filter: "udp port 7100",
    file: join(dir, "far.pcap"),
  });
  const echo = nodeIn(server, UDP_ECHO);
  let rtts: number[];
  let held = 0;
  try {
    await new Promise((r) => setTimeout(r, 300));
    // The controls watch the probing itself (4 s), not the emulator's start.
    const controls = stallControls(4);
    rtts = JSON.parse(await nodeIn(client, UDP_PROBER(server.address, 400, 10)).done) as number[];
    held = Math.max(...(await controls));
  } finally {
    echo.kill();
  }
  await near.stop();
  await far.stop();
  const summary = await em.stop();
  assert.ok(rtts.length >= 395, `only ${rtts.length} of 400 probes came back`);
  // The RTT the emulator adds, from the kernel's capture stamps where each probe enters and leaves it
  // in both directions: the probe's own clock also counts its event loop and the echo server's, which
  // a loaded machine (tests run two at a time) stretches by milliseconds that are not the link's.
  // Requests (client → server) enter at the client's TUN (far) and leave at the router's (near);
  // echo replies (server → client) enter at the router's TUN and leave at the client's.
  const stamps = (file: string, filter: string) =>
    new Map(
      tsharkFields(join(dir, file), filter, ["frame.time_epoch", "udp.payload"]).map((f) => [
        f[1] as string,
        Number(f[0]),
      ]),
    );
  const requestIn = stamps("far.pcap", "udp.dstport == 7100");
  const requestOut = stamps("near.pcap", "udp.dstport == 7100");
  const replyIn = stamps("near.pcap", "udp.srcport == 7100");
  const replyOut = stamps("far.pcap", "udp.srcport == 7100");
  const added: number[] = [];
  const delays: number[] = [];
  for (const [payload, out] of replyOut) {
    const t0 = replyIn.get(payload);
    if (t0 === undefined) continue;
    delays.push((out - t0) * 1e3);
    const a = requestIn.get(payload);
    const b = requestOut.get(payload);
    if (a !== undefined && b !== undefined) added.push((b - a + out - t0) * 1e3);
  }
  assert.ok(added.length >= 395, `only ${added.length} of 400 probes were captured both ways`);
  const check = () => {
    // End to end, every probe did wait out both delays.
    assert.ok(Math.min(...rtts) >= 100, `a probe came back after ${Math.min(...rtts).toFixed(3)} ms`);
    const egress = summary.directions.find((d) => d.name === "router-to-client");
    assert.ok(egress);
    assert.equal(egress.achieved.delivered, delays.length, "delivered packets = packets captured on the far side");
    assert.ok(
      Math.abs(egress.achieved.delayMs.p50 - quantile(delays, 0.5)) < 0.2,
      `summary p50 ${egress.achieved.delayMs.p50} vs capture ${quantile(delays, 0.5)}`,
    );
    assert.ok(
      Math.abs(egress.achieved.delayMs.p99 - quantile(delays, 0.99)) < 0.5,
      `summary p99 ${egress.achieved.delayMs.p99} vs capture ${quantile(delays, 0.99)}`,
    );
    assert.ok(egress.achieved.delayMs.p50 >= 50 && egress.achieved.delayMs.p50 < 50.3);
  };
  return { p50: quantile(added, 0.5), p99: quantile(added, 0.99), rtts, held, check };
}

describe("link emulator with lab hosts", () => {
  it("adds 50 ms each way: UDP RTT p50 within 0.5 ms of 100 ms, p99 within 2 ms; the summary's delay matches captures", async (t) => {
    // A VM whose CPUs the host stops for milliseconds delays any program's timers, not only the
    // emulator's: one SCHED_FIFO control thread per CPU sleeps 1 ms at a time during each
    // measurement. A p99 miss while a control was itself held > 2 ms is measured again (3 tries at
    // most); a miss with quiet controls fails at once. If every try saw the machine held, the p99
    // may miss by no more than the 2 ms plus how long the controls were held: the emulator cannot
    // keep time better than the machine's own timers.
    for (let attempt = 1; ; attempt++) {
      const m = await measureRtt(`rtt${attempt}`);
      const held = m.held;
      t.diagnostic(
        `try ${attempt}: RTT added by the emulator p50 ${m.p50.toFixed(3)} p99 ${m.p99.toFixed(3)} ms; as the probe saw it p50 ${quantile(m.rtts, 0.5).toFixed(3)} p99 ${quantile(m.rtts, 0.99).toFixed(3)} ms; longest control timer lateness ${held.toFixed(2)} ms`,
      );
      assert.ok(Math.abs(m.p50 - 100) <= 0.5, `RTT p50 ${m.p50.toFixed(3)} ms`);
      if (Math.abs(m.p99 - 100) > 2 && held > 2 && attempt < 3) continue;
      const allowed = held > 2 ? 2 + held : 2;
      assert.ok(
        Math.abs(m.p99 - 100) <= allowed,
        `RTT p99 ${m.p99.toFixed(3)} ms, allowed 100 ± ${allowed.toFixed(2)} (control timers held up to ${held.toFixed(2)} ms)`,
      );
      m.check();
      break;
    }
  });

  it("TCP through 20 Mbit/s + 50 ms each way reaches ≥ 90 % of the rate", async () => {
    const em = await startLinkEmulator({
      lab,
      link: "router:client-side",
      spec: { egress: { rate: 20e6, delay: 0.05 }, ingress: { delay: 0.05 }, seed: 2 },
      outDir: join(dir, "tcp"),
      log: "none",
    });
    const sink = nodeIn(lab.hosts.client, TCP_SINK);
    await new Promise((r) => setTimeout(r, 300));
    try {
      await nodeIn(lab.hosts.server, TCP_SOURCE(lab.hosts.client.address, 9)).done;
    } finally {
      setTimeout(() => sink.kill(), 3000).unref();
    }
    const marks = JSON.parse(await sink.done) as [number, number][];
    const summary = await em.stop();
    // Steady state: from 3 s (after slow start) to 8.5 s.
    const at = (t: number) => marks.find((m) => m[0] >= t) as [number, number];
    const [t1, b1] = at(3);
    const [t2, b2] = at(8.5);
    const goodput = ((b2 - b1) * 8) / (t2 - t1) / 1e6;
    const egress = summary.directions.find((d) => d.name === "router-to-client");
    const wire = egress?.achieved.rate.windows.slice(6, 17).map((w) => w.mbps) ?? [];
    assert.ok(
      goodput >= 18,
      `TCP goodput ${goodput.toFixed(2)} Mbit/s < 90 % of 20 (IP rate per 500 ms: ${wire.join(", ")})`,
    );
  });

  it("follows a trace alternating 5 and 30 Mbit/s every 2 s within 3 % per 500 ms window, as a far-side capture shows", async () => {
    const text = traceFromSteps([
      { bitsPerSecond: 5e6, seconds: 2 },
      { bitsPerSecond: 30e6, seconds: 2 },
    ]);
    const em = await startLinkEmulator({
      lab,
      link: "router:client-side",
      spec: { egress: { trace: { text, name: "5-30.trace" } }, seed: 3 },
      outDir: join(dir, "trace"),
    });
    const farTun = em.tun[1];
    const cap = await startCapture({
      netns: farTun?.netns,
      iface: farTun?.tun ?? "",
      filter: "udp port 7200",
      file: join(dir, "trace.pcap"),
      snaplen: 64,
    });
    await nodeIn(lab.hosts.server, UDP_FLOOD(lab.hosts.client.address, 40, 8.6)).done;
    await cap.stop();
    const summary = await em.stop();
    const egress = summary.directions.find((d) => d.name === "router-to-client");
    assert.ok(egress);
    const windowUs = 500_000;
    const bytes: number[] = [];
    const rows = tsharkFields(join(dir, "trace.pcap"), "udp", ["frame.time_epoch", "ip.len"]);
    for (const [t, len] of rows) {
      const w = Math.floor((Number(t) * 1e6 - summary.epochRealtimeUs) / windowUs);
      while (bytes.length <= w) bytes.push(0);
      bytes[w] = (bytes[w] as number) + Number(len);
    }
    assert.equal(rows.length, egress.achieved.delivered, "summary's delivered count = far-side capture");
    // Trace time 0 is the emulator's start; skip the window the sender started in, then 8 s of windows.
    const first = bytes.findIndex((b) => b > 0);
    let checked = 0;
    for (let w = first + 1; w < first + 16 && w + 1 < bytes.length; w++) {
      checked++;
      const asked = egress.achieved.rate.windows[w]?.askedMbps ?? 0;
      const captured = ((bytes[w] ?? 0) * 8) / windowUs;
      const logged = egress.achieved.rate.windows[w]?.mbps ?? 0;
      assert.ok(
        Math.abs(captured - asked) <= 0.03 * asked,
        `window ${w}: captured ${captured.toFixed(3)} Mbit/s, trace ${asked}`,
      );
      assert.ok(
        Math.abs(captured - logged) <= 0.01 * asked,
        `window ${w}: capture ${captured.toFixed(3)} vs summary ${logged}`,
      );
    }
    assert.ok(checked >= 14, `only ${checked} windows checked`);
  });
});
