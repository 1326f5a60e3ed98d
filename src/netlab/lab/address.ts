import { ipv4Text, parseIpv4Number } from "../../common/index.ts";
import { QoelabError } from "../../errors.ts";

/** IPv4 dotted quad → unsigned 32-bit integer; undefined when not a valid address. */
export const parseIpv4 = parseIpv4Number;
export const formatIpv4 = ipv4Text;

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

/** Any IPv4 prefix ("192.0.2.0/24"; a bare address is a /32), for destinations outside the lab. */
export function parseIpv4Cidr(text: string): Ipv4Subnet | undefined {
  const match = /^([\d.]+)(?:\/(\d{1,2}))?$/.exec(text);
  const base = match ? parseIpv4(match[1] as string) : undefined;
  const prefix = match?.[2] === undefined ? 32 : Number(match[2]);
  if (base === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (base & mask) >>> 0, prefix };
}

export function formatSubnet(subnet: Ipv4Subnet): string {
  return `${formatIpv4(subnet.base)}/${subnet.prefix}`;
}

export function subnetsOverlap(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return (a.base & mask) >>> 0 === (b.base & mask) >>> 0;
}

/*
 * Uplinks join a lab's router to this host's root namespace, so their addresses live in the root
 * namespace's routing table and must differ between labs (lab subnets otherwise may repeat, as every
 * lab lives in its own namespaces). Uplink slot i takes the /30 10.77.255.4i/30 (router .4i+1, host
 * .4i+2) and, unless the lab names its own subnet, the lab subnet 10.77.(128+i).0/24: both above the
 * default 10.77.0.0/24 and the low /24s that tests and examples use.
 */
export const UPLINK_SLOTS = 64;
const UPLINK_BLOCK = parseIpv4("10.77.255.0") as number;
const UPLINK_LAB_SUBNETS = parseIpv4("10.77.128.0") as number;

export function uplinkSlotPlan(index: number): { uplink: string; subnet: string } {
  if (!Number.isInteger(index) || index < 0 || index >= UPLINK_SLOTS) {
    throw new QoelabError("LAB_UPLINK_EXHAUSTED", `uplink slot ${index}: only ${UPLINK_SLOTS} uplinks exist`, {
      index,
    });
  }
  return {
    uplink: `${formatIpv4(UPLINK_BLOCK + 4 * index)}/30`,
    subnet: `${formatIpv4(UPLINK_LAB_SUBNETS + 256 * index)}/24`,
  };
}
