import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { QoelabError } from "../errors.ts";
import { CaptureParser } from "./capture-parser.ts";
import { forEachPacket, openCapture, readCaptureBytes } from "./capture-reader.ts";

const dir = mkdtempSync(join(tmpdir(), `qlt-io-err-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixture = (name: string) =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../../test-data/pcap/${name}`, import.meta.url))));

/** Unit boundaries (file offsets where a header, record or block ends) and packets ended by then. */
function unitEnds(bytes: Uint8Array): { ends: number[]; packetsBefore: Map<number, number>; headerEnd: number } {
  const ends: number[] = [];
  const packetsBefore = new Map<number, number>();
  let packets = 0;
  let headerEnd = 0;
  readCaptureBytes(
    bytes,
    (_, p) => {
      packets++;
      ends.push(p.unitFileOffset + p.unitLength);
      packetsBefore.set(p.unitFileOffset + p.unitLength, packets);
    },
    {
      onBlock: (p) => {
        const end = p.unitFileOffset + p.unitLength;
        if (headerEnd === 0) headerEnd = end;
        ends.push(end);
        packetsBefore.set(end, packets);
      },
    },
  );
  return { ends, packetsBefore, headerEnd };
}

function parseChunked(bytes: Uint8Array, chunk: number, tolerate: boolean): { packets: number; parser: CaptureParser } {
  const parser = new CaptureParser({ file: "cut.pcap", tolerateTruncatedTail: tolerate });
  let packets = 0;
  for (let p = 0; p < bytes.length; p += chunk) {
    parser.feed(bytes.subarray(p, Math.min(bytes.length, p + chunk)), () => {
      packets++;
    });
  }
  parser.end();
  return { packets, parser };
}

