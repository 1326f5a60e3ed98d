import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startCapture } from "../capture/index.ts";
import { isQoelabError } from "../errors.ts";
import { type Lab, labDown, labUp, qoelabCommand } from "../netlab/index.ts";

const name = `cap${(process.pid % 100000).toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "qoelab-capture-test-"));
let lab: Lab;

/** Packets in a classic pcap file (record headers walked by their captured lengths). */
function pcapCount(file: string): number {
  const data = readFileSync(file);
  const magic = data.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  let offset = 24;
  let count = 0;
  while (offset + 16 <= data.length) {
    const incl = le ? data.readUInt32LE(offset + 8) : data.readUInt32BE(offset + 8);
    offset += 16 + incl;
    if (offset <= data.length) count++;
  }
  return count;
}

function which(tool: string): string {
  return spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
}

before(async () => {
  lab = await labUp({ name });
});

after(async () => {
  await labDown(name);
  rmSync(dir, { recursive: true, force: true });
});

describe("capture (tcpdump)", () => {
  it("writes every packet sent before stop: captured = sent, nothing dropped, none lost at the tail", async () => {
    const file = join(dir, "all.pcap");
    const capture = await startCapture({
      netns: lab.hosts.server.netns,
      iface: lab.hosts.server.iface,
      filter: "udp port 6000",
      file,
    });
    const gen = lab.hosts.client.exec(
      qoelabCommand([
        "gen",
        "udp",
        "--to",
        `${lab.hosts.server.address}:6000`,
        "--rate",
        "20kpps",
        "--count",
        "5000",
        "--size",
        "100",
        "--json",
      ]),
    );
    const result = await gen;
    assert.equal(result.code, 0, result.stderr);
    const sent = JSON.parse(result.stdout) as { sent: number };
    // Stop at once: the last packets must still reach the file.
    const stopped = await capture.stop();
    assert.equal(stopped.dropped, 0);
    assert.equal(stopped.packets, sent.sent);
    assert.equal(pcapCount(file), sent.sent);
  });

  it("names the missing tcpdump and its package", async () => {
    const empty = mkdtempSync(join(tmpdir(), "qoelab-nopath-"));
    const saved = process.env.PATH;
    const ip = which("ip");
    try {
      process.env.PATH = empty;
      await assert.rejects(
        startCapture({ iface: "lo", file: join(dir, "x.pcap") }),
        (e) => isQoelabError(e) && e.code === "CAPTURE_TOOL_MISSING" && /package "tcpdump"/.test(e.message),
      );
      // Inside a namespace: `ip` is there, tcpdump is not.
      symlinkSync(ip, join(empty, "ip"));
      await assert.rejects(
        startCapture({ netns: lab.hosts.client.netns, iface: lab.hosts.client.iface, file: join(dir, "y.pcap") }),
        (e) => isQoelabError(e) && e.code === "CAPTURE_TOOL_MISSING",
      );
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("reports a bad interface as a start failure", async () => {
    await assert.rejects(
      startCapture({ netns: lab.hosts.client.netns, iface: "nosuch0", file: join(dir, "z.pcap") }),
      (e) => isQoelabError(e) && e.code === "CAPTURE_START_FAILED",
    );
  });

  it("wires the CLI: qoelab capture --host … --duration", () => {
    const file = join(dir, "cli.pcap");
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "src/cli/main.ts",
        "capture",
        "--host",
        `${name}:client`,
        "-w",
        file,
        "--duration",
        "0.5",
        "--json",
      ],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).file, file);
  });
});
