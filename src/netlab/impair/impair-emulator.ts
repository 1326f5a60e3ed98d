import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { runDir } from "../lab/state.ts";
import { findLinkEmulator, startLinkEmulator, tunDevicePath } from "../link-emulator/link-emulator.ts";
import { tunAddonAvailable } from "../link-emulator/link-emulator-addon.ts";
import type { DirectionSpec } from "../link-emulator/link-emulator-spec.ts";
import { registerImpairBackend } from "./impair.ts";
import type { ImpairBackend, ImpairTarget, Journal } from "./impair-backend.ts";
import { detectNetem } from "./impair-netem.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";

/*
 * `impair` backend "emulator": the userspace link emulator on the target's link, its egress direction
 * carrying the impairment (the other direction passes unchanged). It takes every option of a target or
 * none (traffic leaves the veth, so a tbf there would see nothing), and is chosen when netem is absent
 * and the spec needs more than the kernel's tbf/iptables can do, or when asked (--backend emulator).
 * QOELAB_EMULATOR=absent turns it off.
 */

const OPTIONS: readonly ImpairOption[] = ["rate", "delay", "loss", "reorder", "duplicate", "corrupt", "limit"];

export function directionFromImpair(spec: ImpairSpec, options: readonly ImpairOption[]): DirectionSpec {
  const has = (o: ImpairOption) => options.includes(o);
  const d: DirectionSpec = {};
  if (has("rate") && spec.rate !== undefined) d.rate = spec.rate;
  if (has("delay")) {
    if (spec.delay !== undefined) d.delay = spec.delay;
    if (spec.jitter !== undefined) d.jitter = spec.jitter;
    if (spec.delayDist !== undefined) d.delayDist = spec.delayDist;
  }
  if (has("loss") && spec.loss) d.loss = spec.loss;
  if (has("reorder") && spec.reorder !== undefined) d.reorder = spec.reorder;
  if (has("duplicate") && spec.duplicate !== undefined) d.duplicate = spec.duplicate;
  if (has("corrupt") && spec.corrupt !== undefined) d.corrupt = spec.corrupt;
  if (has("limit") && spec.limit !== undefined) d.queue = { packets: spec.limit };
  return d;
}

/** true when the kernel's tbf/iptables serve every option (no netem needed). */
function kernelCovers(spec: ImpairSpec): boolean {
  const needs =
    spec.delay !== undefined ||
    spec.jitter !== undefined ||
    spec.reorder !== undefined ||
    spec.duplicate !== undefined ||
    spec.corrupt !== undefined ||
    (spec.loss !== undefined && spec.loss.kind !== "none" && spec.loss.kind !== "bernoulli");
  return !needs;
}

export const emulatorBackend: ImpairBackend = {
  name: "emulator",
  async supports(
    option: ImpairOption,
    spec: ImpairSpec,
    _target: ImpairTarget,
    context?: { prefer?: readonly string[] },
  ) {
    if (process.env.QOELAB_EMULATOR === "absent") return "QOELAB_EMULATOR=absent";
    if (!OPTIONS.includes(option)) return `the emulator does not do --${option}`;
    const asked = context?.prefer?.includes("emulator") ?? false;
    if (!asked) {
      if (spec.udpPorts?.length) return "--udp-port asks for the UDP relay";
      if ((await detectNetem()).available) return "netem is present (ask for the emulator with --backend emulator)";
      if (kernelCovers(spec))
        return "tbf/iptables serve this without netem (ask for the emulator with --backend emulator)";
    }
    if (!existsSync(tunDevicePath())) return `${tunDevicePath()} is missing (modprobe tun)`;
    if (!tunAddonAvailable()) return 'the native TUN addon is not built ("npm run build:native")';
    return true;
  },
  async apply(target: ImpairTarget, spec: ImpairSpec, options: ImpairOption[], journal: Journal) {
    const outDir = join(runDir(), "emulators", `${target.lab.name}-${target.key.replace(/[^a-z0-9-]/gi, "_")}`);
    const em = await startLinkEmulator({
      lab: target.lab,
      link: target.key,
      spec: { egress: directionFromImpair(spec, options), ...(spec.seed !== undefined ? { seed: spec.seed } : {}) },
      outDir,
      detached: true,
      // Starting a Node process takes long on a busy machine (as the collection's shaper allows).
      readyTimeoutMs: 90_000,
    });
    await journal.record({ kind: "kill", pid: em.pid, marker: "link-emulator-main" });
    await journal.note("emulator", { pid: em.pid, outDir, tun: em.tun });
  },
  async show(target: ImpairTarget, _options: ImpairOption[], notes: Record<string, unknown>) {
    const note = notes.emulator as { pid: number; outDir: string } | undefined;
    if (!note) return "no emulator recorded";
    const running = await findLinkEmulator(target.lab.name, target.link.host, target.link.peer);
    let last = "";
    try {
      last = readFileSync(join(note.outDir, "emulator.log"), "utf8").trim().split("\n").slice(-1)[0] ?? "";
    } catch {
      last = "";
    }
    return `emulator pid ${note.pid} (${running ? "running" : "NOT RUNNING"}); logs and summary.json in ${note.outDir}${last ? `; ${last}` : ""}`;
  },
};

registerImpairBackend(emulatorBackend, { preferFor: [...OPTIONS] });
