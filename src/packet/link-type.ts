import { codeTable } from "./layers/code-table.ts";

/** LINKTYPE_* values (tcpdump.org link-layer header types) that qoelab decodes, with their DLT names. */
const LINK_TYPES = codeTable({
  NULL: [0, "NULL"], // BSD loopback: 4-byte host-order address family
  ETHERNET: [1, "EN10MB"],
  RAW: [101, "RAW"], // raw IPv4 or IPv6, version nibble decides
  LOOP: [108, "LOOP"], // OpenBSD loopback: 4-byte network-order address family
  LINUX_SLL: [113, "LINUX_SLL"],
  IPV4: [228, "IPV4"],
  IPV6: [229, "IPV6"],
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
