/**
 * Flow-engine benchmark: one generated pcap (≥ 10 M packets, 96-byte snaplen, hundreds of TCP
 * bulk flows with retransmissions and holes), analysed by qoelab flows on one thread and with two
 * shards (the reading thread and one worker), beside tstat 3.3 (when `TSTAT_BIN` names its
 * binary), `tshark -q -z conv,tcp` and `tcpdump -nn -r` on the same file. Each tool runs in its own
 * process under /usr/bin/time for wall time, CPU time and peak RSS.
 *
 * qoelab runs as the installed command does: JavaScript compiled from the sources (here bundled
 * with esbuild into a temporary folder, so the figures follow the working tree, never a stale
 * dist/). The same runs under tsx (`npm run qoelab`, tests) are printed too: tsx's loader adds
 * about half a second of startup and 35 MB of RSS.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeCaptureFile } from "../src/flows/index.ts";

export interface FlowsBenchRun {
  tool: string;
  seconds: number;
  /** CPU time (user + system, all threads). The machine is shared: this is the steadier figure. */
  cpuSeconds: number;
  peakRssMiB: number;
  packetsPerSecond: number;
  packetsPerCpuSecond: number;
  /** qoelab single-thread (process) rate ÷ this tool's rate (>1: qoelab is faster). */
  qoelabSpeedup: number;
}

export interface FlowsBenchResult {
  file: string;
  packets: number;
  flows: number;
  runs: FlowsBenchRun[];
  /** Every parallel and tsx result identical to the compiled single-threaded one (SHA-256 of the JSON). */
  parallelIdentical: boolean;
}

const SNAPLEN = 96;

/** xorshift32: deterministic data for a reproducible file. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

interface GenFlow {
  client: number;
  cport: number;
  server: number;
  state: number; // 0 syn, 1 synack, 2 ack, 3 data, 4 fin c, 5 fin s, 6 last ack
  cseq: number;
  sseq: number;
  sent: number;
  left: number;
  hole: number; // seq of a skipped segment to fill later, -1 none
}

/** Writes `packets` packets of TCP bulk transfers over `flows` concurrent connections. */
export function generateFlowsCapture(path: string, packets: number, flows = 400): number {
  const random = rng(0x51ed);
  const fd = openSync(path, "w");
  const buffer = new Uint8Array(8 * 1024 * 1024);
  const view = new DataView(buffer.buffer);
  let pos = 0;
  // Global header: µs pcap, snaplen 96, Ethernet.
  view.setUint32(0, 0xa1b2c3d4, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, SNAPLEN, true);
  view.setUint32(20, 1, true);
  pos = 24;
  let nextPort = 20000;
  let created = 0;
  const newFlow = (): GenFlow => {
    created++;
    nextPort = nextPort >= 65000 ? 20000 : nextPort + 1;
    return {
      client: (10 << 24) | (77 << 16) | (1 << 8) | (1 + Math.floor(random() * 200)),
      cport: nextPort,
      server: (10 << 24) | (77 << 16) | (2 << 8) | (1 + Math.floor(random() * 20)),
      state: 0,
      cseq: Math.floor(random() * 4294967296),
      sseq: Math.floor(random() * 4294967296),
      sent: 0,
      left: 2000 + Math.floor(random() * 40000),
      hole: -1,
    };
  };
  const active: GenFlow[] = [];
  for (let i = 0; i < flows; i++) active.push(newFlow());
  const t0 = 1_700_000_000;
  let ipId = 0;
  const emit = (
    f: GenFlow,
    fromClient: boolean,
    flags: number,
    seq: number,
    ack: number,
    payload: number,
    n: number,
  ) => {
    if (pos + 16 + SNAPLEN > buffer.length) {
      writeSync(fd, buffer, 0, pos);
      pos = 0;
    }
    const frameLength = 14 + 20 + 32 + payload;
    const caplen = Math.min(frameLength, SNAPLEN);
    const usec = n * 2; // 2 µs apart
    view.setUint32(pos, t0 + Math.floor(usec / 1e6), true);
    view.setUint32(pos + 4, usec % 1e6, true);
    view.setUint32(pos + 8, caplen, true);
    view.setUint32(pos + 12, frameLength, true);
    const p = pos + 16;
    buffer.fill(0, p, p + caplen);
    buffer[p] = 2;
    buffer[p + 5] = fromClient ? 1 : 2;
    buffer[p + 6] = 2;
    buffer[p + 11] = fromClient ? 2 : 1;
    buffer[p + 12] = 0x08;
    const ip = p + 14;
    buffer[ip] = 0x45;
    view.setUint16(ip + 2, frameLength - 14);
    view.setUint16(ip + 4, ipId++ & 0xffff);
    buffer[ip + 6] = 0x40;
    buffer[ip + 8] = fromClient ? 64 : 60;
    buffer[ip + 9] = 6;
    view.setUint32(ip + 12, fromClient ? f.client : f.server);
    view.setUint32(ip + 16, fromClient ? f.server : f.client);
    const tcp = ip + 20;
    view.setUint16(tcp, fromClient ? f.cport : 443);
    view.setUint16(tcp + 2, fromClient ? 443 : f.cport);
    view.setUint32(tcp + 4, seq >>> 0);
    view.setUint32(tcp + 8, ack >>> 0);
    buffer[tcp + 12] = 8 << 4;
    buffer[tcp + 13] = flags;
    view.setUint16(tcp + 14, 2000);
    // Options: NOP NOP TS (12 bytes), as Linux sends on established connections.
    buffer[tcp + 20] = 1;
    buffer[tcp + 21] = 1;
    buffer[tcp + 22] = 8;
    buffer[tcp + 23] = 10;
    view.setUint32(tcp + 24, n >>> 0);
    pos += 16 + caplen;
  };
  const SYN = 2;
  const ACK = 16;
  const FIN = 1;
  const MSS = 1448;
  for (let n = 0; n < packets; n++) {
    const k = Math.floor(random() * active.length);
    const f = active[k]!;
    switch (f.state) {
      case 0:
        emit(f, true, SYN, f.cseq, 0, 0, n);
        f.cseq = (f.cseq + 1) >>> 0;
        f.state = 1;
        break;
      case 1:
        emit(f, false, SYN | ACK, f.sseq, f.cseq, 0, n);
        f.sseq = (f.sseq + 1) >>> 0;
        f.state = 2;
        break;
      case 2:
        emit(f, true, ACK, f.cseq, f.sseq, 0, n);
        f.state = 3;
        break;
      case 3: {
        const r = random();
        if (f.sent % 3 === 2) {
          emit(f, true, ACK, f.cseq, f.hole >= 0 ? f.hole : f.sseq, 0, n); // cumulative ACK (stuck at a hole)
        } else if (r < 0.01 && f.sent > 10) {
          emit(f, false, ACK, (f.sseq - MSS * (1 + Math.floor(random() * 4))) >>> 0, f.cseq, MSS, n); // retransmission
        } else if (r < 0.015 && f.hole < 0) {
          f.hole = f.sseq; // lost before the probe: skip one segment
          f.sseq = (f.sseq + MSS) >>> 0;
          emit(f, false, ACK, f.sseq, f.cseq, MSS, n);
          f.sseq = (f.sseq + MSS) >>> 0;
        } else if (f.hole >= 0 && r < 0.2) {
          emit(f, false, ACK, f.hole, f.cseq, MSS, n); // fills the hole
          f.hole = -1;
        } else {
          emit(f, false, ACK, f.sseq, f.cseq, MSS, n);
          f.sseq = (f.sseq + MSS) >>> 0;
        }
        f.sent++;
        if (--f.left <= 0 && f.hole < 0) f.state = 4;
        break;
      }
      case 4:
        emit(f, true, FIN | ACK, f.cseq, f.sseq, 0, n);
        f.cseq = (f.cseq + 1) >>> 0;
        f.state = 5;
        break;
      case 5:
        emit(f, false, FIN | ACK, f.sseq, f.cseq, 0, n);
        f.sseq = (f.sseq + 1) >>> 0;
        f.state = 6;
        break;
      default:
        emit(f, true, ACK, f.cseq, f.sseq, 0, n);
        active[k] = newFlow();
    }
  }
  writeSync(fd, buffer, 0, pos);
  closeSync(fd);
  return created;
}

