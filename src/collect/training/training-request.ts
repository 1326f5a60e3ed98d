import { listTraceEntries } from "../origin/trace-library.ts";
import { TRACE_SCALE_LIMITS } from "../origin/trace-scale.ts";
import type { FieldErrors, Validated } from "./field-errors.ts";

/** What a user asks for: N videos × a session duration × a list of bandwidth limits. */
export interface TrainingRequest {
  name: string;
  numberOfVideos: number;
  /** Seconds each session records after the warm-up. */
  sessionDuration: number;
  /** Mbit/s, in the order the user gave them (may be empty when traces are given). */
  bwLimitations: number[];
  /** Bandwidth traces by name (`qoelab traces list`), beside or instead of the limits. */
  traces: string[];
  /** Every trace's rates × this (timing kept; 1 = as recorded), to bring real traces into a ladder's range. */
  traceScale: number;
  /** Seconds played before recording starts (the seed used 20). */
  warmup: number;
  source: "local" | "twitch" | "urls";
  /** HLS URLs for source "urls". */
  urls: string[];
  seed: number;
  /** Lab slots running sessions in parallel. */
  slots: number;
  maxAttempts: number;
  /**
   * Who plays the sessions: the collection worker's browsers in lab hosts, or a person who opens
   * /player?training=ID (the worker then leaves the training alone).
   */
  driver: TrainingDriver;
  /** One-way delay added to the video's downstream (router → client), ms; 0 = none. */
  delayMs: number;
  /** Random (Bernoulli) loss on the same downstream, percent; 0 = none. */
  lossPercent: number;
}

export type TrainingDriver = "worker" | "person";

export const TRAINING_LIMITS = {
  maxVideos: 10_000,
  minDuration: 5,
  maxDuration: 3600,
  minMbps: 0.05,
  maxMbps: 1000,
  maxLimits: 20,
  maxWarmup: 600,
  maxSlots: 16,
  maxDelayMs: 5000,
  maxLossPercent: 50,
  maxTraces: 50,
} as const;

type RawForm = Record<string, unknown>;

function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map(text).join(",");
  return String(value).trim();
}

function integerField(
  raw: RawForm,
  field: string,
  label: string,
  min: number,
  max: number,
  fallback: number | undefined,
  errors: FieldErrors,
): number {
  const value = text(raw[field]);
  if (value === "") {
    if (fallback !== undefined) return fallback;
    errors[field] = `${label} is required`;
    return Number.NaN;
  }
  if (!/^[+]?\d+$/.test(value)) {
    errors[field] = `${label} must be a ${min >= 1 ? "positive " : ""}whole number, got "${value.slice(0, 40)}"`;
    return Number.NaN;
  }
  const number = Number(value);
  if (number < min || number > max) errors[field] = `${label} must be between ${min} and ${max}, got ${number}`;
  return number;
}

/** A decimal field such as "40" or "0.5" within [min, max]; `fallback` when left empty. */
function decimalField(
  raw: RawForm,
  field: string,
  label: string,
  min: number,
  max: number,
  fallback: number,
  errors: FieldErrors,
): number {
  const value = text(raw[field]);
  if (value === "") return fallback;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value)) {
    errors[field] = `${label} must be a number, got "${value}"`;
    return Number.NaN;
  }
  const number = Number(value);
  if (number < min || number > max) errors[field] = `${label} must be between ${min} and ${max}, got ${number}`;
  return number;
}

/** Parses "0.25, 1, 2" (Mbit/s); also accepts a JSON array of numbers. */
export function parseBandwidthList(value: unknown, errors: FieldErrors, field = "bw_limitations"): number[] {
  const items: string[] = Array.isArray(value) ? value.map(text) : text(value).split(/[,;\s]+/);
  const limits: number[] = [];
  const cleaned = items.map((s) => s.trim()).filter((s) => s !== "");
  if (cleaned.length === 0) {
    errors[field] = 'give at least one bandwidth limit in Mbit/s, e.g. "0.25, 1, 2"';
    return limits;
  }
  for (const item of cleaned) {
    const stripped = item.replace(/\s*mbps$/i, "");
    if (!/^(\d+(\.\d*)?|\.\d+)$/.test(stripped)) {
      errors[field] = `"${item}" is not a number of Mbit/s`;
      return [];
    }
    const mbps = Number(stripped);
    if (mbps < TRAINING_LIMITS.minMbps || mbps > TRAINING_LIMITS.maxMbps) {
      errors[field] =
        `${mbps} Mbit/s is outside ${TRAINING_LIMITS.minMbps}–${TRAINING_LIMITS.maxMbps} Mbit/s (tbf cannot shape below that)`;
      return [];
    }
    if (limits.includes(mbps)) {
      errors[field] = `${mbps} Mbit/s is listed twice`;
      return [];
    }
    limits.push(mbps);
  }
  if (limits.length > TRAINING_LIMITS.maxLimits) errors[field] = `at most ${TRAINING_LIMITS.maxLimits} limits`;
  return limits;
}

/**
 * Parses trace names ("hsdpa-bus-2010-09-28_1407, fcc-yahoo-797172", or a JSON array); each must be a
 * trace `qoelab traces list` shows (the shipped ones and QOELAB_TRACES_DIR's).
 */
