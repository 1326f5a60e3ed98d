import { run } from "../lab/run.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";
import { tbfArgs } from "./impair-tbf.ts";

/*
 * Wondershaper-style shaping of one host interface: egress ("up") with tbf on the interface;
 * ingress ("down") by redirecting arriving packets to an ifb device and shaping its egress with tbf,
 * or, where ifb is missing, by policing at ingress (drops instead of queueing). Which one is used
 * is detected per host by trying.
 */

function ifbName(target: ImpairTarget): string {
  return `${target.lab.name}-i${target.link.host[0]}${target.link.peer[0]}`;
}

/** A filter on the ingress qdisc (ffff:) matching every packet, then `action`. */
function ingressFilter(iface: string, action: readonly string[]): string[] {
  return [
    "tc",
    "filter",
    "add",
    "dev",
    iface,
    "parent",
    "ffff:",
    "protocol",
    "all",
    "u32",
    "match",
    "u32",
    "0",
    "0",
    ...action,
  ];
}

export const shaperBackend: ImpairBackend = {
  name: "shaper",
  async supports(option: ImpairOption) {
    return option === "up" || option === "down" ? true : `the shaper does --up/--down only, not ${option}`;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, options: ImpairOption[], journal: Journal) {
    const { netns, iface } = target.link;
    if (options.includes("up") && spec.up !== undefined) {
      await journal.run(
        ["tc", "qdisc", "replace", "dev", iface, "root", "handle", "1:", ...tbfArgs({ rate: spec.up })],
        netns,
        ["tc", "qdisc", "del", "dev", iface, "root"],
        "IMPAIR_APPLY_FAILED",
      );
      await journal.note("up", "tbf");
    }
    if (options.includes("down") && spec.down !== undefined) {
      await journal.run(["tc", "qdisc", "add", "dev", iface, "handle", "ffff:", "ingress"], netns, [
        "tc",
        "qdisc",
        "del",
        "dev",
        iface,
        "ingress",
      ]);
      const ifb = ifbName(target);
      await journal.record({ kind: "run", argv: ["ip", "link", "del", ifb], netns });
      const made = await run(["ip", "link", "add", ifb, "type", "ifb"], { netns });
      if (made.code === 0) {
        await journal.run(["ip", "link", "set", ifb, "up"], netns, undefined, "IMPAIR_APPLY_FAILED");
        await journal.run(
          ["tc", "qdisc", "replace", "dev", ifb, "root", ...tbfArgs({ rate: spec.down })],
          netns,
          undefined,
          "IMPAIR_APPLY_FAILED",
        );
        const redirect = ["action", "mirred", "egress", "redirect", "dev", ifb];
        await journal.run(ingressFilter(iface, redirect), netns, undefined, "IMPAIR_APPLY_FAILED");
        await journal.note("down", `ifb ${ifb} + tbf`);
        await journal.note("ifb", ifb);
        return;
      }
      const burst = Math.max(3028, Math.ceil(spec.down / 8 / 50));
      const police = ["police", "rate", `${Math.round(spec.down)}bit`, "burst", String(burst), "drop"];
      await journal.run(ingressFilter(iface, police), netns, undefined, "IMPAIR_NO_INGRESS_SHAPING");
      await journal.note("down", "ingress police");
    }
  },
  async show(target: ImpairTarget, _options: ImpairOption[], notes: Record<string, unknown>) {
    const parts: string[] = [];
    if (notes.up) {
      const r = await run(["tc", "-s", "qdisc", "show", "dev", target.link.iface], { netns: target.link.netns });
      parts.push(
        `up: tbf on ${target.link.iface}${sentCounters(r.stdout, /tbf[\s\S]*?Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/)}`,
      );
    }
    if (notes.ifb) {
      const r = await run(["tc", "-s", "qdisc", "show", "dev", String(notes.ifb)], { netns: target.link.netns });
      parts.push(`down: ifb ${notes.ifb} + tbf${sentCounters(r.stdout, /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/)}`);
    } else if (notes.down) {
      parts.push(`down: ${notes.down}`);
    }
    return parts.join("; ");
  },
};

/** " sent N pkt, dropped M" from `tc -s qdisc show` output (`pattern` captures bytes, packets, drops); "" if absent. */
function sentCounters(stats: string, pattern: RegExp): string {
  const sent = pattern.exec(stats);
  return sent ? ` sent ${sent[2]} pkt, dropped ${sent[3]}` : "";
}