function timed(argv: string[]): { seconds: number; cpuSeconds: number; peakRssMiB: number; stdout: string } {
  const r = spawnSync("/usr/bin/time", ["-f", "QOELAB_TIME %e %M %U %S", ...argv], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed: ${r.stderr.slice(-500)}`);
  const m = /QOELAB_TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)/.exec(r.stderr);
  if (!m) throw new Error(`no timing from /usr/bin/time: ${r.stderr.slice(-300)}`);
  return {
    seconds: Number(m[1]),
    cpuSeconds: Number(m[3]) + Number(m[4]),
    peakRssMiB: Number(m[2]) / 1024,
    stdout: r.stdout,
  };
}

/** Child mode: analyse and print `packets flows sha256 seconds cpu-seconds` (CPU of all threads). */
async function child(file: string, workers: number): Promise<void> {
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const result = await analyzeCaptureFile(file, { workers });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  const hash = createHash("sha256").update(JSON.stringify(result)).digest("hex");
  process.stdout.write(
    `${result.capture.packets} ${result.flows.length} ${hash} ${seconds} ${(used.user + used.system) / 1e6}\n`,
  );
}

/**
 * This file and the shard worker compiled to one folder (the worker is found beside its caller as
 * `flow-worker.js`, as in dist/).
 */
async function compileChild(outdir: string): Promise<string> {
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: {
      "flows-bench": fileURLToPath(import.meta.url),
      "flow-worker": fileURLToPath(new URL("../src/flows/flow-worker.ts", import.meta.url)),
    },
    outdir,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "error",
  });
  return join(outdir, "flows-bench.js");
}

export async function benchFlows(
  options: { packets?: number; file?: string; keep?: boolean; tshark?: boolean; tsx?: boolean } = {},
): Promise<FlowsBenchResult> {
  const packets = options.packets ?? 10_000_000;
  const file = options.file ?? join(tmpdir(), `qoelab-bench-flows-${packets}.pcap`);
  const expectedSize = 24 + packets * (16 + SNAPLEN); // upper bound; ACKs are shorter
  if (!existsSync(file) || statSync(file).size > expectedSize) generateFlowsCapture(file, packets);
  const outdir = mkdtempSync(join(tmpdir(), "qoelab-bench-flows-js-"));
  try {
    const compiled = await compileChild(outdir);
    execFileSync("cat", [file], { stdio: ["ignore", "ignore", "ignore"] }); // page cache warm
    const node = [process.execPath, compiled, "--child", file];
    const single = timed([...node, "1"]);
    const parallel = timed([...node, "2"]);
    const [count, flows, hashSingle, innerSingle, cpuSingle] = single.stdout.trim().split(" ");
    const [, , hashParallel, innerParallel, cpuParallel] = parallel.stdout.trim().split(" ");
    let identical = hashSingle === hashParallel;
    const n = Number(count);
    const runs: FlowsBenchRun[] = [];
    const add = (tool: string, seconds: number, cpuSeconds: number, peakRssMiB: number) =>
      runs.push({
        tool,
        seconds,
        cpuSeconds,
        peakRssMiB,
        packetsPerSecond: n / seconds,
        packetsPerCpuSecond: n / cpuSeconds,
        qoelabSpeedup: 0,
      });
    add("qoelab flows (1 thread, analysis only)", Number(innerSingle), Number(cpuSingle), single.peakRssMiB);
    add("qoelab flows (2 shards, analysis only)", Number(innerParallel), Number(cpuParallel), parallel.peakRssMiB);
    add("qoelab flows (1 thread, process incl. startup)", single.seconds, single.cpuSeconds, single.peakRssMiB);
    add("qoelab flows (2 shards, process incl. startup)", parallel.seconds, parallel.cpuSeconds, parallel.peakRssMiB);
    if (options.tsx !== false) {
      const self = fileURLToPath(import.meta.url);
      for (const shards of [1, 2]) {
        const r = timed([process.execPath, "--import", "tsx", self, "--child", file, String(shards)]);
        identical &&= r.stdout.trim().split(" ")[2] === hashSingle;
        const what = shards === 1 ? "1 thread" : "2 shards";
        add(`qoelab flows under tsx (${what}, process)`, r.seconds, r.cpuSeconds, r.peakRssMiB);
      }
    }
    const tstatBin = process.env.TSTAT_BIN;
    if (tstatBin) {
      const logs = mkdtempSync(join(tmpdir(), "qoelab-bench-tstat-"));
      try {
        const tstat = timed([tstatBin, "-s", logs, file]);
        add("tstat -s DIR (default configuration)", tstat.seconds, tstat.cpuSeconds, tstat.peakRssMiB);
      } finally {
        rmSync(logs, { recursive: true, force: true });
      }
    }
    const tcpdump = timed(["sh", "-c", `tcpdump -nn -r '${file}' > /dev/null 2>&1`]);
    add("tcpdump -nn -r", tcpdump.seconds, tcpdump.cpuSeconds, tcpdump.peakRssMiB);
    if (options.tshark !== false) {
      const tshark = timed(["tshark", "-r", file, "-q", "-z", "conv,tcp", "-o", "tcp.desegment_tcp_streams:FALSE"]);
      add("tshark -q -z conv,tcp", tshark.seconds, tshark.cpuSeconds, tshark.peakRssMiB);
    }
    const reference = runs[2]!.packetsPerSecond;
    for (const r of runs) r.qoelabSpeedup = reference / r.packetsPerSecond;
    return { file, packets: n, flows: Number(flows), runs, parallelIdentical: identical };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
    if (!options.keep && !options.file) rmSync(file, { force: true });
  }
}

const invoked = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (invoked && process.argv[2] === "--child") {
  await child(process.argv[3]!, Number(process.argv[4]));
} else if (invoked) {
  const packets = process.argv[2] ? Number(process.argv[2]) : undefined;
  const result = await benchFlows({
    ...(packets ? { packets } : {}),
    ...(process.env.QOELAB_BENCH_FILE ? { file: process.env.QOELAB_BENCH_FILE } : {}),
    keep: process.env.QOELAB_BENCH_KEEP === "1",
    tshark: process.env.QOELAB_BENCH_TSHARK !== "0",
  });
  console.log(
    `flows: ${result.packets} packets, ${result.flows} flows, parallel identical: ${result.parallelIdentical}`,
  );
  for (const r of result.runs) {
    console.log(
      `  ${r.tool.padEnd(50)} ${(r.packetsPerSecond / 1e6).toFixed(2).padStart(6)} Mpkt/s  ${(r.packetsPerCpuSecond / 1e6).toFixed(2).padStart(6)} Mpkt/CPU-s  ${r.seconds.toFixed(2).padStart(7)} s  ${r.peakRssMiB.toFixed(0).padStart(6)} MiB  qoelab×${r.qoelabSpeedup.toFixed(2)}`,
    );
  }
}
