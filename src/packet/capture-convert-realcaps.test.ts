import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { test } from "node:test";
import { isQoelabError } from "../errors.ts";
import { convertCapture } from "./capture-convert.ts";
import { forEachPacket } from "./capture-reader.ts";

/**
 * `pcap convert` pcapng → pcap against `editcap -F pcap` on every realcaps pcapng: qoelab converts
 * exactly the files editcap converts (the others with a coded error), and writes the same link
 * type and the same packets: lengths and bytes, times to editcap's microseconds (qoelab keeps
 * nanoseconds when an interface has them; a packet without a timestamp, a Simple Packet Block,
 * keeps the previous packet's time where editcap writes 0), whichever interface each came by. The
 * header's snaplen is editcap's 262,144 unless an interface declares more. A file editcap refuses
 * for what it holds besides packets (no interface; custom or event blocks) gives its packets.
 */
const REALCAPS = join(import.meta.dirname, "../../../shared/data/realcaps");

function pcapngFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) pcapngFiles(path, out);
    else if (name.endsWith(".pcapng")) out.push(path);
  }
  return out;
}

interface Packets {
  header: { linkType: number; snaplen: number };
  lines: string[];
}

async function packets(file: string): Promise<Packets> {
  const lines: string[] = [];
  let header = { linkType: -1, snaplen: -1 };
  await forEachPacket(file, (r, parser) => {
    const i = parser.interfaces[0]!;
    header = { linkType: i.linkType, snaplen: i.snaplen };
    const time = r.hasTimestamp === false ? "-" : `${r.tsSec}.${Math.floor(r.tsNsec / 1000)}`;
    const data = Buffer.from(r.buffer.subarray(r.offset, r.offset + r.caplen)).toString("hex");
    lines.push(`${time} ${r.origlen} ${r.caplen} ${data}`);
  });
  return { header, lines };
}

/** Packet lines equal, times too but for the input's packets without a timestamp. */
function assertSamePackets(ours: string[], expected: string[], input: string[], name: string): void {
  assert.equal(ours.length, expected.length, `${name}: packets`);
  const withoutTime = (line: string) => line.slice(line.indexOf(" "));
  ours.forEach((line, k) => {
    if (input[k]!.startsWith("- ")) assert.equal(withoutTime(line), withoutTime(expected[k]!), `${name} #${k + 1}`);
    else assert.equal(line, expected[k], `${name} #${k + 1}`);
  });
}

test("pcap convert pcapng → pcap writes what editcap -F pcap writes, on every realcaps pcapng", async () => {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-convert-"));
  try {
    const files = pcapngFiles(REALCAPS);
    assert.ok(files.length > 100, `${files.length} pcapng files`);
    let converted = 0;
    let refusedByBoth = 0;
    for (const file of files) {
      const name = relative(REALCAPS, file);
      const theirs = join(dir, "editcap.pcap");
      const ours = join(dir, "qoelab.pcap");
      const run = spawnSync("editcap", ["-F", "pcap", file, theirs], { encoding: "utf8" });
      let refused: string | null = null;
      try {
        await convertCapture(file, ours, { format: "pcap" });
      } catch (error) {
        if (!isQoelabError(error)) throw error;
        refused = error.code;
      }
      // editcap stops with a message (and status 0) at a section it cannot read.
      if (run.status !== 0 || run.stderr.trim() !== "") {
        // editcap cannot name the link type of a file without interfaces, nor write a file holding
        // records pcap has no room for (custom blocks, events); qoelab writes their packets.
        if (refused === null) {
          const input = await packets(file);
          assertSamePackets((await packets(ours)).lines, input.lines, input.lines, name);
        } else refusedByBoth++;
        continue;
      }
      assert.equal(refused, null, `${name}: editcap converts it, qoelab refused it (${refused})`);
      converted++;
      // Read the input too: which packets have no timestamp.
      const input = await packets(file);
      const [a, b] = [await packets(theirs), await packets(ours)];
      assert.equal(b.header.linkType, a.header.linkType, `${name}: link type`);
      assertSamePackets(b.lines, a.lines, input.lines, name);
      const header = readFileSync(ours).subarray(0, 24);
      const snaplen =
        header.readUInt32LE(0) === 0xa1b2c3d4 || header.readUInt32LE(0) === 0xa1b23c4d
          ? header.readUInt32LE(16)
          : header.readUInt32BE(16);
      assert.ok(snaplen === 262_144 || snaplen > 262_144, `${name}: snaplen ${snaplen}`);
    }
    assert.ok(converted > 90, `${converted} files converted by both`);
    assert.ok(refusedByBoth > 0, `${refusedByBoth} files refused by both`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
