/**
 * The protocol numbers qoelab names: EtherTypes, IP protocols, TCP flag bits and option kinds.
 * Plain constants importing nothing, so `packet/numbers/` can offer them (with the Dissection
 * record's bits) to code that must start light: a flow shard worker thread loads these, not the
 * 80 modules of the layers (about 5 MB less per thread).
 */

/** EtherTypes (IEEE registry) qoelab names. */
export const EtherType = {
  IPV4: 0x0800,
  ARP: 0x0806,
  RARP: 0x8035,
  VLAN: 0x8100,
  QINQ: 0x88a8,
  VLAN_9100: 0x9100,
  IPV6: 0x86dd,
  MPLS: 0x8847,
  MPLS_MULTICAST: 0x8848,
  PPPOE_DISCOVERY: 0x8863,
  PPPOE_SESSION: 0x8864,
} as const;

/** IP protocol / IPv6 next-header numbers (IANA) qoelab names. */
export const IpProto = {
  HOPOPT: 0,
  ICMP: 1,
  IGMP: 2,
  IPIP: 4,
  TCP: 6,
  IGRP: 9,
  UDP: 17,
  IPV6: 41,
  IPV6_ROUTE: 43,
  IPV6_FRAG: 44,
  GRE: 47,
  ESP: 50,
  AH: 51,
  ICMPV6: 58,
  IPV6_NONXT: 59,
  IPV6_OPTS: 60,
  PIM: 103,
  VRRP: 112,
  SCTP: 132,
  MOBILITY: 135,
} as const;

/** Flag bits of the 12-bit flags field (`TcpFields.flags`, `Dissection.tcpFlags` holds the low 8). */
export const TcpFlag = {
  FIN: 0x001,
  SYN: 0x002,
  RST: 0x004,
  PSH: 0x008,
  ACK: 0x010,
  URG: 0x020,
  ECE: 0x040,
  CWR: 0x080,
  AE: 0x100,
} as const;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
export const TcpOptionKind = {
  EOL: 0,
  NOP: 1,
  MSS: 2,
  WINDOW_SCALE: 3,
  SACK_PERMITTED: 4,
  SACK: 5,
  TIMESTAMPS: 8,
  MD5: 19,
  USER_TIMEOUT: 28,
  AUTHENTICATION: 29,
  MPTCP: 30,
  FAST_OPEN: 34,
} as const;
