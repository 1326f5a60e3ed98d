import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { analyzeCaptureFile } from "../flows/index.ts";
import { TcpScript, writePcap } from "../flows/test-support/synthetic.ts";
import { parseWindow, renderFlows } from "./flows.ts";
import { runQoelab } from "./test-support/run-qoelab.ts";

const dir = mkdtempSync(join(tmpdir(), `qoelab-cli-flows-${process.pid}-`));
const file = join(dir, "two-flows.pcap");

before(async () => {
  const s = new TcpScript();
  s.handshake();
  s.data(true, 120);
  s.data(false, 1400);
  s.ack(true);
  s.fin(true);
  s.fin(false);
  s.ack(true);
  s.udp(true, 160);
  await writePcap(file, s.frames);
});

after(() => rmSync(dir, { recursive: true, force: true }));

describe("qoelab flows", () => {
  it("renders CSV with units and a table that fits 120 columns", async () => {
    const result = await analyzeCaptureFile(file, { workers: 1 });
    const csv = renderFlows(result, "csv", "flows").trim().split("\n");
    assert.equal(csv.length, 3);
    assert.ok(csv[0]!.includes("c_bytes_uniq[B]") && csv[0]!.includes("c_rtt_avg[ms]"), csv[0]);
    const table = renderFlows(result, "table", "flows").split("\n");
    assert.ok(Math.max(...table.map((l) => l.length)) <= 120, `table width ${Math.max(...table.map((l) => l.length))}`);
    assert.equal(parseWindow("500ms"), 0.5);
    assert.equal(parseWindow("2s"), 2);
  });

  it("is wired into the CLI and fails cleanly on a missing file", () => {
    const ok = runQoelab(["flows", file, "--format", "json"]);
    assert.equal(ok.status, 0, ok.stderr);
    const parsed = JSON.parse(ok.stdout) as { flows: unknown[] };
    assert.equal(parsed.flows.length, 2);
    const bad = runQoelab(["flows", join(dir, "missing.pcap")]);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /FLOWS_FILE_NOT_FOUND/);
  });
});
