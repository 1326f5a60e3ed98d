import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { readCaptureBytes } from "./capture-reader.ts";
import { Anomaly, Dissection, dissect } from "./dissect.ts";
import { decodePacket } from "./packet.ts";
import { tsharkFields } from "./test-support/tshark-fields.ts";

/**
 * Packets captured on their sender before segmentation offload: IPv4 total length 0 (TSO, Linux
 * BIG TCP) is the rest of the frame, and an IPv6 jumbogram (payload length 0, RFC 2675 Jumbo
 * Payload option, Linux BIG TCP) is as long as its option says: both paths read the TCP segment
 * tshark reads (tcp.len), with no length anomaly. An IPv6 payload length 0 without the option is
 * left undecoded, as tshark leaves it.
 */
const TCPDUMP_TESTS = join(import.meta.dirname, "../../../shared/data/realcaps/odd/tcpdump-tests");

for (const name of ["ipv4_tcp_http_xml_tso.pcap", "bigtcp-ipv4.pcap", "bigtcp-ipv6-hbh.pcap", "bigtcp-ipv6.pcap"]) {
  test(`${name}: the TCP segment length tshark reads`, () => {
    const file = join(TCPDUMP_TESTS, name);
    const expected = tsharkFields(file, ["tcp.len"]).map((row) => row[0]);
    const fast: string[] = [];
    const slow: string[] = [];
    const d = new Dissection();
    readCaptureBytes(readFileSync(file), (r) => {
      dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, d);
      fast.push(d.payloadOffset >= 0 && d.ipProto === 6 ? String(d.payloadLength) : "");
      const frame = r.buffer.subarray(r.offset, r.offset + r.caplen);
      const packet = decodePacket(frame, r.linkType, { wireLength: r.origlen });
      const tcpAt = packet.layers.findIndex((layer) => layer.type === "TCP");
      const payload = packet.layers[tcpAt + 1];
      slow.push(tcpAt < 0 ? "" : payload?.type === "Raw" ? String(payload.fields.data.length) : "0");
      if (tcpAt >= 0) {
        assert.deepEqual(
          packet.anomalies.filter((a) => a.code === "bad-length"),
          [],
          name,
        );
        assert.equal(d.anomalies & Anomaly.BAD_LENGTH, 0);
      }
    });
    assert.deepEqual(fast, expected, "fast path");
    assert.deepEqual(slow, expected, "slow path");
  });
}
