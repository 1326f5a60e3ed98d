import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { conformanceDir } from "../quality/pesq/test-support.ts";

const dir = conformanceDir();
const tmp = mkdtempSync(path.join(tmpdir(), `qoelab-cli-pesq-${process.pid}-`));
after(() => rmSync(tmp, { recursive: true, force: true }));

function qoelab(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], {
    encoding: "utf8",
    cwd: path.resolve(import.meta.dirname, "../.."),
  });
}

describe("qoelab pesq", () => {
  it("scores a pair as JSON with the version stated", () => {
    const r = qoelab("pesq", `${dir}/voip8k/or105.wav`, `${dir}/voip8k/dg105.wav`, "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.version, "ITU-T P.862 (2001) + P.862.1 (2003)");
    assert.ok(out.raw > 1 && out.raw < 4.5);
  });

  it("runs a batch of raw 16 kHz pairs to TSV, reporting failures and exiting 1", () => {
    const pairs = path.join(tmp, "pairs.tsv");
    writeFileSync(
      pairs,
      `${dir}/voip16k/or105.16k.raw\t${dir}/voip16k/dg105.16k.raw\t16000\n${dir}/voip16k/or105.16k.raw\t${tmp}/missing.raw\t16000\n`,
    );
    const r = qoelab("pesq", "--batch", pairs);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "reference\tdegraded\trate\traw\tmos_lqo\tversion\terror");
    assert.match(lines[1]!, /\t16000\t\d\.\d{3}\t\d\.\d{3}\tITU-T P\.862 \(2001\) \+ P\.862\.1 \(2003\)\t$/);
    assert.match(lines[2]!, /PESQ_FILE_UNREADABLE/);
  });

  it("exits 1 with a coded message on bad input", () => {
    const r = qoelab("pesq", `${dir}/voip16k/or105.16k.raw`, `${dir}/voip16k/dg105.16k.raw`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PESQ_RAW_NEEDS_RATE/);
  });
});
