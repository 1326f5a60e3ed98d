/**
 * The parsed form of a pcap-filter expression: qualifiers and abbreviations already resolved,
 * addresses already numbers. The compiler turns it into one matching function.
 */

/** Which address or port of the packet a primitive looks at. */
export type FilterDirection = "src" | "dst" | "src-or-dst" | "src-and-dst";

export type ArithOp = "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";
export type RelOp = ">" | "<" | ">=" | "<=" | "==" | "!=";

/** Layers a byte accessor `layer[index:size]` is relative to. */
export type AccessorLayer =
  | "link"
  | "ip"
  | "ip6"
  | "arp"
  | "rarp"
  | "tcp"
  | "udp"
  | "sctp"
  | "icmp"
  | "igmp"
  | "igrp"
  | "pim"
  | "vrrp"
  | "carp"
  | "icmp6";

export type ArithNode =
  | { kind: "num"; value: number }
  | { kind: "len" }
  | { kind: "load"; layer: AccessorLayer; index: ArithNode; size: 1 | 2 | 4 }
  | { kind: "binary"; op: ArithOp; left: ArithNode; right: ArithNode }
  | { kind: "negate"; operand: ArithNode };

export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "const"; value: boolean }
  /** Network-layer EtherType after VLAN tags (`ip`, `ip6`, `arp`, `ether proto N`). */
  | { kind: "etherType"; value: number }
  /** EtherType field right after the MAC addresses (`ether proto 0x8100`): Ethernet only. */
  | { kind: "outerEtherType"; value: number }
  /** `ip proto N` (header byte 9) or `ip6 proto N` (next header, or after one fragment header). */
  | { kind: "ipProto"; family: 4 | 6; proto: number }
  /** `protochain N`: follows IPv6 extension headers / IPv4 AH. */
  | { kind: "protochain"; family: 4 | 6; proto: number }
  /** IPv4 address in the IP header or in ARP/RARP sender/target protocol address. */
  | { kind: "host4"; space: "ip" | "arp" | "rarp"; direction: FilterDirection; address: number; mask: number }
  | { kind: "host6"; direction: FilterDirection; words: readonly number[]; mask: readonly number[] }
  /** MAC address split into its first 2 and last 4 bytes. */
  | { kind: "etherHost"; direction: FilterDirection; high: number; low: number }
  /** Port range over the given IP protocols, IPv6 first then IPv4 (first fragments only). */
  | { kind: "port"; protocols: readonly number[]; direction: FilterDirection; low: number; high: number }
  /**
   * `vlan [id]`: the `depth`-th `vlan` keyword of the expression tests the `depth`-th tag. As in
   * libpcap, every `vlan`, `mpls` and `pppoes` moves the offsets of what follows it in the
   * expression (pcap-filter(7)).
   */
  | { kind: "vlan"; depth: number; id: number | undefined }
  /** `pppoed`: PPPoE discovery frame (EtherType 0x8863). */
  | { kind: "pppoed" }
  /** `pppoes [id]`: PPPoE session frame (0x8864), optionally of that session; what follows reads the PPP payload. */
  | { kind: "pppoes"; session: number | undefined }
  /** `mpls [label]`: an MPLS label (0x8847, or the next label of the stack); what follows reads past it. */
  | { kind: "mpls"; label: number | undefined }
  | { kind: "compare"; op: RelOp; left: ArithNode; right: ArithNode }
  | { kind: "linkBroadcast" }
  | { kind: "linkMulticast" }
  | { kind: "ipBroadcast" }
  | { kind: "ipMulticast" }
  | { kind: "ip6Multicast" }
  /** Linux cooked captures' packet type: sent by this host (outbound) or not. */
  | { kind: "packetDirection"; outbound: boolean };
