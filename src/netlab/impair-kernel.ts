import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";
import { run } from "./run.ts";

/*
 * Kernel backends that work without sch_netem: the token bucket filter for rate (and its queue
 * limit), and iptables' `statistic` match for Bernoulli loss. Loss is dropped on the FORWARD chain of
 * a router (so a capture on the far interface sees only delivered packets, and TCP never loses
 * locally generated GSO super-packets), or on OUTPUT of an end host (offloads are off in lab hosts,
 * so every skb there is one wire packet).
 */

const MTU_FRAME = 1514;

/** tbf burst: enough for the kernel timer granularity at this rate, never below two full frames. */
export function tbfBurst(rateBits: number): number {
  return Math.max(2 * MTU_FRAME, Math.ceil(rateBits / 8 / 250));
}

export function tbfArgs(spec: ImpairSpec): string[] {
  const rate = spec.rate ?? 0;
  const burst = spec.burst ?? tbfBurst(rate);
  const args = ["tbf", "rate", `${Math.round(rate)}bit`, "burst", String(burst)];
  if (spec.limit !== undefined) args.push("limit", String(Math.max(burst, spec.limit * MTU_FRAME)));
  else args.push("latency", "100ms");
  return args;
}

export const tbfBackend: ImpairBackend = {
  name: "tbf",
  async supports(option: ImpairOption, spec: ImpairSpec) {
    if (option === "rate") return true;
    if (option === "limit") return spec.rate !== undefined ? true : "tbf limits a queue only together with --rate";
    return `tbf does rate and limit only, not ${option}`;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, _options: ImpairOption[], journal: Journal) {
    const { netns, iface } = target.link;
    await journal.run(
      ["tc", "qdisc", "replace", "dev", iface, "root", "handle", "1:", ...tbfArgs(spec)],
      netns,
      ["tc", "qdisc", "del", "dev", iface, "root"],
      "IMPAIR_APPLY_FAILED",
    );
  },
  async show(target: ImpairTarget) {
    const r = await run(["tc", "-s", "qdisc", "show", "dev", target.link.iface], { netns: target.link.netns });
    const line = r.stdout.split("\n").find((l) => l.includes("tbf"));
    const sent = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+), overlimits (\d+)/.exec(r.stdout);
    return `${line?.trim() ?? "tbf qdisc missing"}${sent ? `; sent ${sent[2]} pkt, dropped ${sent[3]}, overlimits ${sent[4]}` : ""}`;
  },
};

/**
 * iptables rule spec (without -A/-I/-D) that drops with probability p on the target's egress, and
 * the chains it goes in: a router drops forwarded packets (FORWARD) and what its own relays send
 * (OUTPUT); an end host drops on OUTPUT.
 */
export function lossRule(target: ImpairTarget, p: number): { chains: string[]; spec: string[] } {
  return {
    chains: target.forwarding ? ["FORWARD", "OUTPUT"] : ["OUTPUT"],
    spec: [
      "-o",
      target.link.iface,
      "-m",
      "statistic",
      "--mode",
      "random",
      "--probability",
      p.toFixed(10),
      "-m",
      "comment",
      "--comment",
      `qoelab-impair-${target.key}`,
      "-j",
      "DROP",
    ],
  };
}

export const iptablesLossBackend: ImpairBackend = {
  name: "iptables",
  async supports(option: ImpairOption, spec: ImpairSpec) {
    if (option !== "loss") return `iptables does Bernoulli loss only, not ${option}`;
    if (spec.loss?.kind !== "bernoulli") return "iptables statistic drops independently (Bernoulli) only";
    return true;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, _options: ImpairOption[], journal: Journal) {
    if (spec.loss?.kind !== "bernoulli") return;
    const { chains, spec: rule } = lossRule(target, spec.loss.p);
    const tools = target.lab.config.ipv6 ? ["iptables", "ip6tables"] : ["iptables"];
    for (const tool of tools) {
      for (const chain of chains) {
        await journal.run(
          [tool, "-w", "-I", chain, ...rule],
          target.link.netns,
          [tool, "-w", "-D", chain, ...rule],
          "IMPAIR_APPLY_FAILED",
        );
      }
    }
    await journal.note("iptablesChains", chains);
  },
  async show(target: ImpairTarget, _options: ImpairOption[], notes: Record<string, unknown>) {
    const chains = (notes.iptablesChains as string[] | undefined) ?? [target.forwarding ? "FORWARD" : "OUTPUT"];
    const parts: string[] = [];
    for (const chain of chains) {
      const r = await run(["iptables", "-w", "-L", chain, "-v", "-x", "-n"], { netns: target.link.netns });
      const line = r.stdout.split("\n").find((l) => l.includes(`qoelab-impair-${target.key}`));
      parts.push(line ? `${chain} dropped ${line.trim().split(/\s+/)[0]} pkt` : `${chain} rule missing`);
    }
    return `-o ${target.link.iface} statistic random (kernel random, unseeded): ${parts.join(", ")}`;
  },
};
