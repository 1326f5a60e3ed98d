import assert from "node:assert/strict";
import { test } from "node:test";
import { readCaptureBytes } from "./capture-reader.ts";

/** pcapng 64-bit timestamps → (sec, nsec) must equal exact BigInt arithmetic for every resolution. */

function capture(tsresol: number, stamps: [number, number][]): Uint8Array {
  const blocks: number[][] = [
    [0x0a0d0d0a, 28, 0x1a2b3c4d, 1, 0xffffffff, 0xffffffff, 28],
    [1, 32, 1, 0, 0x00010009, tsresol, 0, 32],
    ...stamps.map(([hi, lo]) => [6, 32, 0, hi, lo, 0, 0, 32]),
  ];
  const words = blocks.flat();
  const out = new Uint8Array(words.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < words.length; i++) view.setUint32(i * 4, words[i]! >>> 0, true);
  // The SHB version words are 16-bit pairs: major 1, minor 0.
  view.setUint16(12, 1, true);
  view.setUint16(14, 0, true);
  return out;
}

test("timestamps are exact for power-of-10 and power-of-2 resolutions (vs BigInt)", () => {
  let seed = 12345;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed;
  };
  const resolutions = [0, 1, 3, 6, 9, 10, 12, 14, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 37, 0x80 | 40, 0x80 | 48];
  for (const tsresol of resolutions) {
    const units = tsresol & 0x80 ? 2n ** BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
    const stamps: [number, number][] = [
      [0, 0],
      [0xffffffff, 0xffffffff],
      [0x001fffff, 0xffffffff],
      [0x00200000, 0],
    ];
    // Around "now" in this unit, around second boundaries, and anywhere.
    const now = 1_795_242_889n * units;
    for (let i = 0; i < 300; i++) {
      const pick = i % 3;
      let ts: bigint;
      if (pick === 0) ts = now + BigInt(random()) * BigInt(random());
      else if (pick === 1) ts = (now / units + BigInt(random() % 1000)) * units + BigInt(random() % 5) - 2n;
      else ts = (BigInt(random()) << 32n) | BigInt(random());
      ts = BigInt.asUintN(64, ts);
      stamps.push([Number(ts >> 32n), Number(ts & 0xffffffffn)]);
    }
    let n = 0;
    readCaptureBytes(capture(tsresol, stamps), (r) => {
      const [hi, lo] = stamps[n++]!;
      const ts = (BigInt(hi) << 32n) | BigInt(lo);
      const sec = ts / units;
      const nsec = ((ts % units) * 1_000_000_000n) / units;
      if (sec <= BigInt(Number.MAX_SAFE_INTEGER)) {
        assert.equal(BigInt(r.tsSec), sec, `tsresol ${tsresol} ts ${ts}`);
        assert.equal(BigInt(r.tsNsec), nsec, `tsresol ${tsresol} ts ${ts}`);
      } else {
        assert.ok(r.tsNsec >= 0 && r.tsNsec < 1e9);
      }
    });
    assert.equal(n, stamps.length);
  }
});
