/**
 * Link emulator benchmark (root, lab namespaces): forwarding rate without limits, per-packet timing
 * error and CPU at 20 Mbit/s + 50 ms, and rate accuracy beside the kernel's tbf on the same link.
 * Not a test: figures depend on the machine and its load.
 */
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Lab, type LabHost, labDown, labUp, run, startLinkEmulator } from "../src/netlab/index.ts";
import { loadWakeProbeAddon } from "../src/netlab/link-emulator/link-emulator-addon.ts";

export interface LinkEmulatorBench {
  vethGbps: number;
  emulatorGbps: number;
  timingErrorUs: { p50: number; p99: number };
  cpuShareOfOneCore: number;
  emulatorGoodputMbps: number;
  emulatorIpRateMbps: number;
  tbfGoodputMbps: number;
  /** Context switches of the release threads per second at 20 Mbit/s (each one a sleep and a wake-up). */
  releaseWakeupsPerSecond: number;
  /** This machine's bare timer wake-up, measured in the same run: CPU µs each, lateness mean and p99 µs. */
  bareWake: { cpuUs: number; meanLateUs: number; p99LateUs: number };
}

/** Voluntary + involuntary context switches of the process's threads named qoelab-release. */
function releaseSwitches(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
    if (!/^Name:\s*qoelab-release$/m.test(status)) continue;
    for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s*(\d+)$/gm)) total += Number(m[1]);
  }
  return total;
}

const SINK = `let bytes=0;const t0=performance.now();let first=0;
require("node:net").createServer((c)=>{c.on("data",(d)=>{if(!first)first=performance.now();bytes+=d.length});c.on("end",()=>{process.stdout.write(JSON.stringify({bytes,seconds:(performance.now()-first)/1000}));process.exit(0)})}).listen(7500);`;
const SOURCE = (to: string, seconds: number) => `
const c=require("node:net").connect(7500,"${to}");const b=Buffer.alloc(65536);const t0=performance.now();
function pump(){while((performance.now()-t0)/1000<${seconds}){if(!c.write(b)){c.once("drain",pump);return;}}c.end();}
c.on("connect",pump);c.on("close",()=>process.exit(0));`;

