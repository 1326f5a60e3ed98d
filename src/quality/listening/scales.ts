import { QoelabError } from "../../errors.ts";

/** Listening-test methods of ITU-T P.800: Absolute / Degradation / Comparison Category Rating. */
export type ListeningMethod = "acr" | "dcr" | "ccr";

export interface RatingScale {
  method: ListeningMethod;
  /** What the mean is called: MOS (ACR), DMOS (DCR), CMOS (CCR). */
  meanName: "MOS" | "DMOS" | "CMOS";
  question: string;
  /** Best first, as P.800 lists them. */
  options: ReadonlyArray<{ score: number; label: string }>;
  min: number;
  max: number;
  /** The answer a trapping clip asks for (P.808: a specific, not-extreme category). */
  trapScore: number;
}

/** A P.800 category scale: `labels` best first, scored from `best` down in steps of one. */
function categoryScale(
  method: ListeningMethod,
  meanName: RatingScale["meanName"],
  question: string,
  best: number,
  labels: readonly string[],
  trapScore: number,
): RatingScale {
  return {
    method,
    meanName,
    question,
    options: labels.map((label, i) => ({ score: best - i, label })),
    min: best - labels.length + 1,
    max: best,
    trapScore,
  };
}

const SCALES: Record<ListeningMethod, RatingScale> = {
  acr: categoryScale(
    "acr",
    "MOS",
    "Listening quality of the speech sample",
    5,
    ["Excellent", "Good", "Fair", "Poor", "Bad"],
    2,
  ),
  dcr: categoryScale(
    "dcr",
    "DMOS",
    "Degradation of the second sample compared with the first (reference)",
    5,
    [
      "Degradation is inaudible",
      "Degradation is audible but not annoying",
      "Degradation is slightly annoying",
      "Degradation is annoying",
      "Degradation is very annoying",
    ],
    2,
  ),
  ccr: categoryScale(
    "ccr",
    "CMOS",
    "Quality of the second sample compared with the first",
    3,
    ["Much better", "Better", "Slightly better", "About the same", "Slightly worse", "Worse", "Much worse"],
    -2,
  ),
};

export const LISTENING_METHODS: readonly ListeningMethod[] = ["acr", "dcr", "ccr"];

export function parseMethod(value: string | undefined, where = "method"): ListeningMethod {
  const method = (value ?? "acr").toLowerCase();
  if (method === "acr" || method === "dcr" || method === "ccr") return method;
  throw new QoelabError("LISTEN_BAD_METHOD", `${where}: unknown listening-test method "${value}" (acr, dcr or ccr)`, {
    fields: { method: "acr, dcr or ccr" },
  });
}

export function ratingScale(method: ListeningMethod): RatingScale {
  return SCALES[method];
}

export function scoreLabel(method: ListeningMethod, score: number): string {
  return SCALES[method].options.find((o) => o.score === score)?.label ?? String(score);
}

/** Throws LISTEN_BAD_SCORE unless `score` is an integer category of the method's scale. */
export function checkScore(method: ListeningMethod, score: unknown, where = "score"): number {
  const scale = SCALES[method];
  const value = typeof score === "string" && score.trim() !== "" ? Number(score) : score;
  if (typeof value !== "number" || !Number.isInteger(value) || value < scale.min || value > scale.max) {
    throw new QoelabError(
      "LISTEN_BAD_SCORE",
      `${where}: ${JSON.stringify(score)} is not on the ${method.toUpperCase()} scale (integer ${scale.min}…${scale.max})`,
      { fields: { score: `integer ${scale.min}…${scale.max}` } },
    );
  }
  return value;
}
