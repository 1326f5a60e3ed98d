import type { LabUplink } from "../lab/lab.ts";
import { run, runOk } from "../lab/run.ts";
import { tbfArgs } from "./impair-tbf.ts";

/*
 * Rate limit on what a lab's router sends to this host over the uplink: the downstream of a browser
 * on this host that plays from the lab's server (a person's sessions). The uplink has no impair
 * target (its far end is no lab host), so its tbf is set here; the qdisc lives in the router's
 * namespace and goes with the lab.
 */
export async function shapeUplink(uplink: LabUplink, spec: { rate: number; limit?: number }): Promise<string> {
  const args = tbfArgs({ rate: spec.rate, ...(spec.limit !== undefined ? { limit: spec.limit } : {}) });
  await runOk(["tc", "qdisc", "replace", "dev", uplink.routerIface, "root", "handle", "1:", ...args], {
    netns: uplink.netns,
    code: "IMPAIR_APPLY_FAILED",
  });
  return `rate ${args[2]} by tbf on ${uplink.routerIface}`;
}

/** Removes the uplink's rate limit; nothing to remove is not an error. */
export async function clearUplinkShape(uplink: LabUplink): Promise<void> {
  await run(["tc", "qdisc", "del", "dev", uplink.routerIface, "root"], { netns: uplink.netns });
}
