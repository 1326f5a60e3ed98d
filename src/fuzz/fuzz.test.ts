import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runCampaign } from "./campaign.ts";
import { loadCorpus } from "./corpus.ts";
import { fuzzInput } from "./generate.ts";
import { runFuzzInput } from "./targets.ts";

const TEST_DATA = fileURLToPath(new URL("../../test-data", import.meta.url));
const REALCAPS = fileURLToPath(new URL("../../../shared/data/realcaps", import.meta.url));
const FOUND = join(TEST_DATA, "fuzz");
const scratch = mkdtempSync(join(tmpdir(), `qlt-fuzz-${process.pid}-`));
after(() => rmSync(scratch, { recursive: true, force: true }));

test("inputs the fuzzer found crashing or hanging (test-data/fuzz) now end with a result or a coded error", async () => {
  const files = readdirSync(FOUND).filter((name) => name.endsWith(".pcap"));
  assert.ok(files.length >= 4);
  for (const name of files) {
    const outcome = await runFuzzInput(new Uint8Array(readFileSync(join(FOUND, name))), join(scratch, "replay.pcap"));
    assert.ok(outcome === "read" || outcome === "rejected", name);
  }
});

test("inputs are reproducible one by one from the seed and the index", () => {
  const corpus = loadCorpus([join(TEST_DATA, "pcap")]);
  for (const index of [0, 1, 977]) {
    const a = fuzzInput(corpus, 42, index);
    const b = fuzzInput(corpus, 42, index);
    assert.deepEqual(a.bytes, b.bytes);
    assert.deepEqual(a.mutations, b.mutations);
  }
  assert.notDeepEqual(fuzzInput(corpus, 42, 0).bytes, fuzzInput(corpus, 43, 0).bytes);
});

test("3,000 mutated captures through reader, dissector, layers, flows, RTP, SIP and pcap info: no crash, no hang", async (t) => {
  const result = await runCampaign({
    count: 3000,
    seed: 20_261_207,
    workers: 2,
    // Far above an input's time (milliseconds): only a loop that does not end reaches it.
    hangMs: 120_000,
    roots: [TEST_DATA, REALCAPS],
  });
  t.diagnostic(
    `${result.inputs} inputs from ${result.seeds} seeds: ${result.read} read, ${result.rejected} refused with a coded error`,
  );
  assert.equal(result.inputs, 3000);
  assert.deepEqual(
    result.findings.map((f) => `${f.kind} #${f.index} ${f.source} [${f.mutations}]: ${f.error}`),
    [],
  );
  assert.ok(result.read > 0 && result.rejected > 0);
});
