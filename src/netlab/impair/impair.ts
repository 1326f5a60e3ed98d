import { join } from "node:path";
import { QoelabError } from "../../errors.ts";
import { getLab, type HostRole, type Lab, type LabHost, type LabLink, labHost } from "../lab/lab.ts";
import { runOk } from "../lab/run.ts";
import { labsDir, readJson, withLock, writeJson } from "../lab/state.ts";
import {
  type ImpairBackend,
  type ImpairTarget,
  type Journal,
  runUndo,
  type UndoStep,
  unsupported,
} from "./impair-backend.ts";
import { iptablesLossBackend } from "./impair-kernel.ts";
import { netemBackend } from "./impair-netem.ts";
import { relayBackend } from "./impair-relay.ts";
import { shaperBackend } from "./impair-shape.ts";
import { describeOption, type ImpairOption, type ImpairSpec, specOptions } from "./impair-spec.ts";
import { tbfBackend } from "./impair-tbf.ts";

/*
 * `impair TARGET …`: each option is served by the first backend (in preference order) that can
 * do it on this target, the choice is recorded and shown. Every change is journalled with its undo
 * before it is made, so a failure rolls back completely and `impair clear` (or `lab down`) removes
 * exactly what was applied.
 */

const backends: ImpairBackend[] = [netemBackend, tbfBackend, iptablesLossBackend, relayBackend, shaperBackend];

/** Default preference per option; a backend registered later (e.g. a TUN link emulator) can be preferred. */
const preference: Record<ImpairOption, string[]> = {
  rate: ["netem", "tbf"],
  delay: ["netem", "relay"],
  loss: ["netem", "iptables", "relay"],
  reorder: ["netem", "relay"],
  duplicate: ["netem", "relay"],
  corrupt: ["netem", "relay"],
  limit: ["netem", "tbf", "relay"],
  up: ["shaper"],
  down: ["shaper"],
};

/** Order in which backends are applied (rate before loss before relays; netem last). */
const APPLY_ORDER = ["shaper", "tbf", "iptables", "relay", "netem"];

/**
 * Adds a backend. `options` lists what it should be preferred for (placed first); without it the
 * backend is a last resort for every option it supports.
 */
export function registerImpairBackend(backend: ImpairBackend, options: { preferFor?: ImpairOption[] } = {}): void {
  const at = backends.findIndex((b) => b.name === backend.name);
  if (at >= 0) backends[at] = backend;
  else backends.push(backend);
  for (const option of Object.keys(preference) as ImpairOption[]) {
    const list = preference[option].filter((n) => n !== backend.name);
    if (options.preferFor?.includes(option)) list.unshift(backend.name);
    else list.push(backend.name);
    preference[option] = list;
  }
}

export function impairBackends(): readonly ImpairBackend[] {
  return backends;
}

interface AppliedImpairment {
  key: string;
  spec: ImpairSpec;
  assignments: Partial<Record<ImpairOption, string>>;
  undo: UndoStep[];
  notes: Record<string, Record<string, unknown>>;
  status: "applying" | "applied";
  appliedAt: string;
}

interface ImpairState {
  version: 1;
  lab: string;
  targets: Record<string, AppliedImpairment>;
}

function stateFile(lab: string): string {
  return join(labsDir(), `${lab}.impair.json`);
}

async function loadState(lab: string): Promise<ImpairState> {
  return (await readJson<ImpairState>(stateFile(lab))) ?? { version: 1, lab, targets: {} };
}

const ROLES = new Set(["client", "server", "router"]);

function farHost(lab: Lab, link: LabLink): LabHost {
  if (link.peer !== "router") return labHost(lab, link.peer);
  return labHost(lab, link.host === "client" ? "server" : "client");
}

