import { run } from "../lab/run.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";

/*
 * The tbf command: Linux's token bucket filter shapes a rate (and bounds its queue) without
 * sch_netem. `tbfArgs` builds the qdisc's arguments (used by the tbf backend here, by wondershaper-style
 * shaping in impair-shape.ts and by a person's uplink in uplink-shape.ts).
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
