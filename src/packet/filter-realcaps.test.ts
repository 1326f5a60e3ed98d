import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { keysOf, qoelabKeys, tcpdumpKeys as tcpdumpKeysIn } from "./test-support/filter-keys.ts";

/**
 * Oracle: tcpdump/libpcap on real captures written by others (../shared/data/realcaps) with
 * VLAN tags (one, two, 802.1ad), MPLS label stacks and PPPoE discovery and session frames: the
 * packets `tcpdump -r F -w out EXPR` keeps must be exactly the packets qoelab's filter keeps. The
 * point is pcap-filter(7)'s offset rule: `ip` does not see through a tag; `vlan`, `mpls` and
 * `pppoes` move the offsets of what follows them.
 */

const REALCAPS = join(import.meta.dirname, "../../../shared/data/realcaps");
const dir = mkdtempSync(join(tmpdir(), `qoelab-filter-real-${process.pid}-`));
after(() => rmSync(dir, { recursive: true, force: true }));

const tcpdumpKeys = (file: string, expression: string) => tcpdumpKeysIn(dir, file, expression);

const COMMON = [
  "ip",
  "ip6",
  "icmp",
  "tcp",
  "udp",
  "arp",
  "not ip",
  "vlan",
  "not vlan",
  "vlan and ip",
  "vlan and icmp",
  "vlan and tcp",
  "vlan and udp",
  "vlan and arp",
  "not vlan and ip",
  "vlan and vlan",
  "vlan and vlan and ip",
  "vlan and not vlan",
  "ip or vlan and ip",
  "vlan and ip and ip[9] = 6",
  "vlan and port 80",
  "vlan and host 192.168.1.1",
  "ether proto 0x8100",
  "ether proto 0x88a8",
  "vlan and ether[12:2] = 0x8100",
];

const CASES: Record<string, string[]> = {
  "odd/pcapplusplus/many-protocols.pcap": [...COMMON, "vlan 1", "vlan 2 and icmp", "icmp or (vlan and icmp)"],
  "odd/misc/arkime-twovlan.pcap": [...COMMON, "vlan and vlan and tcp", "vlan and vlan and port 80"],
  "odd/misc/arkime-dot1ad.pcap": COMMON,
  "odd/pcapplusplus/packet-examples/QinQ_802.1_AD.pcapng": COMMON,
  "odd/suricata-verify/eve-flow-vlan-02.pcap": COMMON,
  "odd/suricata-verify/frag-eth-vlan-ipv6-tcp.pcap": [...COMMON, "vlan and ip6 and tcp", "vlan and ip6 proto 44"],
  "odd/pcapplusplus/packet-examples/MplsPackets.pcap": [
    "ip",
    "mpls",
    "mpls and ip",
    "mpls and mpls",
    "mpls and mpls and ip",
    "mpls and ip6",
    "mpls and udp",
    "mpls and mpls and udp",
    "not mpls",
    "mpls 16",
    "mpls and tcp",
    "mpls 18",
    "mpls 18 and mpls 16 and ip",
    "mpls and mpls and icmp",
    "vlan and vlan and mpls",
    "vlan and vlan and mpls 16000 and tcp port 80",
    "vlan and vlan and mpls and ip",
  ],
  "odd/libpcap-tests/pppoes.pcap": [
    "pppoes",
    "pppoed",
    "pppoes and ip",
    "pppoes and ip6",
    "pppoes and udp",
    "pppoes and tcp",
    "ip",
    "pppoes 1",
    "pppoes 0x27 and ip",
    "not pppoes",
    "pppoes 0x17",
    "pppoes 0x3b",
    "pppoes and ether[20:2] = 0xc021",
  ],
  "odd/libpcap-tests/pppoe.pcap": ["pppoed", "pppoes", "pppoes and ip", "ip", "not pppoed"],
  "odd/pcapplusplus/packet-examples/PPPoEDiscovery.pcap": ["pppoed", "pppoes", "ip"],
  "odd/pcapplusplus/packet-examples/PPPoESession.pcap": ["pppoes", "pppoes and ip", "pppoes and ip6", "pppoes and udp"],
  "odd/suricata-verify/pppoe-session-http.pcap": [
    "pppoes",
    "pppoes and tcp",
    "pppoes and tcp port 80",
    "pppoes and host 10.0.0.1",
    "tcp",
  ],
  "voip/DTMFsipinfo.pcap": [
    "pppoes",
    "pppoed",
    "pppoes and udp",
    "pppoes and udp port 5060",
    "pppoes and udp[8] & 0xc0 = 0x80",
    "pppoes 0x18e5 and udp port 5060",
    "pppoes 0x18e6",
    "pppoes and host 213.192.59.75",
    "pppoes and src host 178.45.73.241 and udp",
    "pppoes and ip[9] = 17",
    "pppoes and link[0:2] = 0x0021",
    "udp",
    "ip",
  ],
  // Serial links: PPP (LINKTYPE_PPP with RFC 1662 framing; one file without the framing, where
  // libpcap's fixed offsets match nothing), Cisco HDLC, and raw IP written as LINKTYPE 12.
  "odd/tcpdump-tests/mpls-ldp-hello.pcap": ["ip", "udp", "udp port 646", "ip multicast", "tcp", "ip6", "not ip"],
  "odd/tcpdump-tests/icmp-rfc5837.pcap": ["ip", "icmp", "net 10.0.0.0/8", "udp", "ip[8] < 64"],
  "odd/suricata-verify/frag-ppp-ipv6-tcp.pcap": ["ip6", "tcp", "ip6 and tcp", "ip", "not ip6"],
  "odd/tcpdump-tests/HDLC.pcap": ["ip", "icmp", "net 10.0.0.0/8", "udp", "ip6", "not ip"],
  "odd/pcapplusplus/packet-examples/CiscoHDLC.pcap": ["ip", "ip6", "tcp", "icmp", "tcp port 80", "ip6 and tcp"],
  "odd/pcapplusplus/four_ipv6_http_streams.pcap": ["ip6", "tcp", "tcp port 80", "ip", "ip6 and dst port 80"],
};

const present = Object.keys(CASES).filter((f) => existsSync(join(REALCAPS, f)));

describe("capture filter vs tcpdump on real captures (VLAN, MPLS, PPPoE, PPP, Cisco HDLC, raw IP)", {
  skip: present.length === 0,
}, () => {
  test("icmp on many-protocols.pcap keeps what tcpdump keeps (89, not the 109 tagged or not)", () => {
    const file = join(REALCAPS, "odd/pcapplusplus/many-protocols.pcap");
    const ours = qoelabKeys(readFileSync(file), "icmp");
    assert.equal(ours.length, tcpdumpKeys(file, "icmp").length);
    assert.equal(ours.length, 89);
  });

  let selective = 0;
  for (const name of present) {
    test(name, () => {
      const file = join(REALCAPS, name);
      const bytes = readFileSync(file);
      const total = keysOf(bytes).length;
      for (const expression of CASES[name]!) {
        const ours = qoelabKeys(bytes, expression);
        assert.deepEqual(ours, tcpdumpKeys(file, expression), `${name}: ${expression}`);
        if (ours.length > 0 && ours.length < total) selective++;
      }
    });
  }

  test("the comparison is not vacuous: many expressions keep some packets and drop others", () => {
    assert.ok(selective >= 30, `${selective} selective expressions`);
  });
});
