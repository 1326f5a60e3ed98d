import { QoelabError } from "../errors.ts";
import { type LossModelSpec, parseLossModel } from "../generator/index.ts";

/**
 * What `qoelab experiment voip` is asked to do, validated before anything is touched: loss levels
 * (percent), the loss model, one-way delay, call length, seed, codec.
 */
export interface VoipExperimentSpec {
  /** Loss levels in percent, in the order given (each a condition). */
  lossPercents: number[];
  /** "bernoulli" (default) or a gilbert/state model text as `impair --loss-model` takes it. */
  lossModel: string;
  /** Extra one-way delay on the impaired link, ms (0 = none). */
  delayMs: number;
  seed?: number;
  /** Talk time per call after it is established, s (default: the WAV's length + 1 s). */
  seconds?: number;
  codec: "pcmu" | "pcma";
  ptimeMs: 20;
  /** Who drops packets: "emulator" (default, seeded), "netem", "iptables" (on the link) or "replayer". */
  impairBackend: "emulator" | "netem" | "iptables" | "replayer";
  /** What the extraction does with lost packets; the E-model assumes the same. */
  plc: "none" | "g711";
}

/** "0,0.5,1,3" or "0 %, 1%" → [0, 0.5, 1, 3] (percent). */
export function parseLossList(text: string): number[] {
  const parts = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  if (parts.length === 0) {
    throw new QoelabError("EXPERIMENT_BAD_LOSS", `--loss "${text}": give loss levels in percent, e.g. 0,0.5,1,3`, {
      option: "loss",
    });
  }
  const out: number[] = [];
  for (const part of parts) {
    const m = /^([0-9]*\.?[0-9]+)\s*%?$/.exec(part);
    const value = m ? Number(m[1]) : Number.NaN;
    if (!(value >= 0 && value < 100)) {
      throw new QoelabError(
        "EXPERIMENT_BAD_LOSS",
        `--loss "${part}": each level is a percentage in [0, 100) (e.g. 0,0.5,1,3)`,
        { option: "loss", value: part },
      );
    }
    if (out.includes(value)) {
      throw new QoelabError("EXPERIMENT_BAD_LOSS", `--loss: ${value} % is given twice`, { option: "loss", value });
    }
    out.push(value);
  }
  return out;
}

/** Condition id of a loss level: "loss-0", "loss-0.5", "loss-3". */
export function conditionId(lossPercent: number): string {
  return `loss-${+lossPercent.toPrecision(6)}`;
}

/** The loss model of one level (the level is the model's long-run loss for bernoulli). */
export function lossModelFor(spec: VoipExperimentSpec, lossPercent: number): LossModelSpec {
  if (lossPercent === 0) return { kind: "none" };
  const model = spec.lossModel.trim().toLowerCase();
  if (model === "bernoulli" || model === "random") return { kind: "bernoulli", p: lossPercent / 100 };
  // A gilbert/state model brings its own loss; --loss then only labels the condition.
  return parseLossModel(spec.lossModel, undefined, "EXPERIMENT_BAD_LOSS_MODEL");
}

export function validateLossModel(text: string, lossPercents: readonly number[]): void {
  const model = text.trim().toLowerCase();
  if (model === "bernoulli" || model === "random") return;
  parseLossModel(text, undefined, "EXPERIMENT_BAD_LOSS_MODEL");
  if (lossPercents.filter((p) => p > 0).length > 1) {
    throw new QoelabError(
      "EXPERIMENT_BAD_LOSS_MODEL",
      `--loss-model "${text}" has its own loss rate; give one non-zero --loss level with it (e.g. --loss 0,3)`,
      { option: "loss-model" },
    );
  }
}
