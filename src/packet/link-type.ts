/** LINKTYPE_* values (tcpdump.org link-layer header types) that qoelab decodes. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte host-order address family
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, version nibble decides
  LOOP: 108, // OpenBSD loopback: 4-byte network-order address family
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export type LinkTypeValue = (typeof LinkType)[keyof typeof LinkType];

const names = new Map<number, string>([
  [LinkType.NULL, "NULL"],
  [LinkType.ETHERNET, "EN10MB"],
  [LinkType.RAW, "RAW"],
  [LinkType.LOOP, "LOOP"],
  [LinkType.LINUX_SLL, "LINUX_SLL"],
  [LinkType.IPV4, "IPV4"],
  [LinkType.IPV6, "IPV6"],
  [LinkType.LINUX_SLL2, "LINUX_SLL2"],
]);

export function linkTypeName(linkType: number): string {
  return names.get(linkType) ?? `LINKTYPE_${linkType}`;
}

export function isSupportedLinkType(linkType: number): boolean {
  return names.has(linkType);
}