async function tcp(lab: Lab, seconds: number): Promise<number> {
  const sinkHost: LabHost = lab.hosts.server;
  const sink = sinkHost.spawn([process.execPath, "-e", SINK], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const exited = new Promise((r) => sink.on("exit", r));
  sink.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((r) => setTimeout(r, 300));
  const source = await lab.hosts.client.exec([process.execPath, "-e", SOURCE(sinkHost.address, seconds)]);
  if (source.code !== 0) throw new Error(`TCP source failed: ${source.stderr}`);
  await exited;
  if (!out) throw new Error("TCP sink printed nothing");
  const { bytes, seconds: s } = JSON.parse(out) as { bytes: number; seconds: number };
  return (bytes * 8) / s;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface LinkEmulatorBenchOptions {
  /** The release threads' spin before each deadline (µs; default the emulator's). */
  spinUs?: number;
}

export async function benchLinkEmulator(options: LinkEmulatorBenchOptions = {}): Promise<LinkEmulatorBench> {
  const tuning = options.spinUs !== undefined ? { spinUs: options.spinUs } : {};
  const name = `eb${(process.pid % 100000).toString(36)}`;
  const lab = await labUp({ name });
  const out = join(tmpdir(), `qoelab-bench-emu-${process.pid}`);
  try {
    const veth = await tcp(lab, 4);
    let em = await startLinkEmulator({
      lab,
      link: "client",
      spec: {},
      outDir: join(out, "free"),
      log: "none",
      ...tuning,
    });
    const free = await tcp(lab, 4);
    await em.stop();

    em = await startLinkEmulator({
      lab,
      link: "client",
      spec: { egress: { rate: 20e6, delay: 0.05 }, ingress: { delay: 0.05 } },
      outDir: join(out, "shaped"),
      ...tuning,
    });
    const cpu0 = cpuSeconds(em.pid);
    const switches0 = releaseSwitches(em.pid);
    const t0 = performance.now();
    const goodput = await tcp(lab, 8);
    const elapsed = (performance.now() - t0) / 1000;
    const cpuShare = (cpuSeconds(em.pid) - cpu0) / elapsed;
    const releaseWakeupsPerSecond = (releaseSwitches(em.pid) - switches0) / elapsed;
    const summary = await em.stop();
    const egress = summary.directions.find((d) => d.name === "client-to-server");

    const iface = lab.hosts.client.iface;
    await run(
      ["tc", "qdisc", "add", "dev", iface, "root", "tbf", "rate", "20mbit", "burst", "32kb", "latency", "400ms"],
      {
        netns: lab.hosts.client.netns,
      },
    );
    const tbf = await tcp(lab, 8);
    const [cpuUs, meanLateUs, p99LateUs] = loadWakeProbeAddon().timerWakeCost(3000, 600, 10);
    return {
      releaseWakeupsPerSecond,
      bareWake: { cpuUs, meanLateUs, p99LateUs },
      vethGbps: veth / 1e9,
      emulatorGbps: free / 1e9,
      timingErrorUs: { p50: egress?.achieved.timingErrorUs.p50 ?? 0, p99: egress?.achieved.timingErrorUs.p99 ?? 0 },
      cpuShareOfOneCore: cpuShare,
      emulatorGoodputMbps: goodput / 1e6,
      emulatorIpRateMbps: egress?.achieved.rate.meanMbps ?? 0,
      tbfGoodputMbps: tbf / 1e6,
    };
  } finally {
    await labDown(name);
  }
}

export function printLinkEmulatorBench(b: LinkEmulatorBench): void {
  console.log("link emulator (TUN pair, userspace), two-host lab, one TCP stream");
  console.log(
    `  forwarding without limits      ${b.emulatorGbps.toFixed(2)} Gbit/s   (veth alone ${b.vethGbps.toFixed(2)}, ×${(b.emulatorGbps / b.vethGbps).toFixed(2)})`,
  );
  console.log(
    `  timing error at 20 Mbit/s+50ms p50 ${b.timingErrorUs.p50.toFixed(1)} µs  p99 ${b.timingErrorUs.p99.toFixed(1)} µs`,
  );
  console.log(`  CPU at 20 Mbit/s               ${(b.cpuShareOfOneCore * 100).toFixed(1)} % of one core`);
  const floor = (b.releaseWakeupsPerSecond * b.bareWake.cpuUs) / 1e6;
  console.log(
    `  this machine's bare timer wake-up (600 µs sleeps, same run): ${b.bareWake.cpuUs.toFixed(1)} µs CPU, late mean ${b.bareWake.meanLateUs.toFixed(1)} µs, p99 ${b.bareWake.p99LateUs.toFixed(1)} µs`,
  );
  console.log(
    `  release threads woke ${b.releaseWakeupsPerSecond.toFixed(0)}/s: the wake-ups alone cost ${(floor * 100).toFixed(1)} % of one core (${((floor / b.cpuShareOfOneCore) * 100).toFixed(0)} % of the emulator's CPU)`,
  );
  console.log(
    `  20 Mbit/s rate: emulator goodput ${b.emulatorGoodputMbps.toFixed(2)} Mbit/s (IP ${b.emulatorIpRateMbps.toFixed(2)}), tbf goodput ${b.tbfGoodputMbps.toFixed(2)} Mbit/s (no delay), ratio ×${(b.emulatorGoodputMbps / b.tbfGoodputMbps).toFixed(3)}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Where the release threads run: the emulator's own QOELAB_EMULATOR_CPU (none, auto or a CPU).
  const spin = process.env.QOELAB_BENCH_SPIN_US;
  printLinkEmulatorBench(await benchLinkEmulator(spin !== undefined ? { spinUs: Number(spin) } : {}));
}
