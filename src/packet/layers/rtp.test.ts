import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { readCaptureBytes } from "../capture-reader.ts";
import { decodePacket } from "../packet.ts";
import { RtpHeaderView, readRtpHeader } from "../rtp-header-view.ts";
import { isDynamicPayloadType, staticClockRate, staticPayloadType } from "../rtp-payload-types.ts";
import { readUdpPayloads, tsharkFields } from "../test-support/udp-payloads.ts";
import {
  buildRtpExtension,
  decodeRtp,
  encodeRtp,
  looksLikeRtp,
  parseRtpExtensionElements,
  RTP_EXTENSION_ONE_BYTE_PROFILE,
} from "./rtp.ts";

const CAPTURES = ["test-data/sip/baresip-call.pcap", "test-data/sip/baresip-call-loss5.pcap"];

function hex(text: string): Uint8Array {
  return Uint8Array.from(
    text
      .replace(/\s+/g, "")
      .match(/../g)!
      .map((b) => Number.parseInt(b, 16)),
  );
}

describe("RTP decode/encode", () => {
  test("fixed header fields from hand-assembled bytes (RFC 3550 §5.1 layout)", () => {
    // V=2 P=0 X=0 CC=0 | M=1 PT=0 | seq 0x1234 | ts 0xdeadbeef | ssrc 0x01020304 | payload
    const bytes = hex("80 80 1234 deadbeef 01020304 ff fe fd");
    const rtp = decodeRtp(bytes, 0, bytes.length);
    assert.equal(rtp.complete, true);
    assert.deepEqual(rtp.anomalies, []);
    assert.equal(rtp.version, 2);
    assert.equal(rtp.marker, true);
    assert.equal(rtp.payloadType, 0);
    assert.equal(rtp.sequence, 0x1234);
    assert.equal(rtp.timestamp, 0xdeadbeef);
    assert.equal(rtp.ssrc, 0x01020304);
    assert.equal(rtp.headerLength, 12);
    assert.deepEqual([...rtp.payload], [0xff, 0xfe, 0xfd]);
    assert.deepEqual(encodeRtp(rtp, rtp.payload), bytes);
  });

  test("CSRC list, header extension and padding round trip", () => {
    const extension = buildRtpExtension([
      { id: 1, data: Uint8Array.of(0xaa) },
      { id: 5, data: Uint8Array.of(1, 2, 3) },
    ]);
    const fields = {
      marker: false,
      payloadType: 96,
      sequence: 65535,
      timestamp: 4294967295,
      ssrc: 0xcafebabe,
      csrc: [1, 0xffffffff, 3],
      extension,
      paddingLength: 4,
    };
    const payload = Uint8Array.of(9, 8, 7, 6, 5);
    const bytes = encodeRtp(fields, payload);
    assert.equal(bytes.length, 12 + 12 + 4 + 8 + 5 + 4);
    assert.equal(bytes[0], 0x80 | 0x20 | 0x10 | 3);
    const rtp = decodeRtp(bytes, 0, bytes.length);
    assert.equal(rtp.complete, true);
    assert.deepEqual(rtp.csrc, fields.csrc);
    assert.equal(rtp.extension?.profile, RTP_EXTENSION_ONE_BYTE_PROFILE);
    assert.deepEqual([...(rtp.extension?.data ?? [])], [0x10, 0xaa, 0x52, 1, 2, 3, 0, 0]);
    assert.equal(rtp.paddingLength, 4);
    assert.deepEqual([...rtp.payload], [...payload]);
    assert.deepEqual(encodeRtp(rtp, rtp.payload), bytes);
  });

  test("a packet inside a larger buffer decodes at its offset", () => {
    const inner = encodeRtp({ marker: false, payloadType: 8, sequence: 7, timestamp: 160, ssrc: 42 }, Uint8Array.of(1));
    const buffer = new Uint8Array(inner.length + 10);
    buffer.set(inner, 5);
    const rtp = decodeRtp(buffer, 5, inner.length);
    assert.equal(rtp.payloadOffset, 17);
    assert.equal(rtp.payloadLength, 1);
    assert.equal(rtp.sequence, 7);
  });

  test("encode rejects fields that cannot be encoded", () => {
    const base = { marker: false, payloadType: 0, sequence: 0, timestamp: 0, ssrc: 0 };
    assert.throws(() => encodeRtp({ ...base, payloadType: 128 }, new Uint8Array(0)), { code: "PACKET_BAD_FIELD" });
    assert.throws(() => encodeRtp({ ...base, csrc: new Array(16).fill(1) }, new Uint8Array(0)), {
      code: "PACKET_BAD_FIELD",
    });
    assert.throws(() => encodeRtp({ ...base, extension: { profile: 1, data: new Uint8Array(3) } }, new Uint8Array(0)), {
      code: "PACKET_BAD_FIELD",
    });
  });
});