/** Finds the link of a target inside a lab: "router:server-side", "client", "server:router-side". */
export function targetOf(lab: Lab, ref: string): ImpairTarget {
  const [hostText, side] = ref.split(":") as [string, string | undefined];
  if (!ROLES.has(hostText)) {
    throw new QoelabError(
      "IMPAIR_BAD_TARGET",
      `target "${ref}": expected client, server or router[:client-side|:server-side]`,
      {
        target: ref,
      },
    );
  }
  const host = labHost(lab, hostText as HostRole);
  let link: LabLink | undefined;
  if (side === undefined) {
    if (host.interfaces.length > 1) {
      throw new QoelabError(
        "IMPAIR_BAD_TARGET",
        `target "${ref}": ${hostText} has ${host.interfaces.length} interfaces; name one: ${host.interfaces.map((l) => l.name).join(", ")}`,
        { target: ref },
      );
    }
    link = host.interfaces[0];
  } else {
    const want = side.endsWith("-side") ? side : `${side}-side`;
    link = host.interfaces.find((l) => l.name === `${hostText}:${want}`);
  }
  if (!link) {
    throw new QoelabError(
      "IMPAIR_BAD_TARGET",
      `target "${ref}": no such interface; lab ${lab.name} has ${Object.keys(lab.links).join(", ")}`,
      { target: ref },
    );
  }
  return { lab, key: link.name, link, host, farHost: farHost(lab, link), forwarding: link.host === "router" };
}

/** "[LAB:]HOST[:SIDE]" → lab name and the target inside it. */
export function splitTargetRef(ref: string, defaultLab = "lab"): { lab: string; target: string } {
  const parts = ref.split(":");
  if (parts.length > 0 && !ROLES.has(parts[0] as string))
    return { lab: parts[0] as string, target: parts.slice(1).join(":") };
  return { lab: defaultLab, target: ref };
}

export async function resolveTarget(ref: string, defaultLab = "lab"): Promise<ImpairTarget> {
  const { lab, target } = splitTargetRef(ref, defaultLab);
  return targetOf(await getLab(lab), target);
}

export interface ImpairAssignment {
  option: ImpairOption;
  value: string;
  backend: string;
}

export interface ImpairResult {
  lab: string;
  target: string;
  iface: string;
  assignments: ImpairAssignment[];
}

export interface ImpairCallOptions {
  /** Backend names tried first for every option (e.g. ["relay"] to get seeded loss). */
  prefer?: string[];
}

async function choose(
  target: ImpairTarget,
  spec: ImpairSpec,
  prefer: readonly string[],
): Promise<Map<string, ImpairOption[]>> {
  const byBackend = new Map<string, ImpairOption[]>();
  for (const option of specOptions(spec)) {
    const names = [
      ...prefer.filter((p) => preference[option].includes(p)),
      ...preference[option].filter((n) => !prefer.includes(n)),
    ];
    const reasons: string[] = [];
    let chosen: string | undefined;
    for (const name of names) {
      const backend = backends.find((b) => b.name === name);
      if (!backend) continue;
      const ok = await backend.supports(option, spec, target, { prefer });
      if (ok === true) {
        chosen = name;
        break;
      }
      reasons.push(`${name}: ${ok}`);
    }
    if (!chosen) throw unsupported(option, target, reasons);
    byBackend.set(chosen, [...(byBackend.get(chosen) ?? []), option]);
  }
  // tbf's queue limit only makes sense with tbf's rate, the relay's only with a relay in use.
  const limitAt = [...byBackend.entries()].find(([, opts]) => opts.includes("limit"))?.[0];
  if (limitAt === "relay" && byBackend.get("relay")?.length === 1 && byBackend.has("tbf")) {
    byBackend.delete("relay");
    byBackend.set("tbf", [...(byBackend.get("tbf") ?? []), "limit"]);
  }
  return byBackend;
}

async function undoAll(entry: AppliedImpairment): Promise<void> {
  for (let i = entry.undo.length - 1; i >= 0; i--) await runUndo(entry.undo[i] as UndoStep);
}

/**
 * Applies `spec` to the egress of the target's interface, replacing what was there. On any failure
 * everything applied by this call is rolled back before the error is thrown.
 */
