/**
 * `npm run bench [name…]`: qoelab's benchmarks, each printing the peers' figures from the same
 * run beside ours as ratios. Names: pcap, flows, pesq, collect, gen, ml, emulator, cli (default: all).
 * Figures are medians where a bench repeats; the machine is shared, so read ratios, not absolutes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

type Bench = () => Promise<void>;

function seconds(argv: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "ignore", "ignore"] });
  if (r.error) throw r.error;
  return Number(process.hrtime.bigint() - start) / 1e9;
}

const row = (name: string, pps: number, ratio: number) =>
  console.log(`  ${name.padEnd(44)} ${(pps / 1e6).toFixed(2).padStart(7)} Mpkt/s   qoelab ×${ratio.toFixed(1)}`);

const benches: Record<string, Bench> = {
  async pcap() {
    const { generateBenchCapture } = await import("./generate-capture.ts");
    const { benchPcapRead } = await import("./pcap-read.ts");
    const packets = Number(process.env.QOELAB_BENCH_PACKETS ?? 5_000_000);
    const file = join(tmpdir(), `qoelab-bench-read-${packets}.pcap`);
    if (!existsSync(file)) await generateBenchCapture(file, packets, "pcap");
    execFileSync("cat", [file], { stdio: ["ignore", "ignore", "ignore"] });
    const ours = await benchPcapRead(file);
    const tcpdump = packets / seconds(["sh", "-c", `tcpdump -nn -r '${file}' > /dev/null 2>&1`]);
    const tshark =
      packets /
      seconds(["sh", "-c", `tshark -n -r '${file}' -T fields -e udp.srcport -e tcp.srcport > /dev/null 2>&1`]);
    console.log(`pcap: ${packets} packets, one core`);
    row("qoelab read only", ours.readPacketsPerSecond, 1);
    row("qoelab read + decode to ports", ours.dissectPacketsPerSecond, 1);
    row("tcpdump -nn -r", tcpdump, ours.dissectPacketsPerSecond / tcpdump);
    row("tshark -T fields (ports)", tshark, ours.dissectPacketsPerSecond / tshark);
    if (!process.env.QOELAB_BENCH_KEEP) rmSync(file, { force: true });
  },
  async flows() {
    const { benchFlows } = await import("./flows.ts");
    const result = await benchFlows({});
    console.log(
      `flows: ${result.packets} packets, ${result.flows} flows, parallel identical: ${result.parallelIdentical}`,
    );
    for (const r of result.runs) {
      console.log(
        `  ${r.tool.padEnd(48)} ${r.seconds.toFixed(2).padStart(6)} s  ${(r.packetsPerSecond / 1e6).toFixed(2).padStart(6)} Mpkt/s  ${(r.packetsPerCpuSecond / 1e6).toFixed(2).padStart(6)} Mpkt/CPU-s  ${r.peakRssMiB.toFixed(0).padStart(6)} MiB peak  qoelab ×${r.qoelabSpeedup.toFixed(2)}`,
      );
    }
  },
  async pesq() {
    const { benchPesq, printPesqBench } = await import("./pesq.ts");
    printPesqBench(benchPesq({}));
  },
};

benches.collect = async () => {
  const { benchCollect } = await import("./collect.ts");
  console.log("collect: 4 sessions × 10 s (+2 s warm-up), at 5 Mbit/s and on traces, built-in origin, real chromium");
  const rows = await benchCollect({});
  for (const r of rows) {
    const one = rows.find((o) => o.slots === 1 && o.link === r.link);
    console.log(
      `  ${r.link.padEnd(17)} ${String(r.slots).padStart(2)} slot(s)  ${r.sessions} captured  wall ${r.wallSeconds.toFixed(1)} s  overhead/session (median) ${r.overheadSecondsMedian.toFixed(2)} s  ${r.sessionsPerHour.toFixed(0)} sessions/h${one ? `  ×${(r.sessionsPerHour / one.sessionsPerHour).toFixed(2)} vs 1 slot` : ""}`,
    );
  }
};

benches.gen = async () => {
  const { benchGenUdp, printGenBench } = await import("./gen-udp.ts");
  printGenBench(await benchGenUdp());
};

benches.ml = async () => {
  // bench/ml.ts is a script (it prints its own table beside scikit-learn's).
  const r = spawnSync(process.execPath, ["--import", "tsx", new URL("./ml.ts", import.meta.url).pathname], {
    stdio: "inherit",
  });
  if (r.status !== 0) throw new Error(`bench/ml.ts exited with ${r.status}`);
};

benches.cli = async () => {
  const { benchCliStart, printCliStart } = await import("./cli.ts");
  printCliStart(benchCliStart());
};

benches.emulator = async () => {
  const { benchLinkEmulator, printLinkEmulatorBench } = await import("./link-emulator.ts");
  printLinkEmulatorBench(await benchLinkEmulator());
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(benches);
for (const name of names) {
  const bench = benches[name];
  if (!bench) {
    console.error(`bench: unknown "${name}" (${Object.keys(benches).join(", ")})`);
    process.exitCode = 2;
    continue;
  }
  try {
    await bench();
  } catch (error) {
    console.error(`bench ${name} failed: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