function expectError(fn: () => unknown, code: string, offset: number): QoelabError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof QoelabError, `not a QoelabError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.details.offset, offset, error.message);
    assert.match(error.message, new RegExp(`at byte ${offset}`));
    return error;
  }
  assert.fail(`expected ${code}`);
}

describe("truncated at every offset", () => {
  for (const name of ["lo-us.pcap", "lo-ns.pcap", "lo-dumpcap.pcapng", "lo-comments.pcapng"]) {
    test(name, () => {
      const bytes = fixture(name);
      const { ends, packetsBefore, headerEnd } = unitEnds(bytes);
      const boundaries = new Set(ends);
      const sortedEnds = [0, ...ends];
      for (let cut = 0; cut < bytes.length; cut++) {
        const part = bytes.subarray(0, cut);
        for (const chunk of [part.length || 1, 7]) {
          if (boundaries.has(cut)) {
            assert.equal(parseChunked(part, chunk, false).packets, packetsBefore.get(cut));
            continue;
          }
          // The unit the cut falls in starts at the last boundary below it.
          let start = 0;
          for (const end of sortedEnds) if (end <= cut) start = end;
          expectError(() => parseChunked(part, chunk, false), "PCAP_TRUNCATED", start);
          if (cut >= headerEnd) {
            const tolerated = parseChunked(part, chunk, true);
            assert.equal(tolerated.parser.truncatedTail, true);
            assert.equal(tolerated.parser.warnings[0]!.code, "PCAP_TRUNCATED");
            assert.equal(tolerated.parser.warnings[0]!.offset, start);
            assert.equal(tolerated.packets, packetsBefore.get(start));
          } else {
            expectError(() => parseChunked(part, chunk, true), "PCAP_TRUNCATED", start);
          }
        }
      }
    });
  }

  test("a truncated file on disk names the file; tolerateTruncatedTail reads up to the cut", async () => {
    const bytes = fixture("lo-us.pcap");
    const file = join(dir, "cut-mid-write.pcap");
    writeFileSync(file, bytes.subarray(0, bytes.length - 10));
    await assert.rejects(
      forEachPacket(file, () => {}),
      (error: QoelabError) => {
        assert.equal(error.code, "PCAP_TRUNCATED");
        assert.ok(error.message.startsWith(`${file}: truncated packet record at byte`));
        assert.equal(error.details.file, file);
        return true;
      },
    );
    const summary = await forEachPacket(file, () => {}, { tolerateTruncatedTail: true });
    assert.equal(summary.packets, 19);
    assert.equal(summary.truncatedTail, true);
    assert.match(summary.warnings[0]!.message, /cut short in the middle of a packet/);
  });
});

function patch(bytes: Uint8Array, edit: (view: DataView) => void): Uint8Array {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer));
  return copy;
}

describe("bad input gets a coded error with file and offset", () => {
  test("wrong magic, empty file, bad version", async () => {
    const file = join(dir, "not-a-capture.txt");
    writeFileSync(file, "hello, this is text and not a capture file\n");
    await assert.rejects(
      forEachPacket(file, () => {}),
      (error: QoelabError) => {
        assert.equal(error.code, "PCAP_BAD_MAGIC");
        assert.equal(error.message, `${file}: not a pcap or pcapng file (magic 0x68656c6c) at byte 0`);
        assert.deepEqual([error.details.file, error.details.offset], [file, 0]);
        return true;
      },
    );
    await assert.rejects(openCapture(file), { code: "PCAP_BAD_MAGIC" });
    await assert.rejects(
      forEachPacket(join(dir, "missing.pcap"), () => {}),
      { code: "PCAP_NOT_FOUND" },
    );
    expectError(() => readCaptureBytes(new Uint8Array(0), () => {}), "PCAP_TRUNCATED", 0);
    const pcap = fixture("lo-us.pcap");
    expectError(
      () =>
        readCaptureBytes(
          patch(pcap, (v) => v.setUint16(4, 7, true)),
          () => {},
        ),
      "PCAP_BAD_VERSION",
      4,
    );
  });

  test("pcap: caplen > snaplen is read and counted (as libpcap and Wireshark do); absurd caplen is refused without a large allocation", () => {
    const pcap = fixture("lo-us.pcap");
    const whole = readCaptureBytes(pcap, () => {});
    const caplens: number[] = [];
    const small = readCaptureBytes(
      patch(pcap, (v) => v.setUint32(16, 50, true)),
      (r) => {
        caplens.push(r.caplen);
      },
    );
    assert.equal(small.packets, whole.packets);
    assert.equal(small.bytes, whole.bytes);
    assert.equal(small.oversizedPackets, caplens.filter((c) => c > 50).length);
    assert.ok(small.oversizedPackets > 0);
    assert.equal(small.warnings[0]?.code, "PCAP_CAPLEN_EXCEEDS_SNAPLEN");
    assert.equal(small.warnings[0]?.offset, 32);
    // The link-type field's reserved bits (0x03ff0000) set: libpcap and Wireshark refuse the file.
    expectError(
      () =>
        readCaptureBytes(
          patch(pcap, (v) => v.setUint32(20, v.getUint32(20, true) | 0x00010000, true)),
          () => {},
        ),
      "PCAP_BAD_LINK_TYPE",
      20,
    );
    // The FCS-length bits (0xf4000000) are not reserved.
    assert.equal(
      readCaptureBytes(
        patch(pcap, (v) => v.setUint32(20, v.getUint32(20, true) | 0x44000000, true)),
        () => {},
      ).packets,
      whole.packets,
    );
    const absurd = patch(pcap, (v) => v.setUint32(32, 0x7fffffff, true));
    expectError(() => parseChunked(absurd, 5, true), "PCAP_ABSURD_LENGTH", 32);
    // Second record: offset 24 + 16 + 98 = 138.
    expectError(
      () =>
        readCaptureBytes(
          patch(pcap, (v) => v.setUint32(138 + 8, 300_000, true)),
          () => {},
        ),
      "PCAP_ABSURD_LENGTH",
      146,
    );
  });

  test("pcapng: zero, short, unaligned, huge and mismatched block lengths", () => {
    const ng = fixture("lo-dumpcap.pcapng");
    const shbLength = new DataView(ng.buffer).getUint32(4, true);
    const idb = shbLength;
    const idbLength = new DataView(ng.buffer).getUint32(idb + 4, true);
    const epb = idb + idbLength;
    for (const [length, code] of [
      [0, "PCAPNG_BAD_BLOCK_LENGTH"],
      [8, "PCAPNG_BAD_BLOCK_LENGTH"],
      [30, "PCAPNG_BAD_BLOCK_LENGTH"],
      [0xfffffffc, "PCAPNG_BAD_BLOCK_LENGTH"],
      [0x00ffff00, "PCAPNG_BAD_BLOCK_LENGTH"],
    ] as const) {
      const broken = patch(ng, (v) => v.setUint32(epb + 4, length, true));
      const error = expectError(() => parseChunked(broken, 64, true), code, epb + 4);
      if (length === 0) assert.match(error.message, /zero-length block/);
    }
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint32(epb + 4, 12, true)),
          () => {},
        ),
      "PCAPNG_BAD_BLOCK_LENGTH",
      epb + 4,
    );
    const epbLength = new DataView(ng.buffer).getUint32(epb + 4, true);
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint32(epb + epbLength - 4, 4, true)),
          () => {},
        ),
      "PCAPNG_LENGTH_MISMATCH",
      epb + epbLength - 4,
    );
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint32(epb + 20, 5000, true)),
          () => {},
        ),
      "PCAPNG_BAD_BLOCK_LENGTH",
      epb + 20,
    );
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint32(epb + 8, 3, true)),
          () => {},
        ),
      "PCAPNG_UNKNOWN_INTERFACE",
      epb + 8,
    );
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint32(8, 0x12345678, true)),
          () => {},
        ),
      "PCAPNG_BAD_BYTE_ORDER",
      8,
    );
    const whole = readCaptureBytes(ng, () => {});
    const small = readCaptureBytes(
      patch(ng, (v) => v.setUint32(idb + 12, 40, true)),
      () => {},
    );
    assert.equal(small.packets, whole.packets);
    assert.equal(small.bytes, whole.bytes);
    assert.ok(small.oversizedPackets > 0);
    assert.equal(small.warnings[0]?.code, "PCAP_CAPLEN_EXCEEDS_SNAPLEN");
    assert.equal(small.warnings[0]?.offset, epb + 20);
  });

  test("pcapng: section header version 1.1 is refused (libpcap and Wireshark do), 1.2 is read", () => {
    const ng = fixture("lo-dumpcap.pcapng");
    const whole = readCaptureBytes(ng, () => {});
    const error = expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint16(14, 1, true)),
          () => {},
        ),
      "PCAPNG_BAD_VERSION",
      12,
    );
    assert.match(error.message, /version 1\.1/);
    expectError(
      () =>
        readCaptureBytes(
          patch(ng, (v) => v.setUint16(12, 2, true)),
          () => {},
        ),
      "PCAPNG_BAD_VERSION",
      12,
    );
    assert.equal(
      readCaptureBytes(
        patch(ng, (v) => v.setUint16(14, 2, true)),
        () => {},
      ).packets,
      whole.packets,
    );
  });
});
