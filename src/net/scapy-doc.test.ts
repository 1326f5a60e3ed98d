import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Lab, labDown, labUp } from "../netlab/index.ts";

/*
 * docs/scapy.md as a class reads it: every command of its qoelab CLI column and its shell session,
 * run as written on a lab of this test's own (only the lab name "s17" replaced), with what the page
 * says they print.
 */

const DOC = readFileSync("docs/scapy.md", "utf8");
const MAIN = resolve("src/cli/main.ts");
const TSX = import.meta.resolve("tsx");
const name = `sd${(process.pid % 100000).toString(36)}`;
const work = mkdtempSync(join(tmpdir(), "qoelab-scapy-doc-"));
let lab: Lab;

/** The `qoelab …` commands of the table's qoelab CLI column, in the page's order. */
function cliColumn(): string[] {
  const header = DOC.split("\n").findIndex((l) => l.startsWith("| Scapy (seed lab) |"));
  assert.ok(header >= 0, "the table is there");
  const columns = DOC.split("\n")[header]!.split(" | ");
  const cli = columns.indexOf("qoelab CLI");
  const commands: string[] = [];
  for (const line of DOC.split("\n").slice(header + 2)) {
    if (!line.startsWith("| ")) break;
    const cell = line.split(" | ")[cli] ?? "";
    for (const m of cell.matchAll(/`(qoelab [^`]+)`/g)) commands.push(m[1]!);
  }
  return commands;
}

/** Words of a command line: spaces separate, single quotes keep what they hold. */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

function run(command: string) {
  const argv = words(command.replaceAll("s17:", `${name}:`)).slice(1);
  return spawnSync(process.execPath, ["--import", TSX, MAIN, ...argv], { cwd: work, encoding: "utf8" });
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Five TCP connections from the client to a closed port of the server: 5 SYN, 5 RST. */
async function refusedConnections(): Promise<void> {
  const script =
    'const net=require("node:net");let n=0;const go=()=>{const s=net.connect(8080,"10.77.0.130");s.on("error",()=>{if(++n<5)go()})};go()';
  const r = await lab.hosts.client.exec(["node", "-e", script]);
  assert.equal(r.code, 0, r.stderr);
}

/** What the page says each command prints (a command not listed here must at least succeed). */
const PRINTS: [RegExp, RegExp][] = [
  [/pcap show p\.pcap -v/, /checksum {4}= 0x65c4 {2}\(good\)/],
  [/--sr1/, /==> Ether \/ IP 10\.77\.0\.130 > 10\.77\.0\.2 \/ ICMP echo-reply id=1 seq=1 /],
  [/--count 10 --inter 10ms/, /^sent 10 packets$/m],
  [/'ether\/ipv4\(dst=10\.77\.0\.130\)\/icmp'$/, /^sent 1 packet$/m],
  [/ --sr$/, /ICMP dest-unreach port-unreachable \/ \[IP 10\.77\.0\.2 > 10\.77\.0\.130 \/ UDP 40000 > 9 len=0\]/],
  [/pcap show call\.pcap/, /SIP INVITE/],
];

before(async () => {
  lab = await labUp({ name, router: true });
  // The walk-through's recorded call stands in for the page's call.pcap.
  copyFileSync("test-data/sip/baresip-call.pcap", join(work, "call.pcap"));
});

after(async () => {
  await labDown(name);
  rmSync(work, { recursive: true, force: true });
});

describe("docs/scapy.md, run as written", () => {
  it("every command of the qoelab CLI column does what the page says", async () => {
    const commands = cliColumn();
    assert.ok(commands.length >= 9, commands.join("\n"));
    for (const command of commands) {
      if (command.startsWith("qoelab capture")) {
        const argv = words(command.replaceAll("s17:", `${name}:`)).slice(1);
        const capture = spawn(process.execPath, ["--import", TSX, MAIN, ...argv], { cwd: work });
        let stdout = "";
        let stderr = "";
        capture.stdout.on("data", (b: Buffer) => {
          stdout += b;
        });
        const listening = new Promise<void>((ok) =>
          capture.stderr.on("data", (b: Buffer) => {
            stderr += b;
            if (stderr.includes("listening")) ok();
          }),
        );
        const done = new Promise<number | null>((ok) => capture.on("close", ok));
        await listening;
        await pause(500);
        await refusedConnections();
        assert.equal(await done, 0, stderr);
        assert.match(stdout, /^10 packets captured/);
        const shown = run("qoelab pcap show tcp.pcap");
        assert.equal(shown.stdout.match(/ > 8080 \[S\] /g)?.length, 5, shown.stdout);
        assert.equal(shown.stdout.match(/ 8080 > \d+ \[RA\] /g)?.length, 5, shown.stdout);
        continue;
      }
      // Linux answers a burst of 6 ICMP errors per peer, then one a second (the page says so).
      if (command.endsWith(" --sr")) await pause(2000);
      const r = run(command);
      assert.equal(r.status, 0, `${command}\n${r.stderr}`);
      for (const [which, prints] of PRINTS) if (which.test(command)) assert.match(r.stdout, prints, command);
    }
    const changed = run("qoelab pcap show q.pcap -v");
    assert.match(changed.stdout, /checksum {4}= 0x6611 {2}\(good\)/);
    assert.match(changed.stdout, /src {9}= 10\.0\.0\.1/);
  });

  it("the shell session prints what the page shows", async () => {
    const block = DOC.slice(DOC.indexOf("```\nqoelab> "));
    const transcript = block.slice(4, block.indexOf("```", 4)).trim().split("\n");
    const inputs = transcript.filter((l) => l.startsWith("qoelab> ")).map((l) => l.slice("qoelab> ".length));
    const outputs = transcript.filter((l) => !l.startsWith("qoelab> "));
    assert.ok(inputs.length >= 6 && outputs.length >= 4);
    await pause(2000); // ICMP errors: see above.
    const r = spawnSync(process.execPath, ["--import", TSX, MAIN, "shell", "--host", `${name}:client`], {
      cwd: work,
      input: `${inputs.join("\n")}\n.exit\n`,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /Uncaught/);
    let at = 0;
    for (const line of outputs) {
      const found = r.stdout.indexOf(`qoelab> ${line}\n`, at);
      assert.ok(found >= 0, `${line}\nin\n${r.stdout}`);
      at = found + line.length;
    }
  });
});