describe("RTP padding octets", () => {
  test("non-zero octets before the count are kept and written back (RFC 3550 leaves them free)", () => {
    // V=2 P=1 | PT=8 | seq 7 | ts 160 | ssrc 1 | payload d5 d5 | padding 01 02 03 04 (count 4)
    const bytes = hex("a0 08 0007 000000a0 00000001 d5d5 01020304");
    const rtp = decodeRtp(bytes, 0, bytes.length);
    assert.equal(rtp.paddingLength, 4);
    assert.deepEqual([...rtp.paddingData!], [1, 2, 3]);
    assert.deepEqual([...rtp.payload], [0xd5, 0xd5]);
    assert.deepEqual(encodeRtp(rtp, rtp.payload), bytes);
    const zeros = hex("a0 08 0007 000000a0 00000001 d5d5 00000004");
    assert.equal(decodeRtp(zeros, 0, zeros.length).paddingData, undefined);
    assert.throws(
      () => encodeRtp({ ...rtp, paddingData: Uint8Array.of(1) }, rtp.payload),
      (e: Error & { code?: string }) => e.code === "PACKET_BAD_FIELD",
    );
  });

  test("tcpdump's afs.pcap: the AFS datagram the port-free heuristic takes for RTP re-encodes byte for byte", () => {
    const file = "../shared/data/realcaps/odd/tcpdump-tests/afs.pcap";
    let checked = 0;
    readCaptureBytes(readFileSync(file), (r) => {
      const bytes = Uint8Array.from(r.buffer.subarray(r.offset, r.offset + r.caplen));
      const packet = decodePacket(bytes, r.linkType, { wireLength: r.origlen });
      if (packet.get("RTP")?.fields.paddingData === undefined) return;
      checked++;
      assert.deepEqual(packet.bytes(), bytes);
    });
    assert.equal(checked, 1);
  });
});

describe("RFC 8285 header extension elements", () => {
  test("one-byte form: the RFC 8285 §4.2 example layout with padding bytes", () => {
    // 0xBEDE, length 3 words: ID 1 L=0 (1 byte), ID 2 L=1 (2 bytes), 2 padding, ID 3 L=3 (4 bytes)
    const data = hex("10 aa 21 bb bb 00 00 33 cc cc cc cc");
    const parsed = parseRtpExtensionElements({ profile: 0xbede, data });
    assert.ok(parsed);
    assert.equal(parsed.form, "one-byte");
    assert.deepEqual(
      parsed.elements.map((e) => [e.id, [...e.data]]),
      [
        [1, [0xaa]],
        [2, [0xbb, 0xbb]],
        [3, [0xcc, 0xcc, 0xcc, 0xcc]],
      ],
    );
    assert.deepEqual(parsed.anomalies, []);
  });

  test("one-byte form stops at ID 15", () => {
    const parsed = parseRtpExtensionElements({ profile: 0xbede, data: hex("10 aa f0 11 22 33 44 55") });
    assert.deepEqual(
      parsed?.elements.map((e) => e.id),
      [1],
    );
  });

  test("two-byte form round trip, with a zero-length element and app bits", () => {
    const elements = [
      { id: 200, data: new Uint8Array(0) },
      { id: 1, data: Uint8Array.from({ length: 20 }, (_, i) => i) },
    ];
    const extension = buildRtpExtension(elements, "two-byte", 5);
    assert.equal(extension.profile, 0x1005);
    assert.equal(extension.data.length % 4, 0);
    const parsed = parseRtpExtensionElements(extension);
    assert.equal(parsed?.form, "two-byte");
    assert.equal(parsed?.appBits, 5);
    assert.deepEqual(
      parsed?.elements.map((e) => [e.id, [...e.data]]),
      elements.map((e) => [e.id, [...e.data]]),
    );
  });

  test("other profiles are not RFC 8285; bad element lengths are anomalies", () => {
    assert.equal(parseRtpExtensionElements({ profile: 0x1234, data: new Uint8Array(4) }), null);
    const parsed = parseRtpExtensionElements({ profile: 0xbede, data: hex("1f aa 00 00") });
    assert.equal(parsed?.anomalies[0]?.code, "bad-length");
    const two = parseRtpExtensionElements({ profile: 0x1000, data: hex("01") });
    assert.equal(two?.anomalies[0]?.code, "truncated");
  });
});

