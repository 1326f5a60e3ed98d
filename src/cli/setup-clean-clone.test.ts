import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const repo = fileURLToPath(new URL("../..", import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), `qoelab-clone-${process.pid}-`));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** The first `count` lines of the README's sh code blocks that start with `qoelab `, comments cut. */
function readmeQoelabCommands(readme: string, count: number): string[] {
  const commands: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g))
    for (const line of (block[1] ?? "").split("\n"))
      if (line.startsWith("qoelab ") && commands.length < count) commands.push(line.replace(/\s+#.*$/, ""));
  return commands;
}

describe("a clean clone", () => {
  it("scripts/setup.sh leaves a qoelab command that a new shell finds, and the README's first commands run", () => {
    const clone = join(scratch, "qoelab");
    const bin = join(scratch, "bin");
    const cloned = spawnSync("git", ["clone", "--quiet", repo, clone], { encoding: "utf8" });
    assert.equal(cloned.status, 0, cloned.stderr);

    // Committed work only; npm ci from the local cache, the addon and the compiled CLI (bounded).
    const setup = spawnSync("bash", ["scripts/setup.sh"], {
      cwd: clone,
      encoding: "utf8",
      timeout: 600_000,
      env: { ...process.env, QOELAB_BIN_DIR: bin, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(setup.status, 0, `setup failed:\n${setup.stderr}`);
    assert.match(setup.stderr, /building the CLI/);
    if (/build failed/.test(setup.stderr)) {
      const errors = readFileSync(join(clone, "node_modules", ".qoelab-build.err"), "utf8");
      assert.fail(`the committed sources do not build with tsconfig.build.json:\n${errors.slice(0, 3000)}`);
    }
    assert.equal(realpathSync(join(bin, "qoelab")), join(clone, "bin", "qoelab.js"));

    // A new shell with a plain environment: PATH has the link's folder, nothing else of this run.
    const shell = (command: string) =>
      spawnSync("bash", ["--norc", "--noprofile", "-c", command], {
        cwd: clone,
        encoding: "utf8",
        timeout: 120_000,
        env: { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, HOME: scratch, LANG: "C.UTF-8" },
      });
    const version = shell("command -v qoelab && qoelab --version");
    assert.equal(version.status, 0, version.stderr);
    assert.deepEqual(version.stdout.trim().split("\n"), [join(bin, "qoelab"), "0.1.0"]);

    const commands = readmeQoelabCommands(readFileSync(join(clone, "README.md"), "utf8"), 3);
    assert.equal(commands.length, 3);
    for (const command of commands) {
      const r = shell(command);
      assert.equal(r.status, 0, `${command}: ${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, `${command} printed nothing`);
    }
    // The third prints one row per flow of the session's capture (its HTTP connections).
    assert.match(shell(commands[2] ?? "").stdout, /\d+\.\d+\.\d+\.\d+/);
  });
});
