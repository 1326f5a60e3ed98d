import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { analyzeCaptureFile } from "./analyze.ts";
import { assertRealcapsAgree, readOracleTable } from "./test-support/realcaps-oracle.ts";
import type { TimeSeries } from "./time-series.ts";

/**
 * Every realcaps capture through `flows --align first-packet`: the capture time series (1 s
 * windows from the first packet) holds, window by window, the frames and bytes of tshark's I/O
 * statistics of the TCP and UDP frames (`tshark -q -z io,stat,1,"(tcp or udp) and not icmp and not
 * icmpv6"`, tshark 4.0, intervals from the first frame). The table test-data/realcaps-io-stat.tsv
 * was made once by test-data/make-realcaps-io-stat.py: per capture the occupied intervals, their
 * frames and bytes, and a digest of the lines "INTERVAL FRAMES BYTES", which this test computes
 * alike from qoelab's series.
 *
 * The captures below differ for a reason each; the test checks that they still differ, so the
 * list shrinks as qoelab learns.
 */
const KNOWN_DIFFERENCES = new Map<string, string>([
  ...[
    "odd/libpcap-tests/AH-IPcomp-IPv4.pcap",
    "odd/libpcap-tests/AH-IPcomp-IPv6.pcap",
    "odd/libpcap-tests/arcnet-rfc1051-arp-icmp-http.pcap",
    "odd/libpcap-tests/arcnet-rfc1201-arp-icmp-http.pcap",
    "odd/libpcap-tests/ipv6_ext_headers.pcap",
    "odd/misc/zeek-ipv6-reassembly-state-leak.pcap",
    "odd/tcpdump-tests/LINKTYPE_IPV4_invalid.pcap",
    "odd/tcpdump-tests/LINKTYPE_PKTAP.pcap",
    "odd/tcpdump-tests/LINKTYPE_USER2_PKTAP.pcap",
    "odd/tcpdump-tests/arcnet-rfc1051-arp-icmp-http.pcap",
    "odd/tcpdump-tests/arcnet-rfc1201-arp-icmp-http.pcap",
    "odd/tcpdump-tests/bgp-aigp.pcap",
    "odd/tcpdump-tests/pim-packet-assortment.pcap",
    "odd/suricata-verify/tcp-malformed-ipv4.pcap",
  ].map(
    (file) =>
      [
        file,
        "flows differ from tshark's conversations here too, for the reason realcaps-conversations.test.ts gives",
      ] as const,
  ),
  ...[
    "odd/tcpdump-tests/timestamp_invalid_micro.pcap",
    "tcp/anomalies/peafowl-http-2-out-of-order.pcap",
    "tcp/anomalies/peafowl-http_out_of_order_1.pcap",
    "tcp/anomalies/peafowl-http_out_of_order_2.pcap",
    "tcp/ftp-crack.pcap",
  ].map(
    (file) =>
      [
        file,
        "time stamps go backwards: tshark's io,stat counts a frame stamped before its latest interval in that interval, qoelab in the window of the frame's own time",
      ] as const,
  ),
  ...[
    "odd/tcpdump-tests/ikev2pI2.pcap",
    "odd/tcpdump-tests/bfd-raw-auth-md5.pcap",
    "odd/tcpdump-tests/scps_invalid.pcap",
  ].map(
    (file) =>
      [
        file,
        "the last frame is stamped a whole number of intervals after the first: tshark's io,stat has no interval for it and leaves it out",
      ] as const,
  ),
  ...[
    "odd/libpcap-tests/vxlan.pcap",
    "odd/tcpdump-tests/vxlan.pcap",
    "odd/pcapplusplus/packet-examples/Vxlan1.pcap",
    "odd/pcapplusplus/packet-examples/Vxlan2.pcap",
    "odd/pcapplusplus/packet-examples/gtp-u.pcap",
    "odd/suricata-verify/geneve.pcap",
    "odd/libpcap-tests/geneve.pcap",
    "odd/tcpdump-tests/geneve.pcap",
    "odd/tcpdump-tests/mpls-over-udp.pcap",
  ].map(
    (file) =>
      [
        file,
        "a UDP tunnel carrying ICMP: the oracle's filter (not icmp) drops the frame, qoelab counts its outer UDP",
      ] as const,
  ),
  ...[
    "odd/tcpdump-tests/bigtcp-ipv4-geneve-ipv4.pcap",
    "odd/tcpdump-tests/bigtcp-ipv4-geneve-ipv6.pcap",
    "odd/tcpdump-tests/bigtcp-ipv4-vxlan-ipv4.pcap",
    "odd/tcpdump-tests/bigtcp-ipv4-vxlan-ipv6.pcap",
  ].map(
    (file) =>
      [
        file,
        "a BIG TCP segment (over 64 KiB) inside a UDP tunnel: the outer UDP length cannot hold it, qoelab counts no UDP packet, tshark reads the tunnel on",
      ] as const,
  ),
  ...[
    "odd/pcapplusplus/packet-examples/tcp-malformed.pcap",
    "odd/tcpdump-tests/tcp_header_heapoverflow.pcap",
    "odd/tcpdump-tests/udp-length-heapoverflow.pcap",
  ].map(
    (file) =>
      [
        file,
        "a malformed TCP or UDP header (fuzzed, or a test of one): tshark's filter still matches the layer, qoelab counts no TCP/UDP packet",
      ] as const,
  ),
]);

interface Expected {
  intervals: number;
  frames: number;
  bytes: number;
  digest: string;
}

/** The table's columns for qoelab's series, and its occupied windows (for a failure's message). */
function summarize(series: TimeSeries): Expected & { lines: string[] } {
  const lines: string[] = [];
  let frames = 0;
  let bytes = 0;
  for (let i = 0; i < series.start.length; i++) {
    const packets = series.packets[i]!;
    if (packets === 0) continue;
    const interval = Math.round((series.start[i]! - series.origin) / series.window);
    lines.push(`${interval} ${packets} ${series.bytes[i]!}`);
    frames += packets;
    bytes += series.bytes[i]!;
  }
  const digest = createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
  return { intervals: lines.length, frames, bytes, digest, lines };
}

test("every real capture: the 1 s series from the first packet equals tshark's io,stat of its TCP and UDP frames", async () => {
  let windows = 0;
  const compared = await assertRealcapsAgree(
    readOracleTable("test-data/realcaps-io-stat.tsv"),
    KNOWN_DIFFERENCES,
    async (file, [intervals, frames, bytes, digest]) => {
      const expected = { intervals: Number(intervals), frames: Number(frames), bytes: Number(bytes), digest };
      const result = await analyzeCaptureFile(file, { workers: 1, windowOrigin: "first-packet" });
      const ours = summarize(result.series);
      windows += expected.intervals;
      const equal = ours.digest === expected.digest && ours.frames === expected.frames && ours.bytes === expected.bytes;
      return equal
        ? null
        : `qoelab ${ours.frames} frames, ${ours.bytes} B in ${ours.intervals} windows, tshark ${expected.frames} frames, ${expected.bytes} B in ${expected.intervals}; ours: ${ours.lines.slice(0, 4).join("; ")}`;
    },
  );
  assert.ok(compared > 1000, `${compared} captures compared`);
  assert.ok(windows > 3000, `${windows} occupied windows compared`);
});
