import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { QoelabError } from "../../errors.ts";

/**
 * The folder `qoelab experiment voip --out DIR` writes and `qoelab report DIR` and
 * `qoelab listen create --from-experiment DIR` read. Documented in docs/experiment-folder.md.
 */
export const EXPERIMENT_FORMAT = "qoelab-experiment/1";

export interface ExperimentPesq {
  raw: number;
  mosLqo: number;
  version: string;
}

export interface ExperimentEmodel {
  R: number;
  mos: number;
  /** Whether the E-model assumed G.711 Appendix I concealment (as the extraction did). */
  plc?: boolean;
  /** The assumption in words, printed beside every E-model value. */
  assumption?: string;
}

export interface ExperimentStream {
  ssrc: number | string;
  direction?: string;
  codec?: string;
  packets: number;
  expected?: number;
  lost: number;
  lostPercent: number;
  meanJitterMs: number;
  maxJitterMs: number;
  meanDeltaMs?: number;
  maxDeltaMs?: number;
}

export interface ExperimentCondition {
  id: string;
  label?: string;
  lossPercent: number;
  lossModel?: string;
  delayMs?: number;
  jitterMs?: number;
  seed?: number;
  /** Received (degraded) audio, relative to the folder. */
  received: string;
  capture?: string;
  pesq?: ExperimentPesq | null;
  emodel?: ExperimentEmodel | null;
  streams?: ExperimentStream[];
}

export interface ExperimentFile {
  format: string;
  kind: "voip";
  createdAt?: string;
  tool?: string;
  /** The original (sent) speech, relative to the folder. */
  reference: string;
  /** What the reference is (the input speech, or audio extracted from a recorded call), for the report. */
  referenceDescription?: string;
  codec?: string;
  ptimeMs?: number;
  seed?: number;
  conditions: ExperimentCondition[];
}

export interface ExperimentFolder {
  dir: string;
  experiment: ExperimentFile;
  /** Absolute path of a file named in experiment.json. */
  path(relative: string): string;
}

function fail(dir: string, message: string, field?: string): never {
  throw new QoelabError("EXPERIMENT_INVALID", `${join(dir, "experiment.json")}: ${message}`, {
    dir,
    ...(field ? { fields: { [field]: message } } : {}),
  });
}

function finiteOrFail(dir: string, value: unknown, field: string): number {
  if (typeof value !== "number" || !Number.isFinite(value)) fail(dir, `${field} must be a number`, field);
  return value;
}

/** Reads and checks DIR/experiment.json (the files it names are checked by whoever needs them). */
export function readExperimentFolder(dir: string): ExperimentFolder {
  const abs = resolve(dir);
  const file = join(abs, "experiment.json");
  if (!existsSync(file)) {
    throw new QoelabError("EXPERIMENT_NOT_FOUND", `${dir}: no experiment.json (not a qoelab experiment folder)`, {
      dir,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new QoelabError("EXPERIMENT_INVALID", `${file}: not valid JSON: ${(error as Error).message}`, { dir });
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) fail(abs, "must hold a JSON object");
  const e = data as Record<string, unknown>;
  if (e.format !== EXPERIMENT_FORMAT)
    fail(abs, `format must be "${EXPERIMENT_FORMAT}" (got ${JSON.stringify(e.format)})`, "format");
  if (e.kind !== "voip") fail(abs, `kind must be "voip" (got ${JSON.stringify(e.kind)})`, "kind");
  if (typeof e.reference !== "string" || e.reference === "")
    fail(abs, "reference must name the original WAV", "reference");
  if (!Array.isArray(e.conditions) || e.conditions.length === 0)
    fail(abs, "conditions must be a non-empty array", "conditions");
  const seen = new Set<string>();
  (e.conditions as unknown[]).forEach((raw, i) => {
    const where = `conditions[${i}]`;
    if (raw === null || typeof raw !== "object") fail(abs, `${where} must be an object`, where);
    const c = raw as Record<string, unknown>;
    if (typeof c.id !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(c.id))
      fail(abs, `${where}.id must be 1–64 letters, digits, ".", "_" or "-"`, `${where}.id`);
    if (seen.has(c.id)) fail(abs, `${where}.id "${c.id}" appears twice`, `${where}.id`);
    seen.add(c.id);
    finiteOrFail(abs, c.lossPercent, `${where}.lossPercent`);
    if (typeof c.received !== "string" || c.received === "")
      fail(abs, `${where}.received must name a WAV`, `${where}.received`);
    for (const key of ["pesq", "emodel"] as const) {
      const v = c[key];
      if (v === undefined || v === null) continue;
      if (typeof v !== "object") fail(abs, `${where}.${key} must be an object or null`, `${where}.${key}`);
    }
    if (c.pesq) finiteOrFail(abs, (c.pesq as Record<string, unknown>).mosLqo, `${where}.pesq.mosLqo`);
    if (c.emodel) finiteOrFail(abs, (c.emodel as Record<string, unknown>).mos, `${where}.emodel.mos`);
    if (c.streams !== undefined && !Array.isArray(c.streams))
      fail(abs, `${where}.streams must be an array`, `${where}.streams`);
  });
  return {
    dir: abs,
    experiment: e as unknown as ExperimentFile,
    path: (relative) => (isAbsolute(relative) ? relative : join(abs, relative)),
  };
}
