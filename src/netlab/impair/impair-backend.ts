import { readFileSync, rmSync } from "node:fs";
import { QoelabError } from "../../errors.ts";
import type { Lab, LabHost, LabLink } from "../lab/lab.ts";
import { runOk } from "../lab/run.ts";
import type { ImpairOption, ImpairSpec } from "./impair-spec.ts";

/**
 * Where an impairment acts: the egress of one lab interface (netem's meaning), e.g.
 * "router:server-side" shapes what the router sends towards the server (client → server traffic).
 */
export interface ImpairTarget {
  lab: Lab;
  /** "router:server-side", "client:router-side", … */
  key: string;
  link: LabLink;
  /** The host whose interface is impaired (tc, iptables and relays run there). */
  host: LabHost;
  /** The lab host at the far end in this direction (where the impaired traffic is going). */
  farHost: LabHost;
  /** true when `host` forwards the traffic (a router) rather than originating it. */
  forwarding: boolean;
}

/** One step that undoes a change, recorded before the change is made. */
export type UndoStep =
  | { kind: "run"; argv: string[]; netns?: string }
  /** Kill a process we started; `marker` must appear in its command line (never kill a reused pid). */
  | { kind: "kill"; pid: number; marker: string }
  /** Remove a file we wrote (logs, stats). */
  | { kind: "remove"; path: string };

/** Records undo steps ahead of each change so a failure or crash can always be rolled back. */
export interface Journal {
  record(step: UndoStep): Promise<void>;
  /** Records `undo`, then runs argv; throws a coded error (tool stderr included) when it fails. */
  run(argv: string[], netns: string | undefined, undo: string[] | undefined, code?: string): Promise<string>;
  /** Backend-specific facts to keep for `show` (ports, pids, files). */
  note(key: string, value: unknown): Promise<void>;
  notes: Record<string, unknown>;
}

export interface ImpairBackend {
  readonly name: string;
  /**
   * true if this backend can serve `option` of `spec` on `target`, else the reason it cannot.
   * `context.prefer` lists the backends the user asked for (--backend).
   */
  supports(
    option: ImpairOption,
    spec: ImpairSpec,
    target: ImpairTarget,
    context?: { prefer?: readonly string[] },
  ): Promise<true | string>;
  /** Applies `options` of `spec`; every system change goes through `journal`. */
  apply(target: ImpairTarget, spec: ImpairSpec, options: ImpairOption[], journal: Journal): Promise<void>;
  /** Live state of what this backend applied (qdisc statistics, drop counters, relay counters). */
  show(target: ImpairTarget, options: ImpairOption[], notes: Record<string, unknown>): Promise<string>;
}

/** Runs one undo step, tolerating things that are already gone. */
export async function runUndo(step: UndoStep): Promise<void> {
  if (step.kind === "run") {
    await runOk(step.argv, { netns: step.netns }).catch(() => undefined);
    return;
  }
  if (step.kind === "remove") {
    rmSync(step.path, { force: true });
    return;
  }
  let cmdline = "";
  try {
    cmdline = readFileSync(`/proc/${step.pid}/cmdline`, "utf8");
  } catch {
    return; // already gone
  }
  if (!cmdline.includes(step.marker)) return;
  try {
    process.kill(step.pid, "SIGTERM");
  } catch {
    return;
  }
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 25));
    try {
      process.kill(step.pid, 0);
    } catch {
      return;
    }
  }
  try {
    process.kill(step.pid, "SIGKILL");
  } catch {
    // gone
  }
}

export function unsupported(option: ImpairOption, target: ImpairTarget, reasons: string[]): QoelabError {
  return new QoelabError(
    "IMPAIR_UNSUPPORTED",
    `impair ${target.lab.name}:${target.key}: no backend can do --${option} here (${reasons.join("; ")})`,
    { option, target: target.key, reasons },
  );
}
