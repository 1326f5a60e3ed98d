/**
 * Agreement with tshark on captures made here: server — router — client namespaces (netlab),
 * tbf on the router's client link, random loss with iptables `statistic` on the router's FORWARD
 * path, tcpdump on both router links; traffic = three parallel TCP bulk downloads and UDP echo.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startCapture } from "../capture/index.ts";
import { type Lab, labDown, labUp } from "../netlab/index.ts";
import { analyzeCaptureFile } from "./analyze.ts";
import type { FlowsResult, TcpFlowResult } from "./results.ts";
import { tsharkConversations, tsharkPackets } from "./test-support/tshark-oracle.ts";

const LAB = `fl${process.pid % 100000}`;
const dir = mkdtempSync(join(tmpdir(), `qoelab-flows-${process.pid}-`));
const files: Record<string, string> = {};
let lab: Lab | undefined;

const SERVER_JS = `
const net = require("net"), dgram = require("dgram");
const size = Number(process.argv[1]);
net.createServer((s) => { s.on("error", () => {}); s.end(Buffer.alloc(size, 97)); }).listen(5001, "0.0.0.0");
const u = dgram.createSocket("udp4"); u.on("message", (m, r) => u.send(m, r.port, r.address)); u.bind(5002);
console.log("ready");
`;
const CLIENT_JS = `
const net = require("net"), dgram = require("dgram");
const host = process.argv[1];
const get = () => new Promise((res, rej) => { const c = net.connect(5001, host); let n = 0;
  c.on("data", (d) => { n += d.length; }); c.on("end", () => res(n)); c.on("error", rej); });
(async () => {
  const sizes = await Promise.all([get(), get(), get()]);
  const u = dgram.createSocket("udp4"); let echoed = 0; u.on("message", () => { echoed++; });
  for (let i = 0; i < 40; i++) { u.send(Buffer.alloc(100 + i), 5002, host); await new Promise((r) => setTimeout(r, 5)); }
  await new Promise((r) => setTimeout(r, 300)); u.close();
  console.log(JSON.stringify({ sizes, echoed }));
})();
`;

before(async () => {
  lab = await labUp({ name: LAB, router: true });
  const router = lab.hosts.router!;
  const clientSide = router.interfaces.find((l) => l.peer === "client")!;
  const serverSide = router.interfaces.find((l) => l.peer === "server")!;
  const ok = async (host: typeof router, argv: string[]) => {
    const r = await host.exec(argv);
    assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  };
  await ok(router, [
    "tc",
    "qdisc",
    "replace",
    "dev",
    clientSide.iface,
    "root",
    "tbf",
    "rate",
    "40mbit",
    "burst",
    "32kb",
    "latency",
    "60ms",
  ]);
  await ok(router, [
    "iptables",
    "-A",
    "FORWARD",
    "-p",
    "tcp",
    "-m",
    "statistic",
    "--mode",
    "random",
    "--probability",
    "0.015",
    "-j",
    "DROP",
  ]);
  files.client = join(dir, "client-side.pcap");
  files.server = join(dir, "server-side.pcap");
  const caps = [
    await startCapture({ netns: router.netns, iface: clientSide.iface, file: files.client }),
    await startCapture({ netns: router.netns, iface: serverSide.iface, file: files.server }),
  ];
  const server = lab.hosts.server.spawn([process.execPath, "-e", SERVER_JS, String(1_500_000)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once("data", () => resolve());
      server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    const client = await lab.hosts.client.exec([process.execPath, "-e", CLIENT_JS, lab.hosts.server.address], {
      timeoutMs: 60_000,
    });
    assert.equal(client.code, 0, client.stderr);
    const report = JSON.parse(client.stdout) as { sizes: number[]; echoed: number };
    assert.deepEqual(report.sizes, [1_500_000, 1_500_000, 1_500_000]);
  } finally {
    server.kill("SIGTERM");
    for (const c of caps) await c.stop();
  }
});

after(async () => {
  await labDown(LAB);
  if (process.env.QOELAB_KEEP_FLOWS_LAB) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
});

function endpoint(flow: TcpFlowResult, client: boolean): string {
  const e = client ? flow.client : flow.server;
  return `${e.address}:${e.port}`;
}

for (const side of ["client", "server"] as const) {
  describe(`capture on the router's ${side}-side link`, () => {
    let result: FlowsResult;
    let tcpFlows: TcpFlowResult[];
    /** The same capture with every segment tracked (tstat max_seg_per_quad = 0). */
    let everyHole: TcpFlowResult[];
    before(async () => {
      result = await analyzeCaptureFile(files[side]!, { workers: 1, series: true });
      tcpFlows = result.flows.filter((f): f is TcpFlowResult => f.proto === "tcp");
      const all = await analyzeCaptureFile(files[side]!, { workers: 1, series: true, tcpTrackAllSegments: true });
      everyHole = all.flows.filter((f): f is TcpFlowResult => f.proto === "tcp");
    });

    it("sees three bulk TCP connections and one UDP flow", () => {
      assert.equal(tcpFlows.length, 3);
      assert.equal(result.flows.filter((f) => f.proto === "udp").length, 1);
      for (const [i, f] of tcpFlows.entries()) {
        assert.equal(f.handshake, true);
        assert.equal(f.state, "complete");
        assert.equal(f.tstatLog, "log_tcp_complete");
        // Every byte is unique when every hole is tracked; tstat's default may count an old
        // hole as seen (its late fill as a retransmission): unique + retransmitted = all bytes.
        assert.equal(everyHole[i]!.s2c.uniqueBytes, 1_500_000);
        assert.equal(f.s2c.uniqueBytes + f.s2c.retxBytes, f.s2c.dataBytes);
        assert.ok(f.s2c.uniqueBytes <= 1_500_000);
      }
      const loss = tcpFlows.reduce((n, f) => n + f.s2c.retxPackets + f.s2c.outOfSequencePackets, 0);
      assert.ok(loss > 0, "the lossy path caused retransmissions");
    });

    it("has per-connection packets and bytes equal to tshark conv,tcp", () => {
      const conv = tsharkConversations(files[side]!);
      assert.equal(conv.length, tcpFlows.length);
      const packets = tsharkPackets(files[side]!);
      for (const row of conv) {
        const flow = tcpFlows.find(
          (f) =>
            (endpoint(f, true) === row.a && endpoint(f, false) === row.b) ||
            (endpoint(f, true) === row.b && endpoint(f, false) === row.a),
        );
        assert.ok(flow, `flow ${row.a} <-> ${row.b} found`);
        const aIsClient = endpoint(flow, true) === row.a;
        const aToB = aIsClient ? flow.c2s : flow.s2c;
        const bToA = aIsClient ? flow.s2c : flow.c2s;
        assert.equal(aToB.packets, row.framesAtoB);
        assert.equal(bToA.packets, row.framesBtoA);
        // conv prints bytes rounded down to its unit; check the display and the exact per-frame sum.
        assert.equal(Math.floor(aToB.wireBytes / row.bytesAtoB.unit), row.bytesAtoB.value);
        assert.equal(Math.floor(bToA.wireBytes / row.bytesBtoA.unit), row.bytesBtoA.value);
        const exact = packets.filter(
          (p) => p.src === row.a && packets.some((q) => q.stream === p.stream && q.src === row.b),
        );
        assert.equal(
          aToB.wireBytes,
          exact.reduce((n, p) => n + p.frameLen, 0),
        );
      }
    });

    it("flags the packets tshark flags, in both tracking modes", () => {
      // tstat counts a packet that both repeats and fills in pkts_retx and pkts_ooo; the series
      // counts each flagged packet once: those are tshark's retransmission / out-of-order frames.
      const packets = tsharkPackets(files[side]!);
      const flagged = (f: TcpFlowResult) =>
        f.series!.retransmissions.reduce((a, b) => a + b, 0) + f.series!.outOfSequence.reduce((a, b) => a + b, 0);
      for (const [i, flow] of tcpFlows.entries()) {
        const server = endpoint(flow, false);
        const client = endpoint(flow, true);
        const stream = packets.find(
          (p) => p.src === client && p.tcpLen >= 0 && packets.some((q) => q.src === server && q.stream === p.stream),
        )!.stream;
        const anomalous = packets.filter(
          (p) => p.stream === stream && (p.retransmission || p.fastRetransmission || p.spurious || p.outOfOrder),
        );
        assert.equal(flagged(flow), anomalous.length, "tstat's default");
        assert.equal(flagged(everyHole[i]!), anomalous.length, "every hole");
        assert.ok(flow.s2c.rtt.count > 0 && flow.c2s.rtt.count > 0, "RTT samples, the handshake's included");
      }
    });

    it("gives identical results with two worker threads", async () => {
      const parallel = await analyzeCaptureFile(files[side]!, { workers: 2, series: true });
      assert.deepEqual(parallel, result);
    });
  });
}
