import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { analyzeCaptureFile } from "./analyze.ts";
import type { FlowsResult } from "./results.ts";
import { assertRealcapsAgree, readOracleTable } from "./test-support/realcaps-oracle.ts";

/**
 * Every realcaps capture through `flows`: the TCP and UDP packets of each address:port pair, per
 * direction, equal the frames of tshark's conversations (`tshark -q -z conv,tcp -z conv,udp`,
 * tshark 4.0, its defaults: IP reassembly on, innermost IP of a tunnel; flows with `tunnels: "both"`,
 * as tshark counts a UDP tunnel's frame in both conversations). The table
 * test-data/realcaps-conversations.tsv was made once by test-data/make-realcaps-conversations.py;
 * per capture it holds tshark's TCP and UDP frame totals, the number of pairs and a digest of the
 * pairs' lines, which this test computes alike from qoelab's flows.
 *
 * The captures below differ for a reason each; the test checks that they still differ, so the
 * list shrinks as qoelab learns.
 */
const KNOWN_DIFFERENCES = new Map<string, string>([
  ...[
    "odd/libpcap-tests/arcnet-rfc1051-arp-icmp-http.pcap",
    "odd/libpcap-tests/arcnet-rfc1201-arp-icmp-http.pcap",
    "odd/tcpdump-tests/arcnet-rfc1051-arp-icmp-http.pcap",
    "odd/tcpdump-tests/arcnet-rfc1201-arp-icmp-http.pcap",
    "odd/tcpdump-tests/LINKTYPE_PKTAP.pcap",
    "odd/tcpdump-tests/LINKTYPE_USER2_PKTAP.pcap",
    "odd/tcpdump-tests/bgp-aigp.pcap",
  ].map((file) => [file, "a link type no layer decodes (ARCNET, PKTAP, Juniper)"] as const),
  ...["odd/pcapplusplus/null_loopback.pcap", "odd/pcapplusplus/packet-examples/NullLoopback.pcap"].map(
    (file) =>
      [file, "a null/loopback header 0f 00 08 00 (no address family): tshark reads an EtherType in it"] as const,
  ),
  ...["odd/tcpdump-tests/pim-packet-assortment.pcap", "odd/tcpdump-tests/of13_ericsson.pcapng"].map(
    (file) => [file, "a PIM Register or an OpenFlow message: not decoded"] as const,
  ),
  [
    "odd/suricata-verify/tcp-malformed-ipv4.pcap",
    "an IPv4 Security option of length 2: tshark stops at the malformed option, qoelab reads the segment",
  ],
  ...[
    "odd/tcpdump-tests/beep-oobr.pcap",
    "odd/tcpdump-tests/heapoverflow-tcp_print.pcap",
    "odd/tcpdump-tests/mptcp-dss-oobr.pcap",
    "odd/tcpdump-tests/tcp-auth-heapoverflow.pcap",
    "odd/tcpdump-tests/LINKTYPE_IPV4_invalid.pcap",
  ].map((file) => [file, "fuzzed headers (tcpdump's out-of-bounds tests) that tshark reads otherwise"] as const),
  ["odd/libpcap-tests/ipv6_ext_headers.pcap", "more than 8 IPv6 extension headers: malformed for qoelab"],
  ...["odd/libpcap-tests/AH-IPcomp-IPv4.pcap", "odd/libpcap-tests/AH-IPcomp-IPv6.pcap"].map(
    (file) => [file, "IPComp (RFC 3173) payloads: tshark inflates them, qoelab does not"] as const,
  ),
  [
    "odd/misc/zeek-ipv6-reassembly-state-leak.pcap",
    "a fragmented IPv6 jumbogram: qoelab reassembles datagrams of at most 65,535 bytes",
  ],
]);

interface Expected {
  tcpFrames: number;
  udpFrames: number;
  pairs: number;
  digest: string;
}

/** The table's columns for qoelab's flows, and the pair lines (for a failure's message). */
function summarize(result: FlowsResult): Expected & { lines: string[] } {
  const frames = new Map<string, [number, number]>();
  const totals = { tcp: 0, udp: 0 };
  for (const flow of result.flows) {
    const client = `${flow.client.address}:${flow.client.port}`;
    const server = `${flow.server.address}:${flow.server.port}`;
    const [low, high] = client < server ? [client, server] : [server, client];
    const key = `${flow.proto} ${low} ${high}`;
    const counts = frames.get(key) ?? [0, 0];
    const up = client === low ? flow.c2s.packets : flow.s2c.packets;
    const down = client === low ? flow.s2c.packets : flow.c2s.packets;
    counts[0] += up;
    counts[1] += down;
    frames.set(key, counts);
    totals[flow.proto] += up + down;
  }
  const lines = [...frames.keys()].sort().map((key) => `${key} ${frames.get(key)![0]} ${frames.get(key)![1]}`);
  const digest = createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
  return { tcpFrames: totals.tcp, udpFrames: totals.udp, pairs: lines.length, digest, lines };
}

test("every real capture: flows count each TCP/UDP pair's packets per direction as tshark's conversations", async () => {
  let pairs = 0;
  const compared = await assertRealcapsAgree(
    readOracleTable("test-data/realcaps-conversations.tsv"),
    KNOWN_DIFFERENCES,
    async (file, [tcp, udp, pairCount, digest]) => {
      const expected = { tcpFrames: Number(tcp), udpFrames: Number(udp), pairs: Number(pairCount), digest };
      // tshark counts a UDP tunnel's frame in the conversation inside too.
      const ours = summarize(await analyzeCaptureFile(file, { workers: 1, tunnels: "both" }));
      pairs += expected.pairs;
      const equal =
        ours.digest === expected.digest &&
        ours.tcpFrames === expected.tcpFrames &&
        ours.udpFrames === expected.udpFrames;
      return equal
        ? null
        : `qoelab tcp ${ours.tcpFrames} udp ${ours.udpFrames} in ${ours.pairs} pairs, tshark tcp ${expected.tcpFrames} udp ${expected.udpFrames} in ${expected.pairs} pairs; ours: ${ours.lines.slice(0, 4).join("; ")}`;
    },
  );
  assert.ok(compared > 1000, `${compared} captures compared`);
  assert.ok(pairs > 3000, `${pairs} address:port pairs compared`);
});
