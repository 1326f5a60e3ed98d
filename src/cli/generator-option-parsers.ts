/** Option parsers built on the generators' grammars: loss models and times (gen, replay, recv, capture). */
import { type LossModelSpec, parseLossModel, parseProbability, parseTime } from "../generator/index.ts";

/** --loss and --loss-model of the generators → the loss model, or undefined when neither is given. */
export function parseLossOptions(loss: string | undefined, lossModel: string | undefined): LossModelSpec | undefined {
  const probability = loss !== undefined ? parseProbability(loss, "--loss", "GEN_BAD_LOSS") : undefined;
  return loss !== undefined || lossModel !== undefined ? parseLossModel(lossModel, probability) : undefined;
}

/** A time option in seconds, a bare number counting as seconds (`parseTime`); undefined when not given. */
export function parseSeconds(text: string | undefined, option: string): number | undefined {
  return text === undefined ? undefined : parseTime(text, option, { bare: "s" });
}
