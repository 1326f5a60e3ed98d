import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { walkCaptures } from "./walk-campaign.ts";

/**
 * Every capture under ../shared/data/realcaps (other people's files: tcpdump's and libpcap's test
 * captures, the pcapng test suite, PcapPlusPlus and suricata-verify samples, real TCP and VoIP
 * traffic) goes through `pcap info` and `flows` (series and features on), in-process in two worker
 * threads, each file under a watchdog. No crash, no hang; packet counts equal capinfos' (the table
 * test-data/realcaps-capinfos.tsv, made once by test-data/make-realcaps-capinfos.py); the files
 * qoelab refuses, with a coded error, are exactly those capinfos and tcpdump both refuse.
 */
const REALCAPS = fileURLToPath(new URL("../../../shared/data/realcaps", import.meta.url));
const TABLE = fileURLToPath(new URL("../../test-data/realcaps-capinfos.tsv", import.meta.url));
const NOT_CAPTURES = /\.(md|txt|tsv|csv|json|sh|zst|gz|xz|py)$/i;
/** Far above any file's time (the slowest takes a few seconds on a busy machine): only a hang passes it. */
const HANG_MS = 120_000;

interface Expected {
  packets: number | null;
  capinfos: string;
  tcpdump: string;
}

function loadTable(): Map<string, Expected> {
  const rows = readFileSync(TABLE, "utf8").trim().split("\n").slice(1);
  const table = new Map<string, Expected>();
  for (const row of rows) {
    const [file, packets, capinfos, tcpdump] = row.split("\t");
    table.set(file!, { packets: packets === "-" ? null : Number(packets), capinfos: capinfos!, tcpdump: tcpdump! });
  }
  return table;
}

function captureFiles(dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) captureFiles(path, out);
    else if (st.size > 0 && !NOT_CAPTURES.test(name)) out.push(relative(REALCAPS, path));
  }
  return out.sort();
}

test("every real capture: pcap info and flows read it like capinfos, or refuse it like capinfos and tcpdump", async (t) => {
  const table = loadTable();
  const files = captureFiles(REALCAPS, []);
  assert.deepEqual(files, [...table.keys()], "the table lists every capture (remake it when realcaps changes)");
  const { results, hangs } = await walkCaptures({ root: REALCAPS, files, workers: 2, hangMs: HANG_MS });
  assert.deepEqual(hangs, [], "hangs");
  assert.equal(results.length, files.length);
  assert.deepEqual(
    results.filter((r) => r.crash !== null).map((r) => `${r.file}: ${r.crash}`),
    [],
    "crashes",
  );
  const wrongRefusals: string[] = [];
  const wrongCounts: string[] = [];
  let read = 0;
  let refused = 0;
  let counted = 0;
  for (const r of results) {
    const expected = table.get(r.file)!;
    const bothRefuse = expected.capinfos === "error" && expected.tcpdump === "error";
    const refusedByUs = r.infoCode !== null;
    if (refusedByUs !== bothRefuse || (r.flowsCode !== null) !== refusedByUs) {
      wrongRefusals.push(
        `${r.file}: info ${r.infoCode ?? "read"}, flows ${r.flowsCode ?? "read"}; capinfos ${expected.capinfos}, tcpdump ${expected.tcpdump}`,
      );
    }
    if (refusedByUs) {
      refused++;
      assert.match(r.infoCode!, /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/, `${r.file}: coded error`);
      continue;
    }
    read++;
    if (expected.packets === null) continue;
    counted++;
    if (r.infoPackets !== expected.packets || r.flowsPackets !== expected.packets) {
      wrongCounts.push(`${r.file}: info ${r.infoPackets}, flows ${r.flowsPackets}, capinfos ${expected.packets}`);
    }
  }
  t.diagnostic(`${files.length} files: ${read} read (${counted} counted against capinfos), ${refused} refused`);
  assert.deepEqual(wrongRefusals, [], "refusals differ from capinfos ∧ tcpdump");
  assert.deepEqual(wrongCounts, [], "packet counts differ from capinfos");
  assert.ok(refused > 0 && read > 1000);
});
