import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import {
  formatSubnet,
  type Ipv4Subnet,
  parseIpv4Cidr,
  parseLabSubnet,
  subnetsOverlap,
  UPLINK_SLOTS,
  uplinkSlotPlan,
} from "./address.ts";
import type { LabConfig, LabUplink, UplinkConfig } from "./lab.ts";
import { run, runOk } from "./run.ts";
import { labsDir, readJson, removeFile, writeJson } from "./state.ts";

/*
 * The system side of a lab's uplink (see lab.ts): addresses given out per uplink slot, the veth
 * between router and host, routes both ways, the router's destination filter and, for forwarding
 * uplinks, the host's iptables rules and its forwarding switch. lab.ts calls these under its locks
 * and records the uplink in the lab's state before anything is created.
 */

/** Name of the lock that serialises uplink address allocation and the host's forwarding switch. */
export const UPLINK_LOCK = "_uplinks";

const FORWARDING_MARKER = "_uplink-forwarding.json";

/** IPv4 prefixes routed in the host's main table (besides the default route). */
async function hostRoutes(): Promise<Ipv4Subnet[]> {
  const out = await runOk(["ip", "-4", "-o", "route", "show", "table", "main"], { code: "LAB_UP_FAILED" });
  const routes: Ipv4Subnet[] = [];
  for (const line of out.split("\n")) {
    const dst = line.trim().split(/\s+/)[0] ?? "";
    const cidr = dst === "default" || dst === "" ? undefined : parseIpv4Cidr(dst);
    if (cidr) routes.push(cidr);
  }
  return routes;
}

/**
 * Gives the lab an uplink slot: the first whose /30 and lab subnet no other uplink lab uses and no
 * route of this host covers. A subnet the caller chose must itself be free of those.
 */
export async function reserveUplink(
  base: LabConfig,
  request: Omit<UplinkConfig, "subnet">,
  explicitSubnet: boolean,
  others: readonly LabConfig[],
): Promise<LabConfig> {
  const routes = await hostRoutes();
  const used: { subnet: Ipv4Subnet; owner: string }[] = routes.map((subnet) => ({
    subnet,
    owner: `this host's route ${formatSubnet(subnet)}`,
  }));
  for (const other of others) {
    if (!other.uplink || other.name === base.name) continue;
    used.push({ subnet: parseLabSubnet(other.subnet, 4), owner: `lab "${other.name}"` });
    used.push({ subnet: parseLabSubnet(other.uplink.subnet, 4), owner: `lab "${other.name}"'s uplink` });
  }
  const clash = (subnet: Ipv4Subnet) => used.find((u) => subnetsOverlap(u.subnet, subnet));
  if (explicitSubnet) {
    const taken = clash(parseLabSubnet(base.subnet, 8));
    if (taken) {
      throw new QoelabError(
        "LAB_UPLINK_CLASH",
        `lab "${base.name}": subnet ${base.subnet} overlaps ${taken.owner}; a lab with an uplink needs a subnet of its own on this host`,
        { lab: base.name, subnet: base.subnet },
      );
    }
  }
  for (let index = 0; index < UPLINK_SLOTS; index++) {
    const plan = uplinkSlotPlan(index);
    if (clash(parseLabSubnet(plan.uplink, 4))) continue;
    const subnet = explicitSubnet ? base.subnet : plan.subnet;
    if (!explicitSubnet && clash(parseLabSubnet(subnet, 8))) continue;
    return { ...base, subnet, uplink: { subnet: plan.uplink, ...request } };
  }
  throw new QoelabError(
    "LAB_UPLINK_EXHAUSTED",
    `lab "${base.name}": all ${UPLINK_SLOTS} uplink slots (10.77.255.0/24) are in use; take a lab with an uplink down first`,
    { lab: base.name },
  );
}

