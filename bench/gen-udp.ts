/**
 * Benchmark of `qoelab gen udp` beside Scapy (Debian's python3-scapy), in one lab run:
 *  1. timing error at 50 pps over N packets (default 2 000), measured from a tcpdump capture with
 *     nanosecond timestamps on the sender's interface: error_i = t_i − (t_0' + i·20 ms), where t_0'
 *     is the median offset; mean and p99 of |error|, and drift (fitted slope × duration).
 *     Scapy runs with one reused L3 socket and the same deadline loop (sleep, then spin).
 *  2. maximum packets/s: ours (`--rate max`) and Scapy's send loop on its reused socket.
 * Run: `npx tsx bench/gen-udp.ts` (root; tcpdump and python3-scapy installed).
 */
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCapture } from "../src/capture/index.ts";
import { labDown, labUp, qoelabCommand } from "../src/netlab/index.ts";

export interface TimingFigures {
  packets: number;
  meanErrorUs: number;
  p99ErrorUs: number;
  maxErrorUs: number;
  driftUs: number;
}

export interface GenBenchResult {
  qoelab: TimingFigures;
  scapy: TimingFigures;
  qoelabMaxPps: number;
  scapyMaxPps: number;
}

/** Timestamps (s, as doubles relative to the first packet) from a pcap file of either precision. */
function pcapTimes(file: string): number[] {
  const data = readFileSync(file);
  const magic = data.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  const times: number[] = [];
  let first = -1;
  for (let off = 24; off + 16 <= data.length; ) {
    const sec = data.readUInt32LE(off);
    const frac = data.readUInt32LE(off + 4);
    const incl = data.readUInt32LE(off + 8);
    if (first < 0) first = sec;
    times.push(sec - first + frac / (nano ? 1e9 : 1e6));
    off += 16 + incl;
  }
  return times;
}

export function timingFromTimes(times: number[], periodS: number): TimingFigures {
  const n = times.length;
  const offsets = times.map((t, i) => t - i * periodS);
  const sorted = [...offsets].sort((a, b) => a - b);
  const median = sorted[Math.floor(n / 2)] ?? 0;
  const errors = offsets.map((o) => Math.abs(o - median) * 1e6).sort((a, b) => a - b);
  // Least-squares slope of the offsets against i: the clock of the sender runs fast or slow.
  const meanI = (n - 1) / 2;
  const meanO = offsets.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  offsets.forEach((o, i) => {
    num += (i - meanI) * (o - meanO);
    den += (i - meanI) ** 2;
  });
  const slope = den ? num / den : 0;
  return {
    packets: n,
    meanErrorUs: errors.reduce((a, b) => a + b, 0) / n,
    p99ErrorUs: errors[Math.min(n - 1, Math.ceil(0.99 * n) - 1)] ?? 0,
    maxErrorUs: errors[n - 1] ?? 0,
    driftUs: slope * (n - 1) * 1e6,
  };
}

const SCAPY = String.raw`
import sys, time
from scapy.all import conf, IP, UDP, Raw
dst, port, size, count, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
s = conf.L3socket()
pkt = IP(dst=dst)/UDP(sport=40000, dport=port)/Raw(b"\x00" * size)
raw = bytes(pkt)
if rate <= 0:
    t0 = time.perf_counter()
    for i in range(count):
        s.send(pkt)
    dt = time.perf_counter() - t0
    print(count / dt)
else:
    period = 1.0 / rate
    t0 = time.perf_counter() + 0.01
    for i in range(count):
        deadline = t0 + i * period
        ahead = deadline - time.perf_counter()
        if ahead > 0.0015:
            time.sleep(ahead - 0.0015)
        while time.perf_counter() < deadline:
            pass
        s.send(pkt)
    print("done")
`;

