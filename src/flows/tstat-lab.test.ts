/**
 * tstat's default accounting on a capture taken after the loss point, built here as the oracle's
 * client-side-loss1.pcap was (../shared/data/tstat-oracle/README.md): server — router — client
 * namespaces, the router shapes server → client with tbf (6 Mbit/s, 400 ms queue) and drops 2 % of
 * the server's TCP packets with iptables' statistic match, tcpdump (96-byte snaplen) on the client.
 * Every loss is a hole that a later retransmission fills. The oracle capture itself is compared
 * with tstat's logs column by column in tstat-oracle.test.ts; here the same rules must hold on a
 * fresh capture: tracking every hole, nothing is seen twice (retx 0, every byte unique, fills are
 * out of order); with tstat's 100 records per quadrant, an old hole merged away makes its fill a
 * retransmission instead, and the packets flagged stay the same ones. A live run may also carry a
 * segment that really arrived twice (a spurious retransmission): tshark's fields say how many, and
 * the rules above are checked with that count.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startCapture } from "../capture/index.ts";
import { type Lab, labDown, labUp } from "../netlab/index.ts";
import { analyzeCaptureFile } from "./analyze.ts";
import type { TcpFlowResult } from "./results.ts";

const LAB = `ts${process.pid % 100000}`;
const SIZE = 12_000_000;
const dir = mkdtempSync(join(tmpdir(), `qoelab-tstat-lab-${process.pid}-`));
const file = join(dir, "client-side.pcap");
let lab: Lab | undefined;

const SERVER_JS = `
const net = require("net");
const size = Number(process.argv[1]);
net.createServer((s) => { s.on("error", () => {}); s.end(Buffer.alloc(size, 97)); }).listen(5001, "0.0.0.0");
console.log("ready");
`;
const CLIENT_JS = `
const net = require("net");
const c = net.connect(5001, process.argv[1]); let n = 0;
c.on("data", (d) => { n += d.length; }); c.on("end", () => console.log(n)); c.on("error", (e) => { console.error(e); process.exit(1); });
`;

before(async () => {
  lab = await labUp({ name: LAB, router: true });
  const router = lab.hosts.router!;
  const clientSide = router.interfaces.find((l) => l.peer === "client")!;
  const ok = async (argv: string[]) => {
    const r = await router.exec(argv);
    assert.equal(r.code, 0, `${argv.join(" ")}: ${r.stderr}`);
  };
  await ok(
    ["tc", "qdisc", "replace", "dev", clientSide.iface, "root", "tbf", "rate", "6mbit", "burst", "32kb"].concat([
      "latency",
      "400ms",
    ]),
  );
  await ok(
    ["iptables", "-A", "FORWARD", "-p", "tcp", "-s", lab.hosts.server.address, "-m", "statistic"].concat([
      "--mode",
      "random",
      "--probability",
      "0.02",
      "-j",
      "DROP",
    ]),
  );
  const client = lab.hosts.client;
  const capture = await startCapture({ netns: client.netns, iface: client.iface, file, snaplen: 96 });
  const server = lab.hosts.server.spawn([process.execPath, "-e", SERVER_JS, String(SIZE)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.stdout!.once("data", () => resolve());
      server.once("exit", (code) => reject(new Error(`server exited ${code}`)));
    });
    const r = await client.exec([process.execPath, "-e", CLIENT_JS, lab.hosts.server.address], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Number(r.stdout.trim()), SIZE);
  } finally {
    server.kill("SIGTERM");
    await capture.stop();
  }
});

/**
 * Server → client segments holding sequence numbers that arrived before, and how many such data
 * bytes (tshark gives sequence numbers, lengths and flags; the covering is worked out here): the
 * genuine duplicates of this live capture, counted as the every-hole mode counts retransmissions.
 * A SYN and a FIN take one sequence number each, so a FIN sent again (its ACK late on a busy
 * machine) is a retransmission of no data byte; Linux may resend a lost segment with new data, of
 * which only the old bytes are repeated.
 */
