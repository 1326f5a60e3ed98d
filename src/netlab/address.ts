import { QoelabError } from "../errors.ts";

/** IPv4 dotted quad → unsigned 32-bit integer; undefined when not a valid address. */
export function parseIpv4(text: string): number | undefined {
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

export function formatIpv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

export interface Ipv4Subnet {
  base: number;
  prefix: number;
}

/** Lab addresses must stay inside 10.77.0.0/16 so lab traffic never reaches a real network. */
const LAB_V4_BASE = parseIpv4("10.77.0.0") as number;

export function parseLabSubnet(text: string, minHosts: number): Ipv4Subnet {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  const base = match ? parseIpv4(match[1] as string) : undefined;
  const prefix = match ? Number(match[2]) : Number.NaN;
  if (base === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new QoelabError("LAB_BAD_SUBNET", `subnet "${text}": expected an IPv4 prefix like 10.77.0.0/24`, {
      subnet: text,
    });
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((base & mask) >>> 0 !== base) {
    throw new QoelabError(
      "LAB_BAD_SUBNET",
      `subnet "${text}": host bits are set (network is ${formatIpv4((base & mask) >>> 0)}/${prefix})`,
      {
        subnet: text,
      },
    );
  }
  if (prefix < 16 || (base & 0xffff0000) >>> 0 !== LAB_V4_BASE) {
    throw new QoelabError("LAB_BAD_SUBNET", `subnet "${text}": lab addresses must lie inside 10.77.0.0/16`, {
      subnet: text,
    });
  }
  if (2 ** (32 - prefix) < minHosts) {
    throw new QoelabError("LAB_BAD_SUBNET", `subnet "${text}": too small for the lab (needs ${minHosts} addresses)`, {
      subnet: text,
    });
  }
  return { base, prefix };
}
