import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { copyCapture } from "./capture-convert.ts";
import { formatEpoch } from "./capture-info.ts";
import { forEachPacket, readCaptureStream } from "./capture-reader.ts";

/**
 * Real captures made here: tcpdump (µs and ns, pcapng via editcap) on the loopback of a fresh
 * network namespace while ping, UDP and TCP traffic runs, plus tcpdump's `-w -` output piped into
 * readCaptureStream. Each must read as tshark reads it and rewrite byte for byte.
 */

const ns = `qlt-io-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), `qlt-io-live-${process.pid}-`));
const files = {
  us: join(dir, "lo-us.pcap"),
  ns: join(dir, "lo-ns.pcap"),
  ng: join(dir, "lo.pcapng"),
};
const streamed: string[] = [];
let streamSummary: Awaited<ReturnType<typeof readCaptureStream>> | undefined;

function startCapture(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      if (ready.test(err)) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited ${code}: ${err}`)));
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGINT");
  });
}

before(async () => {
  execFileSync("ip", ["netns", "add", ns]);
  execFileSync("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
  const captures = [
    await startCapture(["tcpdump", "-i", "lo", "-U", "--immediate-mode", "-w", files.us], /listening on/),
    await startCapture(
      ["tcpdump", "-i", "lo", "-U", "--immediate-mode", "--time-stamp-precision=nano", "-w", files.ns],
      /listening on/,
    ),
  ];
  execFileSync("ip", ["netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-q", "127.0.0.1"]);
  // UDP datagrams and one TCP exchange, from node inside the namespace.
  const script = `
    const dgram = require("node:dgram"); const net = require("node:net");
    const u = dgram.createSocket("udp4");
    let sent = 0; const send = () => u.send("qoelab " + sent, 7793, "127.0.0.1", () => { if (++sent < 5) send(); else tcp(); });
    const tcp = () => { u.close(); const s = net.createServer((c) => c.on("data", (d) => c.end(d))).listen(7794, "127.0.0.1", () => {
      const c = net.connect(7794, "127.0.0.1", () => c.write("hello qoelab")); c.on("data", () => {}); c.on("close", () => s.close()); }); };
    send();`;
  execFileSync("ip", ["netns", "exec", ns, process.execPath, "-e", script], { timeout: 20_000 });
  execFileSync("ip", ["netns", "exec", ns, "ping", "-c", "1", "-q", "127.0.0.1"]);
  // tcpdump drops what it has not read yet when it is interrupted: on a busy machine the last
  // packets may still be in one capture's buffer. Stop only when every capture has held still
  // (the files' sizes) for half a second, within 10 s.
  let last = "";
  let still = 0;
  for (let waited = 0; still < 5 && waited < 10_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const now = [statSync(files.us).size, statSync(files.ns).size].join(",");
    still = now === last ? still + 1 : 0;
    last = now;
  }
  for (const c of captures) await stop(c);
  // tcpdump writing a capture to a pipe (-w -), read as a stream. It re-reads the live capture
  // rather than capturing a second time: two live captures of the same traffic may differ by what
  // a busy machine dropped.
  const pipe = spawn("tcpdump", ["-r", files.us, "-U", "-w", "-"], { stdio: ["ignore", "pipe", "ignore"] });
  streamSummary = await readCaptureStream(pipe.stdout, (r) => {
    streamed.push(Buffer.from(r.buffer.subarray(r.offset, r.offset + r.caplen)).toString("hex"));
  });
  // pcapng as Wireshark's tools write it (dumpcap buffers without an immediate mode, so editcap).
  execFileSync("editcap", ["-F", "pcapng", files.ns, files.ng], { stdio: "ignore" });
});

after(() => {
  spawnSync("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
});

function tsharkLines(file: string): string[] {
  const out = execFileSync(
    "tshark",
    ["-r", file, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] },
  );
  return out.split("\n").filter((l) => l !== "");
}

async function ourLines(file: string): Promise<{ lines: string[]; hex: string[] }> {
  const lines: string[] = [];
  const hex: string[] = [];
  await forEachPacket(file, (r) => {
    lines.push(`${formatEpoch({ sec: r.tsSec, nsec: r.tsNsec })}\t${r.origlen}\t${r.caplen}`);
    hex.push(Buffer.from(r.buffer.subarray(r.offset, r.offset + r.caplen)).toString("hex"));
  });
  return { lines, hex };
}

for (const [label, file] of Object.entries(files)) {
  test(`live ${label} capture: tshark agreement and byte-identical rewrite`, async () => {
    const { lines } = await ourLines(file);
    assert.ok(lines.length >= 20, `only ${lines.length} packets captured`);
    assert.deepEqual(lines, tsharkLines(file));
    const copy = join(dir, `copy-${label}`);
    await copyCapture(file, copy);
    assert.deepEqual(readFileSync(copy), readFileSync(file));
  });
}

test("tcpdump -w - piped into readCaptureStream gives the packets of the capture it writes out", async () => {
  assert.ok(streamSummary);
  assert.equal(streamSummary.format, "pcap");
  const { hex } = await ourLines(files.us);
  assert.deepEqual(streamed, hex);
});