describe("RTP malformed input", () => {
  const full = encodeRtp(
    {
      marker: true,
      payloadType: 0,
      sequence: 1,
      timestamp: 2,
      ssrc: 3,
      csrc: [4, 5],
      extension: buildRtpExtension([{ id: 3, data: Uint8Array.of(1, 2) }]),
      paddingLength: 3,
    },
    Uint8Array.of(1, 2, 3, 4),
  );

  test("every truncation decodes without throwing; the full view agrees with decodeRtp", () => {
    const view = new RtpHeaderView();
    for (let n = 0; n <= full.length; n++) {
      const rtp = decodeRtp(full, 0, n);
      const valid = readRtpHeader(full, 0, n, view);
      if (n < 12) assert.equal(rtp.anomalies[0]?.code, "truncated", `length ${n}`);
      if (valid) {
        assert.equal(rtp.complete, true);
        assert.deepEqual(rtp.anomalies, []);
        assert.equal(view.payloadOffset, rtp.payloadOffset);
        assert.equal(view.payloadLength, rtp.payloadLength);
      }
      assert.equal(looksLikeRtp(full, 0, n), valid, `length ${n}`);
    }
    assert.equal(readRtpHeader(full, 0, full.length, view), true);
  });

  test("bad padding count and bad version are anomalies", () => {
    const zeroPad = Uint8Array.from(full);
    zeroPad[zeroPad.length - 1] = 0;
    assert.equal(decodeRtp(zeroPad, 0, zeroPad.length).anomalies[0]?.code, "bad-length");
    const hugePad = Uint8Array.from(full);
    hugePad[hugePad.length - 1] = 255;
    assert.equal(decodeRtp(hugePad, 0, hugePad.length).anomalies[0]?.code, "bad-length");
    const v1 = Uint8Array.from(full);
    v1[0] = (v1[0]! & 0x3f) | 0x40;
    assert.equal(decodeRtp(v1, 0, v1.length).anomalies[0]?.code, "bad-version");
    assert.equal(looksLikeRtp(v1, 0, v1.length), false);
    const huge = Uint8Array.from(full);
    huge[12 + 8 + 2] = 0xff; // extension length 0xff.. words
    assert.equal(decodeRtp(huge, 0, huge.length).anomalies[0]?.code, "truncated");
  });

  test("looksLikeRtp refuses the RTCP payload type range", () => {
    for (let pt = 72; pt <= 76; pt++) {
      const bytes = encodeRtp({ marker: true, payloadType: pt, sequence: 0, timestamp: 0, ssrc: 0 }, new Uint8Array(8));
      assert.equal(looksLikeRtp(bytes, 0, bytes.length), false);
    }
  });
});

describe("RTP payload types (RFC 3551)", () => {
  test("static table", () => {
    assert.equal(staticPayloadType(0)?.encoding, "PCMU");
    assert.equal(staticPayloadType(8)?.encoding, "PCMA");
    assert.equal(staticPayloadType(9)?.encoding, "G722");
    assert.equal(staticClockRate(9), 8000);
    assert.equal(staticPayloadType(18)?.encoding, "G729");
    assert.equal(staticPayloadType(34)?.media, "video");
    assert.equal(staticClockRate(34), 90000);
    assert.equal(staticPayloadType(2), undefined);
    assert.equal(staticPayloadType(101), undefined);
    assert.equal(isDynamicPayloadType(101), true);
    assert.equal(isDynamicPayloadType(95), false);
  });
});

describe("RTP agrees with tshark on baresip calls", () => {
  for (const capture of CAPTURES) {
    test(capture, () => {
      const fields = ["rtp.seq", "rtp.timestamp", "rtp.ssrc", "rtp.p_type", "rtp.marker", "rtp.padding", "rtp.cc"];
      const expected = tsharkFields(capture, "rtp", fields);
      const rtcpFrames = tsharkFields(capture, "rtcp", ["rtcp.pt"]);
      const sipFrames = tsharkFields(capture, "sip", ["sip.CSeq.seq"]);
      assert.ok(expected.size > 300, `${capture}: tshark saw ${expected.size} RTP packets`);
      const view = new RtpHeaderView();
      let compared = 0;
      for (const udp of readUdpPayloads(capture)) {
        const row = expected.get(udp.frame);
        const heuristic = looksLikeRtp(udp.bytes, 0, udp.bytes.length);
        if (!row) {
          if (sipFrames.has(udp.frame)) assert.equal(heuristic, false, `frame ${udp.frame}: SIP is not RTP`);
          if (rtcpFrames.has(udp.frame)) assert.equal(heuristic, false, `frame ${udp.frame}: RTCP is not RTP`);
          continue;
        }
        const rtp = decodeRtp(udp.bytes, 0, udp.bytes.length);
        const mine = {
          "rtp.seq": String(rtp.sequence),
          "rtp.timestamp": String(rtp.timestamp),
          "rtp.ssrc": `0x${rtp.ssrc.toString(16).padStart(8, "0")}`,
          "rtp.p_type": String(rtp.payloadType),
          "rtp.marker": rtp.marker ? "1" : "0",
          "rtp.padding": rtp.padding ? "1" : "0",
          "rtp.cc": String(rtp.csrcCount),
        };
        assert.deepEqual(mine, row, `frame ${udp.frame}`);
        assert.equal(rtp.complete, true);
        assert.equal(heuristic, true);
        assert.equal(readRtpHeader(udp.bytes, 0, udp.bytes.length, view), true);
        assert.equal(view.sequence, rtp.sequence);
        assert.equal(view.timestamp, rtp.timestamp);
        assert.equal(view.ssrc, rtp.ssrc);
        assert.equal(view.payloadLength, rtp.payloadLength);
        assert.deepEqual(encodeRtp(rtp, rtp.payload), udp.bytes, `frame ${udp.frame} re-encodes identically`);
        compared++;
      }
      assert.equal(compared, expected.size);
    });
  }
});
