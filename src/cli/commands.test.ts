import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command } from "commander";
import { commandGroups } from "./commands.ts";
import { buildProgram, VERSION } from "./main.ts";
import { runQoelab } from "./test-support/run-qoelab.ts";

describe("lazy command groups", () => {
  it("each group's table lists exactly the commands and descriptions its file registers", async () => {
    const seen = new Set<string>();
    for (const group of commandGroups) {
      const program = new Command("qoelab");
      (await group.load()).register(program);
      const registered = Object.fromEntries(program.commands.map((c) => [c.name(), c.description()]));
      assert.deepEqual(registered, group.commands, "update src/cli/commands.ts to match the file's register()");
      for (const name of Object.keys(group.commands)) {
        assert.ok(!seen.has(name), `${name} is listed twice`);
        seen.add(name);
      }
    }
  });

  it("an invoked command loads its own group only; the others stay stubs with their descriptions", async () => {
    const program = await buildProgram(["node", "qoelab", "emodel", "--codec", "g711"]);
    const byName = new Map(program.commands.map((c) => [c.name(), c]));
    assert.ok((byName.get("emodel")?.options.length ?? 0) > 0, "emodel is registered with its options");
    assert.equal(byName.get("pcap")?.commands.length, 0, "pcap is a stub");
    assert.equal(byName.get("pcap")?.description(), "read, write, convert and inspect pcap/pcapng capture files");
    const all = await buildProgram();
    assert.deepEqual(
      program.commands.map((c) => c.name()),
      all.commands.map((c) => c.name()),
      "stubs keep the full program's order",
    );
    const helped = await buildProgram(["node", "qoelab", "help", "pcap"]);
    assert.ok((helped.commands.find((c) => c.name() === "pcap")?.commands.length ?? 0) > 0, "help X loads X");
  });

  it("--version and --help answer from the stubs", () => {
    const run = (...args: string[]) => runQoelab(args);
    const version = run("--version");
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), VERSION);
    const help = run("--help");
    assert.equal(help.status, 0, help.stderr);
    for (const group of commandGroups)
      for (const name of Object.keys(group.commands)) assert.match(help.stdout, new RegExp(`\\n  ${name} `));
    const wrong = run("pcapp");
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /Did you mean pcap\?/);
  });
});

describe("listening ports", () => {
  it("every command that listens refuses a port outside 1–65535 with CLI_BAD_PORT, before opening anything", () => {
    const commands = [
      ["serve", "--data-dir", "/nonexistent/qoelab-never-created"],
      ["listen", "serve", "--data-dir", "/nonexistent/qoelab-never-created"],
      ["origin", "serve", "--root", "/nonexistent/qoelab-never-created"],
    ];
    for (const command of commands) {
      for (const port of ["abc", "70000"]) {
        const run = runQoelab([...command, "--port", port], { timeout: 30_000 });
        const what = `${command.slice(0, 2).join(" ")} --port ${port}`;
        assert.equal(run.status, 1, `${what}: ${run.stderr}`);
        assert.match(run.stderr, /--port must be 1–65535, got "[^"]*" \[CLI_BAD_PORT\]/, what);
        assert.doesNotMatch(run.stderr, /\n\s+at /, `${what}: no stack trace`);
      }
    }
  });
});
