import { QoelabError } from "../errors.ts";
import type { LossModelSpec } from "../generator/index.ts";
import {
  type ImpairSpec,
  type ImpairTarget,
  impair,
  impairClear,
  impairShow,
  type Lab,
  targetOf,
} from "../netlab/index.ts";

/*
 * The experiment's impaired link: the router's egress towards the server (callee), so loss hits the
 * caller → callee direction on the link between the two hosts and the capture on the callee sees
 * only delivered packets. The backend is asked for (`--impair-backend`: the seeded link emulator by
 * default, kernel netem, iptables `statistic` on FORWARD) and recorded per condition, with whether
 * the seed was honoured: iptables and netem draw from the kernel's random generator.
 */

/** Where an experiment's loss is applied: on the link by one of impair's backends, or by the replayer. */
export type ExperimentImpairBackend = "emulator" | "netem" | "iptables" | "replayer";
export const EXPERIMENT_IMPAIR_BACKENDS: readonly ExperimentImpairBackend[] = [
  "emulator",
  "netem",
  "iptables",
  "replayer",
];

export const IMPAIRED_LINK = "router:server-side";

export interface AppliedLinkImpairment {
  /** "iptables", "netem", "emulator", … per option, e.g. { loss: "iptables" }. */
  backends: Record<string, string>;
  /** Human text for the report: "loss bernoulli:1% by iptables (FORWARD, kernel random: not seeded)". */
  description: string;
  /** True when the same seed reproduces the same drops. */
  seeded: boolean;
}

export function impairedTarget(lab: Lab): ImpairTarget {
  return targetOf(lab, IMPAIRED_LINK);
}

function backendNote(backend: string, seed: number | undefined): { text: string; seeded: boolean } {
  switch (backend) {
    case "iptables":
      return { text: "iptables statistic on the router's FORWARD chain (kernel random: not seeded)", seeded: false };
    case "netem":
      return { text: "tc netem on the router's egress (kernel random: not seeded)", seeded: false };
    case "emulator":
      return { text: `userspace link emulator on the router–server link (seed ${seed ?? "random"})`, seeded: true };
    case "relay":
      return { text: `userspace UDP relay on the router (seed ${seed ?? "random"})`, seeded: true };
    default:
      return { text: backend, seeded: false };
  }
}

/**
 * Applies loss (and delay) to the impaired link, replacing what was there; with nothing to apply
 * the link is cleared. With a seed the seeded link emulator is asked for first.
 */
export async function applyLinkImpairment(
  lab: Lab,
  loss: LossModelSpec,
  delayMs: number,
  seed: number | undefined,
  backend: Exclude<ExperimentImpairBackend, "replayer"> = "emulator",
): Promise<AppliedLinkImpairment> {
  const target = impairedTarget(lab);
  const spec: ImpairSpec = {};
  if (loss.kind !== "none") spec.loss = loss;
  if (delayMs > 0) spec.delay = delayMs / 1000;
  if (seed !== undefined) spec.seed = seed;
  if (spec.loss === undefined && spec.delay === undefined) {
    await impairClear(lab.name, target);
    return { backends: {}, description: "none (link not impaired)", seeded: true };
  }
  const result = await impair(target, spec, { prefer: [backend] });
  const lossBackend = result.assignments.find((a) => a.option === "loss")?.backend;
  if (spec.loss !== undefined && lossBackend !== backend) {
    await impairClear(lab.name, target).catch(() => undefined);
    throw new QoelabError(
      "EXPERIMENT_BACKEND_UNAVAILABLE",
      `experiment voip: --impair-backend ${backend} cannot serve loss ${loss.kind} on ${lab.name}:${IMPAIRED_LINK} here (impair chose ${lossBackend ?? "nothing"}; "qoelab impair backends" lists what this machine offers)`,
      { backend, chosen: lossBackend },
    );
  }
  const backends: Record<string, string> = {};
  const parts: string[] = [];
  let seeded = true;
  for (const a of result.assignments) {
    backends[a.option] = a.backend;
    const note = backendNote(a.backend, seed);
    if (a.option === "loss" && !note.seeded) seeded = false;
    parts.push(`${a.option} ${a.value} by ${note.text}`);
  }
  return { backends, description: parts.join("; "), seeded };
}

/** Packets the loss backend reports having dropped so far on the link, when it says (else null). */
export async function linkDropCount(lab: Lab): Promise<number | null> {
  const rows = await impairShow(lab.name, impairedTarget(lab)).catch(() => []);
  const loss = rows.find((r) => r.option === "loss");
  if (!loss) return null;
  let total = 0;
  let found = false;
  for (const m of loss.state.matchAll(/(?:FORWARD|OUTPUT) dropped (\d+) pkt/g)) {
    total += Number(m[1]);
    found = true;
  }
  return found ? total : null;
}

export async function clearLinkImpairment(lab: Lab): Promise<void> {
  await impairClear(lab.name, impairedTarget(lab));
}