export async function impair(
  target: ImpairTarget,
  spec: ImpairSpec,
  options: ImpairCallOptions = {},
): Promise<ImpairResult> {
  const unknown = (options.prefer ?? []).filter((name) => !backends.some((b) => b.name === name));
  if (unknown.length > 0) {
    throw new QoelabError(
      "IMPAIR_BAD_BACKEND",
      `--backend: no backend ${unknown.map((n) => `"${n}"`).join(", ")}; the backends are ${backends.map((b) => b.name).join(", ")}`,
      { backend: unknown[0] },
    );
  }
  const labName = target.lab.name;
  return withLock(`${labName}.impair`, async () => {
    const state = await loadState(labName);
    const previous = state.targets[target.key];
    if (previous) {
      await undoAll(previous);
      delete state.targets[target.key];
      await writeJson(stateFile(labName), state);
    }
    const plan = await choose(target, spec, options.prefer ?? []);
    const entry: AppliedImpairment = {
      key: target.key,
      spec,
      assignments: {},
      undo: [],
      notes: {},
      status: "applying",
      appliedAt: new Date().toISOString(),
    };
    for (const [name, opts] of plan) for (const o of opts) entry.assignments[o] = name;
    state.targets[target.key] = entry;
    const save = () => writeJson(stateFile(labName), state);
    await save();
    const ordered = [...plan.keys()].sort(
      (a, b) => ((APPLY_ORDER.indexOf(a) + 100) % 100) - ((APPLY_ORDER.indexOf(b) + 100) % 100),
    );
    try {
      for (const name of ordered) {
        const backend = backends.find((b) => b.name === name) as ImpairBackend;
        const notes: Record<string, unknown> = {};
        entry.notes[name] = notes;
        const journal: Journal = {
          notes,
          async record(step) {
            entry.undo.push(step);
            await save();
          },
          async run(argv, netns, undo, code) {
            if (undo) await this.record({ kind: "run", argv: undo, netns });
            return runOk(argv, { netns, code: code ?? "IMPAIR_APPLY_FAILED" });
          },
          async note(key, value) {
            notes[key] = value;
            await save();
          },
        };
        await backend.apply(target, spec, plan.get(name) ?? [], journal);
      }
      entry.status = "applied";
      await save();
    } catch (error) {
      await undoAll(entry);
      delete state.targets[target.key];
      await save();
      throw error;
    }
    return {
      lab: labName,
      target: target.key,
      iface: target.link.iface,
      assignments: specOptions(spec).map((o) => ({
        option: o,
        value: describeOption(spec, o),
        backend: entry.assignments[o] ?? "?",
      })),
    };
  });
}

/** Removes the impairment of one target, or of every target of the lab. */
export async function impairClear(lab: string, target?: ImpairTarget): Promise<{ cleared: string[] }> {
  return withLock(`${lab}.impair`, async () => {
    const state = await loadState(lab);
    const keys = target ? [target.key] : Object.keys(state.targets);
    const cleared: string[] = [];
    for (const key of keys) {
      const entry = state.targets[key];
      if (!entry) continue;
      await undoAll(entry);
      delete state.targets[key];
      await writeJson(stateFile(lab), state);
      cleared.push(key);
    }
    return { cleared };
  });
}

export interface ImpairShowRow {
  target: string;
  iface: string;
  option: ImpairOption;
  value: string;
  backend: string;
  /** Live state from the backend (qdisc/rule/relay counters). */
  state: string;
  status: "applying" | "applied";
}

export async function impairShow(lab: string, target?: ImpairTarget): Promise<ImpairShowRow[]> {
  const labObject = await getLab(lab);
  const state = await loadState(lab);
  const rows: ImpairShowRow[] = [];
  for (const entry of Object.values(state.targets)) {
    if (target && entry.key !== target.key) continue;
    const t = targetOf(labObject, entry.key);
    const stateByBackend = new Map<string, string>();
    for (const option of specOptions(entry.spec)) {
      const name = entry.assignments[option] ?? "?";
      if (!stateByBackend.has(name)) {
        const backend = backends.find((b) => b.name === name);
        const opts = specOptions(entry.spec).filter((o) => entry.assignments[o] === name);
        stateByBackend.set(
          name,
          backend
            ? await backend.show(t, opts, entry.notes[name] ?? {}).catch((e: Error) => `error: ${e.message}`)
            : "unknown backend",
        );
      }
      rows.push({
        target: entry.key,
        iface: t.link.iface,
        option,
        value: describeOption(entry.spec, option),
        backend: name,
        state: stateByBackend.get(name) ?? "",
        status: entry.status,
      });
    }
  }
  return rows;
}