function duplicateSegments(): { packets: number; bytes: number } {
  const fields = ["tcp.seq", "tcp.len", "tcp.flags.syn", "tcp.flags.fin"].flatMap((f) => ["-e", f]);
  const out = execFileSync("tshark", ["-r", file, "-Y", "tcp.srcport == 5001", "-T", "fields", ...fields], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    maxBuffer: 64 * 1024 * 1024,
  });
  // Relative sequence numbers: the SYN is 0, data 1 … SIZE, the FIN SIZE + 1.
  const seen = new Uint8Array(SIZE + 2);
  let packets = 0;
  let bytes = 0;
  let segments = 0;
  for (const line of out.split("\n")) {
    const [seqText, lenText, synText, finText] = line.split("\t");
    if (!seqText || !lenText) continue;
    const syn = synText === "1" || synText === "True" ? 1 : 0;
    const fin = finText === "1" || finText === "True" ? 1 : 0;
    const start = Number(seqText);
    const dataStart = start + syn;
    const dataEnd = dataStart + Number(lenText);
    if (dataEnd > dataStart) segments++;
    let repeatedData = 0;
    for (let i = dataStart; i < dataEnd; i++) repeatedData += seen[i]!;
    const repeatedControl = (syn && seen[start] ? 1 : 0) + (fin && seen[dataEnd] ? 1 : 0);
    if (repeatedData + repeatedControl > 0) {
      packets++;
      bytes += repeatedData;
    }
    seen.fill(1, start, dataEnd + fin);
  }
  // The whole download, in segments of at most an MSS: tshark did read the capture.
  assert.ok(segments >= SIZE / 1500, `tshark listed ${segments} data segments`);
  return { packets, bytes };
}

after(async () => {
  await labDown(LAB);
  rmSync(dir, { recursive: true, force: true });
});

describe("tstat's accounting on a client-side capture of a lossy, shaped download (lab)", () => {
  let tstatDefault: TcpFlowResult;
  let everyHole: TcpFlowResult;
  let duplicates: { packets: number; bytes: number };
  before(async () => {
    duplicates = duplicateSegments();
    const one = async (tcpTrackAllSegments: boolean) => {
      const r = await analyzeCaptureFile(file, { workers: 1, protocols: "tcp", series: true, tcpTrackAllSegments });
      const flows = r.flows.filter((f): f is TcpFlowResult => f.proto === "tcp" && f.server.port === 5001);
      assert.equal(flows.length, 1);
      return flows[0]!;
    };
    tstatDefault = await one(false);
    everyHole = await one(true);
  });

  it("tracking every hole: only what really arrived twice is a retransmission, every byte unique, the fills out of order", () => {
    const s = everyHole.s2c;
    assert.equal(everyHole.tstatLog, "log_tcp_complete");
    assert.equal(s.retxPackets, duplicates.packets);
    assert.equal(s.retxBytes, duplicates.bytes);
    assert.equal(s.uniqueBytes, SIZE);
    assert.ok(s.outOfSequencePackets > 0, "the losses made holes");
    // Each fill is a pure out-of-order segment: the RTO/FR/… causes cover exactly those.
    const causes = s.rto + s.fastRetransmit + s.reordering + s.networkDuplicate + s.unknown + s.flowControl;
    assert.equal(causes + s.unnecessaryRto + s.unnecessaryFastRetransmit, s.outOfSequencePackets);
  });

  it("tstat's default: an old hole counts as seen, so its fill is a retransmission; the same packets are flagged", (t) => {
    const d = tstatDefault.s2c;
    const a = everyHole.s2c;
    t.diagnostic(
      `default s_pkts_retx ${d.retxPackets} s_pkts_ooo ${d.outOfSequencePackets} s_bytes_uniq ${d.uniqueBytes}; every hole ${a.retxPackets} ${a.outOfSequencePackets} ${a.uniqueBytes}`,
    );
    assert.equal(d.uniqueBytes + d.retxBytes, d.dataBytes);
    // Bytes that really arrived twice are retransmitted in both modes; the merge adds the old holes' fills.
    assert.equal(d.uniqueBytes, SIZE + a.retxBytes - d.retxBytes);
    assert.equal(d.retxPackets + d.outOfSequencePackets, a.retxPackets + a.outOfSequencePackets);
    const flagged = (f: TcpFlowResult) =>
      f.series!.retransmissions.reduce((x, y) => x + y, 0) + f.series!.outOfSequence.reduce((x, y) => x + y, 0);
    assert.equal(flagged(tstatDefault), flagged(everyHole));
    // Every other column is the same in both modes except those the merge touches.
    for (const k of ["packets", "dataPackets", "dataBytes", "ackPackets", "syn", "fin"] as const) {
      assert.equal(d[k], a[k], k);
    }
  });
});