export async function benchGenUdp(options: { packets?: number; maxPackets?: number } = {}): Promise<GenBenchResult> {
  const packets = options.packets ?? Number(process.env.QOELAB_BENCH_GEN_PACKETS ?? 2000);
  const maxPackets = options.maxPackets ?? 300_000;
  const name = `bg${(process.pid % 100000).toString(36)}`;
  const dir = join(tmpdir(), `qoelab-bench-gen-${process.pid}`);
  const lab = await labUp({ name });
  const { client, server } = lab.hosts;
  try {
    // A silent sink: no ICMP port unreachable (it would fail the next send on a connected socket).
    await server.exec(["iptables", "-A", "INPUT", "-p", "udp", "-j", "DROP"]);
    const timed = async (label: string, port: number, argv: string[]): Promise<TimingFigures> => {
      const file = join(dir, `${label}.pcap`);
      await client.exec(["mkdir", "-p", dir]);
      const capture = await startCapture({
        netns: client.netns,
        iface: client.iface,
        filter: `udp dst port ${port}`,
        file,
        nanoseconds: true,
      });
      const r = await client.exec(argv);
      if (r.code !== 0) throw new Error(`${label}: ${r.stderr}`);
      await capture.stop();
      return timingFromTimes(pcapTimes(file), 1 / 50);
    };
    const ours = await timed(
      "qoelab",
      9001,
      qoelabCommand([
        "gen",
        "udp",
        "--to",
        `${server.address}:9001`,
        "--rate",
        "50pps",
        "--count",
        String(packets),
        "--size",
        "172",
      ]),
    );
    const scapy = await timed("scapy", 9002, [
      "/usr/bin/python3",
      "-c",
      SCAPY,
      server.address,
      "9002",
      "172",
      String(packets),
      "50",
    ]);
    const max = await client.exec(
      qoelabCommand([
        "gen",
        "udp",
        "--to",
        `${server.address}:9003`,
        "--rate",
        "max",
        "--count",
        String(maxPackets),
        "--size",
        "64",
        "--json",
      ]),
    );
    const qoelabMaxPps = (JSON.parse(max.stdout) as { achievedPps: number }).achievedPps;
    const scapyMax = await client.exec(["/usr/bin/python3", "-c", SCAPY, server.address, "9004", "64", "20000", "0"]);
    const scapyMaxPps = Number(scapyMax.stdout.trim());
    return { qoelab: ours, scapy, qoelabMaxPps, scapyMaxPps };
  } finally {
    await labDown(name);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printGenBench(r: GenBenchResult): void {
  const line = (label: string, t: TimingFigures) =>
    `  ${label.padEnd(30)} mean ${t.meanErrorUs.toFixed(1).padStart(8)} µs   p99 ${t.p99ErrorUs.toFixed(1).padStart(8)} µs   max ${t.maxErrorUs.toFixed(1).padStart(8)} µs   drift ${t.driftUs.toFixed(1).padStart(7)} µs`;
  console.log(`gen udp: timing at 50 pps over ${r.qoelab.packets} packets (tcpdump, ns timestamps, sender interface)`);
  console.log(line("qoelab gen udp", r.qoelab));
  console.log(line("scapy (reused socket, deadline)", r.scapy));
  console.log(`  p99 ratio scapy/qoelab ×${(r.scapy.p99ErrorUs / r.qoelab.p99ErrorUs).toFixed(1)}`);
  console.log("gen udp: maximum send rate, 64-byte payload");
  console.log(`  qoelab gen udp --rate max      ${Math.round(r.qoelabMaxPps).toString().padStart(9)} pkt/s`);
  console.log(
    `  scapy send loop (L3 socket)    ${Math.round(r.scapyMaxPps).toString().padStart(9)} pkt/s   qoelab ×${(r.qoelabMaxPps / r.scapyMaxPps).toFixed(1)}`,
  );
}

const invokedDirectly = process.argv[1]?.endsWith("gen-udp.ts") ?? false;
if (invokedDirectly) printGenBench(await benchGenUdp());
