import { codeTable } from "./layers/code-table.ts";

/** LINKTYPE_* values (tcpdump.org link-layer header types) that qoelab decodes, with their DLT names. */
const LINK_TYPES = codeTable({
  NULL: [0, "NULL"], // BSD loopback: 4-byte host-order address family
  ETHERNET: [1, "EN10MB"],
  PPP: [9, "PPP"], // PPP, with or without HDLC-like framing (RFC 1662)
  RAW_12: [12, "RAW"], // raw IP, as written on most BSDs (libpcap and Wireshark read it as RAW)
  RAW_14: [14, "RAW"], // raw IP, as written on OpenBSD
  PPP_HDLC: [50, "PPP_SERIAL"], // PPP in HDLC-like framing
  RAW: [101, "RAW"], // raw IPv4 or IPv6, version nibble decides
  C_HDLC: [104, "C_HDLC"], // Cisco HDLC
  IEEE802_11: [105, "IEEE802_11"], // IEEE 802.11 MAC frames, without FCS
  LOOP: [108, "LOOP"], // OpenBSD loopback: 4-byte network-order address family
  LINUX_SLL: [113, "LINUX_SLL"],
  IEEE802_11_RADIOTAP: [127, "IEEE802_11_RADIO"], // radiotap header, then an 802.11 frame
  PPI: [192, "PPI"], // Per-Packet Information header, then a frame of the DLT it names
  IPV4: [228, "IPV4"],
  IPV6: [229, "IPV6"],
  NFLOG: [239, "NFLOG"], // Linux netfilter NFLOG messages (nfnetlink_log)
  IPOIB: [242, "IPOIB"], // IP over InfiniBand: Linux's 40-byte pseudo-header, then RFC 4391's 4-byte header
  LINUX_SLL2: [276, "LINUX_SLL2"],
});

export const LinkType = LINK_TYPES.codes;

export type LinkTypeValue = (typeof LinkType)[keyof typeof LinkType];

export function linkTypeName(linkType: number): string {
  return LINK_TYPES.names.get(linkType) ?? `LINKTYPE_${linkType}`;
}

export function isSupportedLinkType(linkType: number): boolean {
  return LINK_TYPES.names.has(linkType);
}
