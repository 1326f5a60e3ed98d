import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { conformanceDir } from "../quality/pesq/test-support.ts";
import { runQoelab } from "./test-support/run-qoelab.ts";

const dir = conformanceDir();
const tmp = mkdtempSync(path.join(tmpdir(), `qoelab-cli-pesq-${process.pid}-`));
after(() => rmSync(tmp, { recursive: true, force: true }));

const qoelab = (...args: string[]) => runQoelab(args);

/** `qoelab pesq` on the 16 kHz pair of P.862.2's conformance set in a wideband mode. */
const pesqWideband = (mode: string) =>
  qoelab("pesq", `${dir}/voip16k/or105.16k.raw`, `${dir}/voip16k/dg105.16k.raw`, "--rate", "16000", "--mode", mode);

describe("qoelab pesq", () => {
  it("scores a pair as JSON with the version stated", () => {
    const r = qoelab("pesq", `${dir}/voip8k/or105.wav`, `${dir}/voip8k/dg105.wav`, "--json");
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.version, "ITU-T P.862 (2001) + P.862.1 (2003)");
    assert.equal(out.rawLabel, "P.862 raw");
    assert.equal(out.mosLqoLabel, "P.862.1 MOS-LQO");
    assert.equal(out.conformance, "conformant to P.862 Annex A test 2");
    // Annex A test 2, pair 1: expected raw score 2.237.
    assert.equal(out.raw.toFixed(3), "2.237");
  });

  it("prints the wideband P.862.2 MOS-LQO only, without a raw score or a conformance claim", () => {
    const r = pesqWideband("wb");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^version +ITU-T P\.862\.2 \(2005\)$/m);
    assert.match(r.stdout, /^P\.862\.2 MOS-LQO +\d\.\d{3}$/m);
    assert.doesNotMatch(r.stdout, /P\.862 raw|conformant/);
  });

  it("refuses wb-c2 with a coded error", () => {
    const r = pesqWideband("wb-c2");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PESQ_MODE_UNAVAILABLE/);
  });

  it("runs a batch of raw 16 kHz pairs to TSV on worker threads, reporting failures and exiting 1", () => {
    const pairs = path.join(tmp, "pairs.tsv");
    writeFileSync(
      pairs,
      `${dir}/voip16k/or105.16k.raw\t${dir}/voip16k/dg105.16k.raw\t16000\n${dir}/voip16k/or105.16k.raw\t${tmp}/missing.raw\t16000\n${dir}/voip16k/or109.16k.raw\t${dir}/voip16k/dg109.16k.raw\t16000\n`,
    );
    const r = qoelab("pesq", "--batch", pairs, "--threads", "2");
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split("\n");
    assert.equal(lines[0], "reference\tdegraded\trate\tP.862 raw\tP.862.1 MOS-LQO\tversion\tconformance\terror");
    // Annex A test 2 at 16 kHz, pairs 1 and 2: expected raw 2.399 and 3.197.
    assert.match(
      lines[1]!,
      /\t16000\t2\.399\t\d\.\d{3}\tITU-T P\.862 \(2001\) \+ P\.862\.1 \(2003\)\tconformant to P\.862 Annex A test 2\t$/,
    );
    assert.match(lines[2]!, /PESQ_FILE_UNREADABLE/);
    assert.match(lines[3]!, /\t16000\t3\.197\t/);
  });

  it("exits 1 with a coded message on bad input", () => {
    const r = qoelab("pesq", `${dir}/voip16k/or105.16k.raw`, `${dir}/voip16k/dg105.16k.raw`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /PESQ_RAW_NEEDS_RATE/);
  });
});
