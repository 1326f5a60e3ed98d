/**
 * IP address text, the one copy: IPv4 as an unsigned 32-bit number ↔ dotted quad, IPv6 as eight
 * 16-bit groups ↔ RFC 5952 canonical text (lower case, the longest run of two or more zero groups
 * compressed, the first on a tie). Parsers return undefined on bad text; callers throw their own
 * coded error. Byte-array forms (`packet`'s formatIpv4/formatIpv6) are built on these.
 */

/** 0x0a4d0001 → "10.77.0.1". */
export function ipv4Text(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** "10.77.0.1" → 0x0a4d0001 (unsigned); undefined unless four decimal octets of at most 255. */
export function parseIpv4Number(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** Eight 16-bit groups → RFC 5952 text (no dotted IPv4 tail: `ipv6Text` adds it for mapped addresses). */
export function ipv6GroupsText(groups: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => {
    let out = "";
    for (let i = from; i < to; i++) out += (i > from ? ":" : "") + (groups[i] ?? 0).toString(16);
    return out;
  };
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}

/** Two IPv6 addresses as four 32-bit words each are the same address. */
export function sameIpv6Words(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

/** Four 32-bit words (network order, as flow keys hold an IPv6 address) → RFC 5952 text. */
export function ipv6WordsText(words: ArrayLike<number>): string {
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = words[i] ?? 0;
    groups.push(w >>> 16, w & 0xffff);
  }
  return ipv6GroupsText(groups);
}

/** IPv6 text → eight 16-bit groups; accepts `::` once and a dotted IPv4 tail; undefined on bad text. */
export function parseIpv6Groups(text: string): number[] | undefined {
  let body = text;
  const tail: number[] = [];
  const lastColon = body.lastIndexOf(":");
  if (lastColon < 0) return undefined;
  if (body.includes(".")) {
    const v4 = parseIpv4Number(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail.push(v4 >>> 16, v4 & 0xffff);
    body = body.slice(0, lastColon + 1);
    if (!body.endsWith("::")) body = body.slice(0, -1);
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const h of part.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(h)) return undefined;
      out.push(Number.parseInt(h, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length + tail.length;
  const groups = [...head];
  if (halves.length === 2) {
    if (given > 7) return undefined;
    for (let i = given; i < 8; i++) groups.push(0);
  } else if (given !== 8) return undefined;
  groups.push(...rest, ...tail);
  return groups;
}
