import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { alawToLinear, decodeG711, encodeG711, linearToAlaw, linearToUlaw, ulawToLinear } from "./g711.ts";

const dir = mkdtempSync(join(tmpdir(), `qoelab-g711-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

const everySample = new Int16Array(65536);
for (let i = 0; i < 65536; i++) everySample[i] = i - 32768;
const everyCode = new Uint8Array(256);
for (let i = 0; i < 256; i++) everyCode[i] = i;

/**
 * Oracles: CPython's audioop (the Sun/CCITT reference conversion: truncating 14/13-bit
 * quantisation) for encoding and decoding, and sox for decoding (sox rounds before encoding, so it
 * is not an encoder oracle for the truncating G.711 decision levels).
 */
function audioop(fn: string, input: Uint8Array): Uint8Array {
  const inPath = join(dir, `${fn}.in`);
  const outPath = join(dir, `${fn}.out`);
  writeFileSync(inPath, input);
  execFileSync("python3", [
    "-W",
    "ignore",
    "-c",
    `import audioop,sys; open(sys.argv[2],'wb').write(audioop.${fn}(open(sys.argv[1],'rb').read(), 2))`,
    inPath,
    outPath,
  ]);
  return new Uint8Array(readFileSync(outPath));
}

function bytesOf(samples: Int16Array): Uint8Array {
  return new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength);
}

describe("G.711", () => {
  it("encodes all 65 536 linear values exactly like the reference (µ-law and A-law)", () => {
    assert.deepEqual(encodeG711("ulaw", everySample), audioop("lin2ulaw", bytesOf(everySample)));
    assert.deepEqual(encodeG711("alaw", everySample), audioop("lin2alaw", bytesOf(everySample)));
  });

  it("decodes all 256 codes like the reference and like sox", () => {
    for (const [law, fn, enc] of [
      ["ulaw", "ulaw2lin", "u-law"],
      ["alaw", "alaw2lin", "a-law"],
    ] as const) {
      const ours = bytesOf(decodeG711(law, everyCode));
      assert.deepEqual(ours, audioop(fn, everyCode));
      const codesPath = join(dir, `${law}.codes`);
      const soxPath = join(dir, `${law}.sox`);
      writeFileSync(codesPath, everyCode);
      execFileSync(
        "sox",
        ["-D", "-t", "raw", "-r", "8000", "-e", enc, "-b", "8", "-c", "1", codesPath].concat([
          "-t",
          "raw",
          "-e",
          "signed",
          "-b",
          "16",
          soxPath,
        ]),
      );
      assert.deepEqual(ours, new Uint8Array(readFileSync(soxPath)));
    }
  });

  it("has G.711's known anchor values", () => {
    assert.equal(linearToUlaw(0), 0xff); // µ-law silence
    assert.equal(linearToAlaw(0), 0xd5); // A-law silence
    assert.equal(ulawToLinear(0x80), 32124); // µ-law peak
    assert.equal(ulawToLinear(0x00), -32124);
    assert.equal(alawToLinear(0xaa), 32256); // A-law peak
    assert.equal(alawToLinear(0x2a), -32256);
    assert.equal(ulawToLinear(0xff), 0);
    assert.equal(alawToLinear(0xd5), 8);
  });

  it("round-trips every code (decode then encode is the identity, except µ-law's −0)", () => {
    for (let code = 0; code < 256; code++) {
      assert.equal(linearToAlaw(alawToLinear(code)), code);
      if (code !== 0x7f) assert.equal(linearToUlaw(ulawToLinear(code)), code);
    }
  });
});

describe("telephonePcm", () => {
  it("refuses stereo and non-8 kHz audio with coded messages", async () => {
    const { telephonePcm } = await import("./g711.ts");
    const { QoelabError } = await import("../errors.ts");
    const one = new Float32Array(8);
    assert.throws(
      () => telephonePcm({ sampleRate: 8000, channels: [one, one] }, "stereo.wav"),
      (e: unknown) =>
        e instanceof QoelabError && e.code === "AUDIO_NOT_MONO" && /stereo\.wav: 2 channels/.test(e.message),
    );
    assert.throws(
      () => telephonePcm({ sampleRate: 16000, channels: [one] }, "wide.wav"),
      (e: unknown) => e instanceof QoelabError && e.code === "AUDIO_NOT_8KHZ" && /16000 Hz/.test(e.message),
    );
    assert.deepEqual(
      telephonePcm({ sampleRate: 8000, channels: [Float32Array.of(0.5, -1)] }),
      Int16Array.of(16384, -32768),
    );
  });
});
