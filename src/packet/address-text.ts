import { ipv6GroupsText, parseIpv4Number, parseIpv6Groups } from "../common/index.ts";
import { QoelabError } from "../errors.ts";

/**
 * Text forms of link and IP addresses as tshark prints them: MAC `02:00:00:00:00:01`, IPv4
 * dotted quad, IPv6 in RFC 5952 canonical form (lower case, longest zero run compressed).
 * Parsing throws `PACKET_BAD_ADDRESS` (user input); formatting never throws.
 */

export function formatMac(bytes: Uint8Array, offset = 0, length = 6): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    if (i > 0) out += ":";
    out += (bytes[offset + i] ?? 0).toString(16).padStart(2, "0");
  }
  return out;
}

export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new QoelabError("PACKET_BAD_ADDRESS", `"${text}" is not a MAC address (like 02:00:00:00:00:01)`, {
      address: text,
    });
  }
  return Uint8Array.from(parts.map((p) => Number.parseInt(p, 16)));
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

export function parseIpv4(text: string): Uint8Array {
  const value = parseIpv4Number(text);
  if (value === undefined) {
    throw new QoelabError("PACKET_BAD_ADDRESS", `"${text}" is not an IPv4 address (like 10.77.0.1)`, {
      address: text,
    });
  }
  return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
}

export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0));
  // IPv4-mapped addresses keep the dotted tail (RFC 5952 §5).
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  return ipv6GroupsText(words);
}

export function parseIpv6(text: string): Uint8Array {
  const groups = parseIpv6Groups(text);
  if (!groups) {
    throw new QoelabError("PACKET_BAD_ADDRESS", `"${text}" is not an IPv6 address (like fd00:77::1)`, {
      address: text,
    });
  }
  const out = new Uint8Array(16);
  groups.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

/** Parses an IPv4 or IPv6 address; the result has 4 or 16 bytes. */
export function parseIp(text: string): Uint8Array {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

export function formatHex(bytes: Uint8Array, offset = 0, end = bytes.length): string {
  let out = "";
  for (let i = offset; i < end; i++) out += bytes[i]!.toString(16).padStart(2, "0");
  return out;
}

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/[\s:]/g, "").replace(/^0x/i, "");
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) {
    throw new QoelabError("PACKET_BAD_HEX", `"${text}" is not an even number of hex digits`, { text });
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