/** The host's iptables rules of a forwarding uplink, tagged with the lab's name. */
function hostRules(lab: string, uplink: LabUplink): { table: string; chain: string; spec: string[] }[] {
  const tag = ["-m", "comment", "--comment", `qoelab-uplink:${lab}`];
  return [
    { table: "filter", chain: "FORWARD", spec: ["-i", uplink.hostIface, ...tag, "-j", "ACCEPT"] },
    {
      table: "filter",
      chain: "FORWARD",
      spec: ["-o", uplink.hostIface, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", ...tag, "-j", "ACCEPT"],
    },
    {
      table: "nat",
      chain: "POSTROUTING",
      spec: ["-s", uplink.labSubnet, "!", "-o", uplink.hostIface, ...tag, "-j", "MASQUERADE"],
    },
  ];
}

/** Creates the uplink of a lab whose namespaces and inner links are up. */
export async function createUplink(lab: string, uplink: LabUplink): Promise<void> {
  const code = "LAB_UP_FAILED";
  const router = uplink.netns;
  if ((await run(["ip", "link", "show", "dev", uplink.hostIface])).code === 0) {
    throw new QoelabError(
      "LAB_UPLINK_EXISTS",
      `lab "${lab}": interface ${uplink.hostIface} already exists on this host but the lab has no record of it; remove it yourself or pick another lab name`,
      { lab, iface: uplink.hostIface },
    );
  }
  await runOk(
    ["ip", "link", "add", uplink.routerIface, "netns", router, "type", "veth", "peer", "name", uplink.hostIface],
    { code },
  );
  // Offloads off on both ends: a person's sessions are captured on the host's end.
  const offloads = ["tso", "off", "gso", "off", "gro", "off", "tx", "off", "rx", "off"];
  await runOk(["ethtool", "-K", uplink.routerIface, ...offloads], { netns: router, code });
  await runOk(["ethtool", "-K", uplink.hostIface, ...offloads], { code });
  // The uplink is IPv4 only; no router solicitations or MLD on it.
  await runOk(["sysctl", "-qw", `net.ipv6.conf.${uplink.hostIface}.disable_ipv6=1`], { code });
  const cidr = (address: string) => `${address}/${uplink.prefix}`;
  await runOk(["ip", "-n", router, "addr", "add", cidr(uplink.routerAddress), "dev", uplink.routerIface], { code });
  await runOk(["ip", "addr", "add", cidr(uplink.hostAddress), "dev", uplink.hostIface], { code });
  await runOk(["ip", "-n", router, "link", "set", uplink.routerIface, "up"], { code });
  await runOk(["ip", "link", "set", uplink.hostIface, "up"], { code });
  await runOk(["ip", "-n", router, "route", "add", "default", "via", uplink.hostAddress], { code });
  await runOk(["ip", "route", "add", uplink.labSubnet, "via", uplink.routerAddress, "dev", uplink.hostIface], {
    code,
  });
  await filterDestinations(uplink);
  if (uplink.forward) {
    for (const rule of hostRules(lab, uplink)) {
      const at = ["-t", rule.table];
      if ((await run(["iptables", ...at, "-C", rule.chain, ...rule.spec])).code === 0) continue;
      // Inserted first, so a FORWARD policy of DROP (e.g. Docker's) does not hide the lab.
      await runOk(["iptables", ...at, "-I", rule.chain, "1", ...rule.spec], { code });
    }
  }
}

/**
 * The router's FORWARD rules for traffic leaving by the uplink: replies and the host itself always,
 * the allowed destinations when forwarding, nothing else. They live in the router's namespace and go
 * with it. No rules when the uplink forwards anywhere.
 */
async function filterDestinations(uplink: LabUplink): Promise<void> {
  if (uplink.forward && !uplink.allow) return;
  const out = ["-A", "FORWARD", "-o", uplink.routerIface];
  const rules: string[][] = [
    [...out, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    [...out, "-d", `${uplink.hostAddress}/32`, "-j", "ACCEPT"],
    ...(uplink.forward ? (uplink.allow ?? []) : []).map((cidr) => [...out, "-d", cidr, "-j", "ACCEPT"]),
    [...out, "-j", "REJECT"],
  ];
  for (const rule of rules) await runOk(["iptables", ...rule], { netns: uplink.netns, code: "LAB_UP_FAILED" });
}

/**
 * Removes what the uplink put on this host beyond the router's namespace (which takes the veth pair
 * and the host's route with it): a veth end left by a failed deletion, and the iptables rules.
 * Idempotent: what is already gone is skipped.
 */
export async function removeUplink(lab: string, uplink: LabUplink): Promise<void> {
  if ((await run(["ip", "link", "show", "dev", uplink.hostIface])).code === 0)
    await run(["ip", "link", "del", "dev", uplink.hostIface]);
  if (!uplink.forward) return;
  for (const rule of hostRules(lab, uplink)) {
    for (let i = 0; i < 16; i++) {
      const result = await run(["iptables", "-t", rule.table, "-D", rule.chain, ...rule.spec]);
      if (result.code !== 0) break;
    }
  }
}

interface ForwardingMarker {
  restoreTo: string;
  lab: string;
  at: string;
}

/** Turns the host's IPv4 forwarding on for a forwarding uplink, remembering the value it had. */
export async function enableHostForwarding(lab: string): Promise<void> {
  const current = (await runOk(["sysctl", "-n", "net.ipv4.ip_forward"], { code: "LAB_UP_FAILED" })).trim();
  if (current === "1") return;
  const marker = join(labsDir(), FORWARDING_MARKER);
  if (!(await readJson<ForwardingMarker>(marker)))
    await writeJson(marker, { restoreTo: current, lab, at: new Date().toISOString() } satisfies ForwardingMarker);
  await runOk(["sysctl", "-qw", "net.ipv4.ip_forward=1"], { code: "LAB_UP_FAILED" });
}

/** Puts the forwarding switch back as it was once no forwarding uplink is left. */
export async function releaseHostForwarding(forwardingLabsLeft: number): Promise<void> {
  if (forwardingLabsLeft > 0) return;
  const file = join(labsDir(), FORWARDING_MARKER);
  const marker = await readJson<ForwardingMarker>(file);
  if (!marker) return;
  const value = /^[01]$/.test(marker.restoreTo) ? marker.restoreTo : "0";
  await run(["sysctl", "-qw", `net.ipv4.ip_forward=${value}`]);
  await removeFile(file);
}
