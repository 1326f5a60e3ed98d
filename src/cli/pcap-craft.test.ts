import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { runQoelab } from "./test-support/run-qoelab.ts";

// Wiring and exit codes; behaviour is tested on craftCapture/showCapture in src/packet.
describe("qoelab pcap craft / show", () => {
  let dir = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), `qoelab-cli-craft-${process.pid}-`));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...args: string[]) => runQoelab(args);
  const craft = (file: string, layers: string, ...options: string[]) =>
    cli("pcap", "craft", file, "--layers", layers, ...options);

  it("craft writes a capture and exits 0; a bad description exits 1 pointing at the column", () => {
    const file = join(dir, "c.pcapng");
    const ok = craft(file, "ether/ipv6/udp(dport=5004)/raw(size=12)", "-n", "3", "--format", "pcapng", "--json");
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout).packets, 3);
    const bad = craft(file, "ether/ipv6/udpp");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /column 12: unknown layer "udpp"[\s\S]*\^ \[PACKET_BAD_LAYER_SPEC\]/);
  });

  it("show prints one summary line per packet, -v every field, --json the layers", () => {
    const file = join(dir, "s.pcap");
    assert.equal(craft(file, "ether/ipv4/tcp(flags=S)", "-n", "2").status, 0);
    const lines = cli("pcap", "show", file, "-c", "1");
    assert.equal(lines.status, 0, lines.stderr);
    assert.match(
      lines.stdout,
      /^ {4}1 {5}0\.000000 {2}Ether \/ IP 10\.77\.0\.1 > 10\.77\.0\.2 \/ TCP 49152 > 80 \[S\] seq=0 win=64240\n$/,
    );
    const json = cli("pcap", "show", file, "-v", "--json", "-f", "tcp");
    assert.equal(json.status, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.shown, 2);
    assert.deepEqual(
      parsed.packets[0].layers.map((l: { type: string }) => l.type),
      ["Ether", "IPv4", "TCP"],
    );
    assert.equal(cli("pcap", "show", join(dir, "missing.pcap")).status, 1);
  });

  it("text= understands \\r\\n escapes and quoted values keep / , ) (an HTTP request; tshark reads it)", () => {
    const file = join(dir, "http.pcap");
    const r = craft(
      file,
      'ether/ipv4/tcp(dport=80,flags=PA)/raw(text="GET /a,b) HTTP/1.1\\r\\nHost: lab\\r\\n\\r\\n")',
    );
    assert.equal(r.status, 0, r.stderr);
    const tshark = spawnSync("tshark", ["-r", file, "-T", "fields", "-e", "http.request.uri", "-e", "http.host"], {
      encoding: "utf8",
    });
    assert.equal(tshark.stdout.trim(), "/a,b)\tlab");
    const help = cli("pcap", "craft", "--help");
    assert.match(help.stdout.replace(/\s+/g, " "), /double quotes/);
  });
});
