import { run } from "../lab/run.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";

/*
 * Kernel backends that work without sch_netem: iptables' `statistic` match for Bernoulli loss
 * (the token bucket filter for rate is impair-tbf.ts). Loss is dropped on the FORWARD chain of
 * a router (so a capture on the far interface sees only delivered packets, and TCP never loses
 * locally generated GSO super-packets), or on OUTPUT of an end host (offloads are off in lab hosts,
 * so every skb there is one wire packet).
 */

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
