import { QoelabError } from "../../errors.ts";
import type { DelayDistribution, LossModelSpec } from "../../generator/index.ts";
import { parseTrace } from "./link-emulator-rate.ts";

/** What one direction of an emulated link does to its packets (netem's meaning for each option). */
export interface DirectionSpec {
  /** Constant one-way delay, seconds. */
  delay?: number;
  /** Jitter, seconds: half-width for uniform, σ for normal/pareto/paretonormal. */
  jitter?: number;
  delayDist?: DelayDistribution;
  /** netem's correlation of successive delay draws, 0…1. */
  delayCorrelation?: number;
  loss?: LossModelSpec;
  /** Probability a packet skips the delay (sent at once), as netem's reorder. */
  reorder?: number;
  reorderCorrelation?: number;
  duplicate?: number;
  duplicateCorrelation?: number;
  /** Probability of one flipped bit. */
  corrupt?: number;
  /** Constant link rate, bits per second (IP bytes count). */
  rate?: number;
  /** Rate trace: Mahimahi text, or the µs format (see link-emulator-rate.ts); replaces `rate`. */
  trace?: { text: string; name?: string };
  queue?: QueueSpec;
}

export interface QueueSpec {
  /** droptail drops the arriving packet, drophead the oldest waiting one. Default droptail. */
  discipline?: "droptail" | "drophead";
  /** Limit in packets (default 1000, netem's) unless `bytes` is given. */
  packets?: number;
  bytes?: number;
  /** CoDel (RFC 8289) at dequeue; target and interval in seconds (defaults 5 ms and 100 ms). */
  codel?: { target?: number; interval?: number };
}

export interface LinkEmulatorSpec {
  /** host → peer (the egress of the link key, as `impair` means it). */
  egress?: DirectionSpec;
  /** peer → host. */
  ingress?: DirectionSpec;
  seed?: number;
}

function prob(value: number | undefined, what: string): void {
  if (value === undefined) return;
  if (!(value >= 0 && value <= 1)) {
    throw new QoelabError("EMULATOR_BAD_SPEC", `link emulator: ${what} ${value} must lie between 0 and 1`, {
      field: what,
      value,
    });
  }
}

function nonNegative(value: number | undefined, what: string): void {
  if (value === undefined) return;
  if (!(value >= 0) || !Number.isFinite(value)) {
    throw new QoelabError("EMULATOR_BAD_SPEC", `link emulator: ${what} ${value} must be a finite number ≥ 0`, {
      field: what,
      value,
    });
  }
}

/** Rejects what cannot be emulated (impossible loss models included) with EMULATOR_BAD_SPEC / EMULATOR_BAD_LOSS_MODEL. */
export function validateDirectionSpec(spec: DirectionSpec, where: string): void {
  nonNegative(spec.delay, `${where} delay`);
  nonNegative(spec.jitter, `${where} jitter`);
  for (const [v, what] of [
    [spec.delayCorrelation, "delay correlation"],
    [spec.reorder, "reorder"],
    [spec.reorderCorrelation, "reorder correlation"],
    [spec.duplicate, "duplicate"],
    [spec.duplicateCorrelation, "duplicate correlation"],
    [spec.corrupt, "corrupt"],
  ] as const) {
    prob(v, `${where} ${what}`);
  }
  if (spec.rate !== undefined && !(spec.rate > 0 && Number.isFinite(spec.rate))) {
    throw new QoelabError("EMULATOR_BAD_SPEC", `link emulator: ${where} rate ${spec.rate} must be > 0 bit/s`, {
      field: "rate",
    });
  }
  if (spec.trace) parseTrace(spec.trace.text, spec.trace.name);
  const loss = spec.loss;
  if (loss) {
    const bad = (why: string) =>
      new QoelabError("EMULATOR_BAD_LOSS_MODEL", `link emulator: ${where} loss model ${JSON.stringify(loss)}: ${why}`, {
        loss,
      });
    const values = Object.entries(loss).filter(([k]) => k !== "kind");
    for (const [k, v] of values) {
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw bad(`${k} must be a probability in [0, 1]`);
    }
    if (loss.kind === "gilbert" && loss.p === 0 && loss.r === 0) throw bad("p and r cannot both be 0");
    if (loss.kind === "markov4" && (loss.p13 + loss.p14 > 1 || loss.p31 + loss.p32 > 1)) {
      throw bad("outgoing probabilities of a state sum above 1");
    }
    if (!["none", "bernoulli", "gilbert", "markov4"].includes(loss.kind)) throw bad("unknown kind");
  }
  const q = spec.queue;
  if (q) {
    if (q.discipline !== undefined && q.discipline !== "droptail" && q.discipline !== "drophead") {
      throw new QoelabError("EMULATOR_BAD_SPEC", `link emulator: ${where} queue discipline "${q.discipline}"`, {});
    }
    for (const [v, what] of [
      [q.packets, "queue packets"],
      [q.bytes, "queue bytes"],
    ] as const) {
      if (v !== undefined && !(Number.isSafeInteger(v) && v >= 1)) {
        throw new QoelabError(
          "EMULATOR_BAD_SPEC",
          `link emulator: ${where} ${what} ${v} must be a whole number ≥ 1`,
          {},
        );
      }
    }
    if (q.codel) {
      nonNegative(q.codel.target, `${where} codel target`);
      nonNegative(q.codel.interval, `${where} codel interval`);
    }
  }
  if (spec.reorder && !spec.delay) {
    throw new QoelabError("EMULATOR_BAD_SPEC", `link emulator: ${where} reorder needs a delay (as in netem)`, {});
  }
}

/** A direction that changes nothing (packets pass at once). */
export function isTransparent(spec: DirectionSpec | undefined): boolean {
  if (!spec) return true;
  return (
    !spec.delay &&
    !spec.jitter &&
    (!spec.loss || spec.loss.kind === "none") &&
    !spec.reorder &&
    !spec.duplicate &&
    !spec.corrupt &&
    spec.rate === undefined &&
    spec.trace === undefined
  );
}
