import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { QoelabError } from "../errors.ts";
import { MAX_CAPLEN } from "./capture-format.ts";
import { CaptureParser } from "./capture-parser.ts";
import { readCaptureBytes } from "./capture-reader.ts";
import { Dissection, dissect } from "./dissect.ts";

/**
 * Seeded fuzz: mutates the real captures in test-data/pcap (byte flips, truncations, length-field
 * corruption, inserted/deleted bytes) and parses each with random chunking. The only acceptable
 * outcomes are a clean read or a QoelabError with a file name and byte offset; the carry buffer
 * never grows past what was fed.
 */

const SEED = 0x5eed_2024;
const CASES = 3600;
const SOURCES = [
  "lo-us.pcap",
  "lo-ns.pcap",
  "any-sll2.pcap",
  "lo-dumpcap.pcapng",
  "lo-comments.pcapng",
  "multi-if.pcapng",
];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Source {
  name: string;
  bytes: Uint8Array;
  /** File offsets of every unit (header, record, block) and the offset of its length field. */
  lengthFields: number[];
}

function loadSource(name: string): Source {
  const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL(`../../test-data/pcap/${name}`, import.meta.url))));
  const lengthFields: number[] = [];
  const ng = name.endsWith(".pcapng");
  const note = (p: CaptureParser) => {
    if (ng) {
      lengthFields.push(p.unitFileOffset + 4, p.unitFileOffset + p.unitLength - 4);
      if (p.unitType === 6) lengthFields.push(p.unitFileOffset + 20, p.unitFileOffset + 24);
    } else if (p.unitType === -2) lengthFields.push(p.unitFileOffset + 8, p.unitFileOffset + 12);
    else lengthFields.push(16);
  };
  readCaptureBytes(bytes, (_, p) => note(p), { onBlock: note });
  return { name, bytes, lengthFields };
}

const INTERESTING = [
  0, 1, 3, 4, 11, 12, 13, 16, 28, 31, 32, 0x7fff, 0xffff, 0x10000, 262_144, 262_145, 0x7fffffff, 0x80000000, 0xffffffff,
];

test(`seeded fuzz of real captures (${CASES} cases)`, () => {
  const random = mulberry32(SEED);
  const int = (n: number) => Math.floor(random() * n);
  const sources = SOURCES.map(loadSource);
  const dissection = new Dissection();
  const outcomes = new Map<string, number>();
  for (let n = 0; n < CASES; n++) {
    const source = sources[int(sources.length)]!;
    let bytes = source.bytes.slice();
    const view = () => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = int(5);
    if (kind === 0) {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) bytes[int(bytes.length)] = int(256);
    } else if (kind === 1) {
      bytes = bytes.subarray(0, int(bytes.length));
    } else if (kind === 2) {
      const at = source.lengthFields[int(source.lengthFields.length)]!;
      const old = view().getUint32(at, true);
      const choice = int(4);
      const value =
        choice === 0 ? INTERESTING[int(INTERESTING.length)]! : choice === 1 ? old + (int(17) - 8) : int(2 ** 32);
      view().setUint32(at, value >>> 0, random() < 0.5);
    } else if (kind === 3) {
      const at = int(bytes.length);
      const count = 1 + int(16);
      const grown = new Uint8Array(bytes.length + count);
      grown.set(bytes.subarray(0, at));
      for (let i = 0; i < count; i++) grown[at + i] = int(256);
      grown.set(bytes.subarray(at), at + count);
      bytes = grown;
    } else {
      const count = Math.min(bytes.length, 1 + int(16));
      const at = int(bytes.length - count + 1);
      const shrunk = new Uint8Array(bytes.length - count);
      shrunk.set(bytes.subarray(0, at));
      shrunk.set(bytes.subarray(at + count), at);
      bytes = shrunk;
    }
    const file = `fuzz-${n}-${source.name}`;
    const parser = new CaptureParser({ file, tolerateTruncatedTail: random() < 0.5 });
    const chunk = random() < 0.3 ? bytes.length || 1 : 1 + int(300);
    let outcome = "ok";
    try {
      for (let p = 0; p < bytes.length; p += chunk) {
        parser.feed(bytes.subarray(p, p + chunk), (r) => {
          assert.ok(r.caplen <= MAX_CAPLEN);
          assert.ok(r.offset + r.caplen <= r.buffer.length);
          assert.ok(Number.isFinite(r.tsSec) && r.tsNsec >= 0 && r.tsNsec < 1e9, `bad time in ${file}`);
          dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, dissection);
        });
      }
      parser.end();
    } catch (error) {
      if (!(error instanceof QoelabError)) {
        assert.fail(`case ${n} (${source.name}, mutation ${kind}) threw a non-QoelabError: ${String(error)}`);
      }
      assert.match(error.code, /^PCAPN?G?_[A-Z_]+$/);
      assert.equal(error.details.file, file);
      assert.equal(typeof error.details.offset, "number", error.message);
      assert.ok((error.details.offset as number) <= bytes.length + 4, error.message);
      assert.ok(error.message.startsWith(`${file}: `), error.message);
      outcome = error.code;
    }
    // Bounded memory: the carry buffer holds at most what was fed (rounded up to a power of two).
    assert.ok(parser.carryCapacity <= Math.max(4096, 2 * bytes.length), `carry grew to ${parser.carryCapacity}`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // The mutations reach both clean reads and a spread of error paths.
  assert.ok((outcomes.get("ok") ?? 0) > 100);
  assert.ok(outcomes.size >= 6, JSON.stringify([...outcomes]));
});
