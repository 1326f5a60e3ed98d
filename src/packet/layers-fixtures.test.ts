import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { compareWithTshark, decodeCaptureFile } from "./test-support/compare-tshark.ts";

// The captures other areas keep in test-data/ (real tcpdump/dumpcap/baresip recordings, see
// test-data/SOURCE.md), decoded by the layer model and checked against tshark field by field.
const captures = ["test-data/pcap", "test-data/sip"].flatMap((dir) =>
  readdirSync(dir)
    .filter((name) => /\.pcap(ng)?$/.test(name))
    .map((name) => join(dir, name)),
);

describe("fixture captures: layer decoding agrees with tshark", () => {
  it("finds the fixtures", () => {
    assert.ok(captures.length >= 5, captures.join(" "));
  });

  for (const file of captures) {
    it(`${file}: every compared field equals tshark's, and encode(decode(bytes)) = bytes`, () => {
      const result = compareWithTshark(file);
      assert.deepEqual(result.mismatches.slice(0, 20), []);
      assert.ok(result.compared > 100);
      for (const { packet, bytes } of decodeCaptureFile(file))
        assert.deepEqual(packet.bytes(), bytes, packet.summary());
    });
  }

  it("a baresip call decodes into SIP, SDP, RTP and RTCP layers", () => {
    const packets = decodeCaptureFile("test-data/sip/baresip-call.pcap").map((p) => p.packet);
    const invite = packets.find((p) => {
      const sip = p.get("SIP")?.fields;
      return sip?.kind === "request" && sip.method === "INVITE";
    });
    assert.ok(invite, "no INVITE");
    assert.ok(invite.get("SDP")?.fields.media.some((m) => m.media === "audio"));
    assert.match(
      invite.summary(),
      /^Ether \/ IP 10\.77\.0\.\d > 10\.77\.0\.\d \/ UDP 5060 > 5060 len=\d+ \/ SIP INVITE sip:/,
    );
    assert.ok(packets.filter((p) => p.has("RTP")).length > 500);
    assert.ok(packets.some((p) => p.has("RTCP")));
    assert.ok(packets.some((p) => p.get("SIP")?.fields.kind === "response"));
  });
});
