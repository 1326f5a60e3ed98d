import { QoelabError } from "../../errors.ts";
import {
  type DelayDistribution,
  formatLossModel,
  formatRate,
  formatTime,
  type LossModelSpec,
  parseLossModel,
  parseProbability,
  parseRate,
  parseSize,
  parseTime,
} from "../../generator/index.ts";

/** What an impairment asks for, with netem's meaning for each option. */
export interface ImpairSpec {
  /** Bits per second. */
  rate?: number;
  /** Bytes the token bucket may send at once (tbf burst); default from the rate. */
  burst?: number;
  /** Seconds. */
  delay?: number;
  /** Seconds (σ for normal/pareto/paretonormal, half-width for uniform). */
  jitter?: number;
  delayDist?: DelayDistribution;
  loss?: LossModelSpec;
  /** Probability that a packet is sent at once instead of delayed (needs delay). */
  reorder?: number;
  duplicate?: number;
  corrupt?: number;
  /** Queue limit in packets. */
  limit?: number;
  seed?: number;
  /** UDP destination ports the userspace relay intercepts (needed when the relay serves an option). */
  udpPorts?: number[];
  /** Wondershaper-style limits of a host interface, bits per second: egress (up) and ingress (down). */
  up?: number;
  down?: number;
}

export type ImpairOption = "rate" | "delay" | "loss" | "reorder" | "duplicate" | "corrupt" | "limit" | "up" | "down";

export const IMPAIR_OPTIONS: readonly ImpairOption[] = [
  "rate",
  "delay",
  "loss",
  "reorder",
  "duplicate",
  "corrupt",
  "limit",
  "up",
  "down",
];

/** Options present in a spec ("delay" covers jitter and distribution too). */
export function specOptions(spec: ImpairSpec): ImpairOption[] {
  const out: ImpairOption[] = [];
  if (spec.rate !== undefined) out.push("rate");
  if (spec.delay !== undefined || spec.jitter !== undefined) out.push("delay");
  if (spec.loss !== undefined && spec.loss.kind !== "none") out.push("loss");
  if (spec.reorder !== undefined) out.push("reorder");
  if (spec.duplicate !== undefined) out.push("duplicate");
  if (spec.corrupt !== undefined) out.push("corrupt");
  if (spec.limit !== undefined) out.push("limit");
  if (spec.up !== undefined) out.push("up");
  if (spec.down !== undefined) out.push("down");
  return out;
}

/** Text of the options as the user would write them. */
export interface ImpairArgs {
  rate?: string;
  burst?: string;
  delay?: string;
  jitter?: string;
  delayDist?: string;
  loss?: string;
  lossModel?: string;
  reorder?: string;
  duplicate?: string;
  corrupt?: string;
  limit?: string;
  seed?: string | number;
  udpPort?: string | number | (string | number)[];
  up?: string;
  down?: string;
}

const DISTS: readonly DelayDistribution[] = ["uniform", "normal", "pareto", "paretonormal"];

