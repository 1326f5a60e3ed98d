import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { QoelabError } from "../errors.ts";
import { analyzeSipCalls } from "./sip-calls.ts";
import { REALCAPS, realcapsFiles } from "./test-support/realcaps.ts";

/*
 * SIP in other people's captures: every capture of ../shared/data/realcaps through `sip calls`,
 * against tshark 4.0's `-z sip,stat` of the same file (test-data/realcaps-sip-stat.tsv, made once
 * by test-data/make-realcaps-sip-stat.py): the same number of SIP messages, per request method and
 * per response status code, over UDP (IP fragments reassembled) and TCP (segments reassembled).
 */

function tsharkCounts(): Map<string, string> {
  const table = new Map<string, string>();
  for (const line of readFileSync("test-data/realcaps-sip-stat.tsv", "utf8").trim().split("\n").slice(1)) {
    const [file, messages, counts] = line.split("\t") as [string, string, string];
    table.set(file, `${messages}: ${counts}`);
  }
  return table;
}

/** "N: NAME=COUNT …" as the table has it: methods and status codes of the messages `sip calls` saw. */
async function ourCounts(path: string): Promise<string | undefined> {
  let calls: Awaited<ReturnType<typeof analyzeSipCalls>>;
  try {
    calls = await analyzeSipCalls(path);
  } catch (e) {
    if (e instanceof QoelabError) return undefined; // refused capture (tshark then counts no SIP either)
    throw e;
  }
  const counts = new Map<string, number>();
  let messages = 0;
  for (const call of calls) {
    for (const event of call.events) {
      messages++;
      const name = /^\d{3} /.test(event.label) ? event.label.slice(0, 3) : event.label.replace(" (SDP)", "");
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
  }
  if (messages === 0) return undefined;
  const sorted = [...counts].map(([name, n]) => `${name}=${n}`).sort();
  return `${messages}: ${sorted.join(" ")}`;
}

it("every capture of realcaps: sip calls sees tshark's SIP messages, per method and status code", async (t) => {
  const table = tsharkCounts();
  const files = realcapsFiles();
  const differ: string[] = [];
  let withSip = 0;
  for (const file of files) {
    const ours = await ourCounts(`${REALCAPS}/${file}`);
    const theirs = table.get(file);
    if (ours !== theirs) differ.push(`${file}: qoelab ${ours ?? "none"}, tshark ${theirs ?? "none"}`);
    if (theirs) withSip++;
  }
  t.diagnostic(`${files.length} captures, ${withSip} with SIP`);
  assert.deepEqual(differ, []);
  assert.ok(withSip >= 16, "the table holds the realcaps SIP captures");
});