export function parseTraceList(value: unknown, errors: FieldErrors, field = "traces"): string[] {
  const items: string[] = Array.isArray(value) ? value.map(text) : text(value).split(/[,;\s]+/);
  const names = items.map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) return [];
  let known: Set<string>;
  try {
    known = new Set(listTraceEntries().map((e) => e.name));
  } catch (error) {
    errors[field] = (error as Error).message;
    return [];
  }
  const traces: string[] = [];
  for (const name of names) {
    if (!known.has(name)) {
      errors[field] = `no bandwidth trace named "${name}" (qoelab traces list shows ${known.size} of them)`;
      return [];
    }
    if (traces.includes(name)) {
      errors[field] = `trace "${name}" is listed twice`;
      return [];
    }
    traces.push(name);
  }
  if (traces.length > TRAINING_LIMITS.maxTraces) errors[field] = `at most ${TRAINING_LIMITS.maxTraces} traces`;
  return traces;
}

/** Validates the seed's form (or the JSON API body); every bad field gets its own message. */
export function validateTrainingRequest(raw: RawForm): Validated<TrainingRequest> {
  const errors: FieldErrors = {};
  const numberOfVideos = integerField(
    raw,
    "number_of_videos",
    "Number of videos",
    1,
    TRAINING_LIMITS.maxVideos,
    undefined,
    errors,
  );
  const sessionDuration = integerField(
    raw,
    "session_duration",
    "Session duration (s)",
    TRAINING_LIMITS.minDuration,
    TRAINING_LIMITS.maxDuration,
    undefined,
    errors,
  );
  const traces = parseTraceList(raw.traces, errors);
  // With traces, constant limits are optional.
  const bwLimitations =
    traces.length > 0 && text(raw.bw_limitations) === "" ? [] : parseBandwidthList(raw.bw_limitations, errors);
  const traceScale = decimalField(
    raw,
    "trace_scale",
    "Trace rate scale",
    TRACE_SCALE_LIMITS.min,
    TRACE_SCALE_LIMITS.max,
    1,
    errors,
  );
  if (traceScale !== 1 && traces.length === 0 && !errors.trace_scale && !errors.traces)
    errors.trace_scale = "Trace rate scale applies to bandwidth traces: name at least one trace or leave it at 1";
  const warmup = integerField(raw, "warmup", "Warm-up (s)", 0, TRAINING_LIMITS.maxWarmup, 20, errors);
  const seed = integerField(raw, "seed", "Seed", 0, 2 ** 31 - 1, 1, errors);
  const slots = integerField(raw, "slots", "Lab slots", 1, TRAINING_LIMITS.maxSlots, 1, errors);
  const maxAttempts = integerField(raw, "max_attempts", "Attempts per session", 1, 10, 3, errors);
  const sourceText = text(raw.source) || "local";
  let source: TrainingRequest["source"] = "local";
  if (sourceText === "local" || sourceText === "twitch" || sourceText === "urls") source = sourceText;
  else errors.source = `unknown video source "${sourceText}" (local, twitch or urls)`;
  const urls = text(raw.urls)
    .split(/[\s,]+/)
    .filter((u) => u !== "");
  if (source === "urls") {
    if (urls.length === 0) errors.urls = "give at least one HLS URL";
    for (const url of urls) {
      try {
        const parsed = new URL(url);
        if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error("scheme");
      } catch {
        errors.urls = `"${url}" is not an http(s) URL`;
        break;
      }
    }
  }
  const driverText = text(raw.driver) || "worker";
  let driver: TrainingDriver = "worker";
  if (driverText === "worker" || driverText === "person") driver = driverText;
  else errors.driver = `unknown driver "${driverText}" (worker or person)`;
  // A person's browser runs on this host and reaches only the lab's own origin through the router.
  if (driver === "person" && source !== "local" && !errors.source)
    errors.driver = "a person's browser plays the built-in origin only; choose the built-in local origin as source";
  const delayMs = decimalField(raw, "delay_ms", "Added delay (ms)", 0, TRAINING_LIMITS.maxDelayMs, 0, errors);
  const lossPercent = decimalField(
    raw,
    "loss_percent",
    "Random loss (%)",
    0,
    TRAINING_LIMITS.maxLossPercent,
    0,
    errors,
  );
  // A person's downstream is the uplink to this host, which only tbf shapes: the link emulator
  // needs a lab host at each end.
  if (driver === "person" && (delayMs > 0 || lossPercent > 0) && !errors.driver)
    errors.driver =
      "a person's sessions are shaped in rate only (delay and loss need a lab host at both ends of the link); set delay and loss to 0 or let the worker play";
  if (driver === "person" && traces.length > 0 && !errors.driver)
    errors.traces =
      "a person's sessions are shaped by a constant rate only (a trace needs the link emulator between two lab hosts); let the worker play";
  const name = text(raw.name).slice(0, 200);
  // Control characters (a NUL byte above all) cannot be stored in a text column.
  if (/[\u0000-\u001f\u007f]/.test(name))
    errors.name = "Name must not contain control characters (NUL, tab, line breaks)";
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    value: {
      name: name || `training ${new Date().toISOString().slice(0, 16).replace("T", " ")}`,
      numberOfVideos,
      sessionDuration,
      bwLimitations,
      traces,
      traceScale,
      warmup,
      source,
      urls,
      seed,
      slots,
      maxAttempts,
      driver,
      delayMs,
      lossPercent,
    },
  };
}