/** Parses and validates impairment options; every problem is a coded IMPAIR_* error naming the option. */
export function parseImpairSpec(args: ImpairArgs): ImpairSpec {
  const spec: ImpairSpec = {};
  if (args.rate !== undefined) {
    const text = String(args.rate).trim();
    if (/^0+(\.0*)?\s*[a-z]*$/i.test(text)) {
      throw new QoelabError(
        "IMPAIR_BAD_RATE",
        `--rate "${text}": must be greater than 0 (use "impair clear" to remove a limit)`,
        {
          option: "rate",
          value: text,
        },
      );
    }
    spec.rate = parseRate(text, "--rate", "IMPAIR_BAD_RATE");
  }
  if (args.burst !== undefined) spec.burst = parseSize(args.burst, "--burst", "IMPAIR_BAD_BURST");
  if (args.delay !== undefined) spec.delay = parseTime(args.delay, "--delay", { bare: "us", code: "IMPAIR_BAD_DELAY" });
  if (args.jitter !== undefined) {
    spec.jitter = parseTime(args.jitter, "--jitter", { bare: "us", code: "IMPAIR_BAD_JITTER" });
    if (spec.delay === undefined) {
      throw new QoelabError("IMPAIR_JITTER_NEEDS_DELAY", "--jitter needs --delay (as in netem: delay TIME JITTER)", {
        option: "jitter",
      });
    }
  }
  if (args.delayDist !== undefined) {
    const dist = args.delayDist.trim().toLowerCase() as DelayDistribution;
    if (!DISTS.includes(dist)) {
      throw new QoelabError("IMPAIR_BAD_DELAY_DIST", `--delay-dist "${args.delayDist}": use ${DISTS.join(", ")}`, {
        option: "delay-dist",
        value: args.delayDist,
      });
    }
    if (spec.jitter === undefined) {
      throw new QoelabError("IMPAIR_DIST_NEEDS_JITTER", "--delay-dist needs --jitter", { option: "delay-dist" });
    }
    spec.delayDist = dist;
  } else if (spec.jitter !== undefined) {
    spec.delayDist = "uniform";
  }
  const loss = args.loss !== undefined ? parseProbability(args.loss, "--loss", "IMPAIR_BAD_LOSS") : undefined;
  if (loss !== undefined || args.lossModel !== undefined) {
    spec.loss = parseLossModel(args.lossModel, loss, "IMPAIR_BAD_LOSS_MODEL");
    if (spec.loss.kind === "bernoulli" && spec.loss.p === 0 && args.lossModel !== undefined && loss === undefined) {
      throw new QoelabError("IMPAIR_BAD_LOSS_MODEL", "--loss-model bernoulli needs --loss P", { option: "loss-model" });
    }
  }
  if (args.reorder !== undefined) {
    spec.reorder = parseProbability(args.reorder, "--reorder", "IMPAIR_BAD_REORDER");
    if (!spec.delay) {
      throw new QoelabError(
        "IMPAIR_REORDER_NEEDS_DELAY",
        "--reorder needs a --delay (packets sent at once overtake delayed ones)",
        {
          option: "reorder",
        },
      );
    }
  }
  if (args.duplicate !== undefined)
    spec.duplicate = parseProbability(args.duplicate, "--duplicate", "IMPAIR_BAD_DUPLICATE");
  if (args.corrupt !== undefined) spec.corrupt = parseProbability(args.corrupt, "--corrupt", "IMPAIR_BAD_CORRUPT");
  if (args.limit !== undefined) {
    const n = Number(args.limit);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new QoelabError("IMPAIR_BAD_LIMIT", `--limit "${args.limit}": expected a whole number of packets ≥ 1`, {
        option: "limit",
        value: args.limit,
      });
    }
    spec.limit = n;
  }
  if (args.seed !== undefined) {
    const n = Number(args.seed);
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) {
      throw new QoelabError("IMPAIR_BAD_SEED", `--seed "${args.seed}": expected a whole number 0…4294967295`, {
        option: "seed",
      });
    }
    spec.seed = n;
  }
  if (args.udpPort !== undefined) {
    const list = (Array.isArray(args.udpPort) ? args.udpPort : [args.udpPort]).flatMap((p) => String(p).split(","));
    spec.udpPorts = list.map((p) => {
      const n = Number(p);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        throw new QoelabError("IMPAIR_BAD_PORT", `--udp-port "${p}": expected 1…65535`, {
          option: "udp-port",
          value: p,
        });
      }
      return n;
    });
  }
  for (const dir of ["up", "down"] as const) {
    const text = args[dir];
    if (text === undefined) continue;
    if (/^0+(\.0*)?\s*[a-z]*$/i.test(text.trim())) {
      throw new QoelabError("IMPAIR_BAD_RATE", `--${dir} "${text}": must be greater than 0`, {
        option: dir,
        value: text,
      });
    }
    spec[dir] = parseRate(text, `--${dir}`, "IMPAIR_BAD_RATE");
  }
  const options = specOptions(spec);
  if ((spec.up !== undefined || spec.down !== undefined) && options.some((o) => o !== "up" && o !== "down")) {
    throw new QoelabError(
      "IMPAIR_CONFLICT",
      "--up/--down shape a host interface in both directions; give them without the other impairment options",
      { options },
    );
  }
  if (specOptions(spec).length === 0) {
    throw new QoelabError(
      "IMPAIR_NOTHING",
      "no impairment given (use --rate, --delay, --loss, --reorder, --duplicate, --corrupt, --limit, or --up/--down)",
    );
  }
  return spec;
}

const pc = (p: number) => `${+(p * 100).toPrecision(6)}%`;

/** The value of one option, for `impair show`. */
export function describeOption(spec: ImpairSpec, option: ImpairOption): string {
  switch (option) {
    case "rate":
      return formatRate(spec.rate ?? 0) + (spec.burst ? ` burst ${spec.burst}b` : "");
    case "delay":
      return (
        formatTime(spec.delay ?? 0) + (spec.jitter ? ` ±${formatTime(spec.jitter)} ${spec.delayDist ?? "uniform"}` : "")
      );
    case "loss":
      return spec.loss ? formatLossModel(spec.loss) : "none";
    case "reorder":
      return pc(spec.reorder ?? 0);
    case "duplicate":
      return pc(spec.duplicate ?? 0);
    case "corrupt":
      return pc(spec.corrupt ?? 0);
    case "limit":
      return `${spec.limit} packets`;
    case "up":
      return formatRate(spec.up ?? 0);
    case "down":
      return formatRate(spec.down ?? 0);
  }
}
