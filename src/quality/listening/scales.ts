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

const SCALES: Record<ListeningMethod, RatingScale> = {
  acr: {
    method: "acr",
    meanName: "MOS",
    question: "Listening quality of the speech sample",
    options: [
      { score: 5, label: "Excellent" },
      { score: 4, label: "Good" },
      { score: 3, label: "Fair" },
      { score: 2, label: "Poor" },
      { score: 1, label: "Bad" },
    ],
    min: 1,
    max: 5,
    trapScore: 2,
  },
  dcr: {
    method: "dcr",
    meanName: "DMOS",
    question: "Degradation of the second sample compared with the first (reference)",
    options: [
      { score: 5, label: "Degradation is inaudible" },
      { score: 4, label: "Degradation is audible but not annoying" },
      { score: 3, label: "Degradation is slightly annoying" },
      { score: 2, label: "Degradation is annoying" },
      { score: 1, label: "Degradation is very annoying" },
    ],
    min: 1,
    max: 5,
    trapScore: 2,
  },
  ccr: {
    method: "ccr",
    meanName: "CMOS",
    question: "Quality of the second sample compared with the first",
    options: [
      { score: 3, label: "Much better" },
      { score: 2, label: "Better" },
      { score: 1, label: "Slightly better" },
      { score: 0, label: "About the same" },
      { score: -1, label: "Slightly worse" },
      { score: -2, label: "Worse" },
      { score: -3, label: "Much worse" },
    ],
    min: -3,
    max: 3,
    trapScore: -2,
  },
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
