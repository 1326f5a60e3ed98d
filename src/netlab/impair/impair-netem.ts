import { run } from "../lab/run.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";

export interface NetemSupport {
  available: boolean;
  /** tc and kernel accept "seed N" (iproute2 ≥ 6.3 with kernel ≥ 6.3). */
  seed: boolean;
  /** What tc said when the probe failed. */
  reason: string;
}

let cached: Promise<NetemSupport> | undefined;
let probeCounter = 0;

/**
 * Detects sch_netem by trying it on a throwaway veth in a scratch namespace (never on a real
 * interface). QOELAB_NETEM=absent forces the fallback backends.
 */
export function detectNetem(refresh = false): Promise<NetemSupport> {
  if (process.env.QOELAB_NETEM === "absent") {
    return Promise.resolve({ available: false, seed: false, reason: "QOELAB_NETEM=absent" });
  }
  if (!cached || refresh) cached = probeNetem();
  return cached;
}

async function probeNetem(): Promise<NetemSupport> {
  const ns = `qoelab-probe-${process.pid}-${probeCounter++}`;
  const added = await run(["ip", "netns", "add", ns]);
  if (added.code !== 0)
    return { available: false, seed: false, reason: `cannot create a scratch namespace: ${added.stderr.trim()}` };
  try {
    const veth = await run(["ip", "-n", ns, "link", "add", "qp0", "type", "veth", "peer", "name", "qp1"]);
    if (veth.code !== 0)
      return { available: false, seed: false, reason: `cannot create a probe veth: ${veth.stderr.trim()}` };
    const tried = await run(["tc", "qdisc", "add", "dev", "qp0", "root", "netem", "delay", "1ms"], { netns: ns });
    if (tried.code !== 0) {
      const said = tried.stderr.trim();
      const reason = /unknown|No such file|not supported|Failed to find/i.test(said)
        ? `the kernel has no sch_netem (tc: "${said.split("\n")[0]}")`
        : `tc refused netem: ${said.split("\n")[0]}`;
      return { available: false, seed: false, reason };
    }
    const seeded = await run(["tc", "qdisc", "change", "dev", "qp0", "root", "netem", "delay", "1ms", "seed", "1"], {
      netns: ns,
    });
    return { available: true, seed: seeded.code === 0, reason: "sch_netem present" };
  } finally {
    await run(["ip", "netns", "del", ns]);
  }
}

const pct = (p: number) => `${+(p * 100).toPrecision(8)}%`;
const usec = (s: number) => `${Math.round(s * 1e6)}us`;

/** The netem arguments for a spec (pure; tested without a netem kernel). */
export function netemArgs(spec: ImpairSpec, options: readonly ImpairOption[], seed: boolean): string[] {
  const args: string[] = [];
  const has = (o: ImpairOption) => options.includes(o);
  if (has("limit") && spec.limit !== undefined) args.push("limit", String(spec.limit));
  if (has("delay") && spec.delay !== undefined) {
    args.push("delay", usec(spec.delay));
    if (spec.jitter) {
      args.push(usec(spec.jitter));
      if (spec.delayDist && spec.delayDist !== "uniform") args.push("distribution", spec.delayDist);
    }
  }
  if (has("loss") && spec.loss) {
    const l = spec.loss;
    if (l.kind === "bernoulli") args.push("loss", "random", pct(l.p));
    // netem's gemodel order is p, r, 1-h, 1-k.
    else if (l.kind === "gilbert") args.push("loss", "gemodel", pct(l.p), pct(l.r), pct(l.lossBad), pct(l.lossGood));
    else if (l.kind === "markov4")
      args.push("loss", "state", pct(l.p13), pct(l.p31), pct(l.p32), pct(l.p23), pct(l.p14));
  }
  if (has("reorder") && spec.reorder !== undefined) args.push("reorder", pct(spec.reorder));
  if (has("duplicate") && spec.duplicate !== undefined) args.push("duplicate", pct(spec.duplicate));
  if (has("corrupt") && spec.corrupt !== undefined) args.push("corrupt", pct(spec.corrupt));
  if (has("rate") && spec.rate !== undefined) args.push("rate", `${Math.round(spec.rate)}bit`);
  if (seed && spec.seed !== undefined) args.push("seed", String(spec.seed));
  return args;
}

export const netemBackend: ImpairBackend = {
  name: "netem",
  async supports() {
    const support = await detectNetem();
    return support.available ? true : support.reason;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, options: ImpairOption[], journal: Journal) {
    const support = await detectNetem();
    const { netns, iface } = target.link;
    await journal.run(
      ["tc", "qdisc", "replace", "dev", iface, "root", "netem", ...netemArgs(spec, options, support.seed)],
      netns,
      ["tc", "qdisc", "del", "dev", iface, "root"],
      "IMPAIR_APPLY_FAILED",
    );
    await journal.note("netemSeeded", support.seed && spec.seed !== undefined);
  },
  async show(target: ImpairTarget) {
    const r = await run(["tc", "-s", "qdisc", "show", "dev", target.link.iface], { netns: target.link.netns });
    const line = r.stdout.split("\n").find((l) => l.includes("netem"));
    const sent = /Sent (\d+) bytes (\d+) pkt \(dropped (\d+)/.exec(r.stdout);
    return `${line?.trim() ?? "netem qdisc missing"}${sent ? `; sent ${sent[2]} pkt, dropped ${sent[3]}` : ""}`;
  },
};
