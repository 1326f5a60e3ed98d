import type { ListeningMethod } from "./scales.ts";
import { ratingScale } from "./scales.ts";
import { naturalCompare, pearson, type ScoreSummary, summarizeScores } from "./statistics.ts";

/** What a clip is for: rated test material, or one of P.808's safeguards. */
export type ClipKind = "test" | "training" | "gold" | "trap";

export interface Rating {
  rater: string;
  condition: string;
  clip: string;
  score: number;
  /** ISO time the rating was given (CSV export). */
  time?: string;
  /** Absent → "test". */
  kind?: ClipKind;
  /** Gold and trap clips: the answer expected. */
  expected?: number | null;
  /** Gold clips: the allowed |score − expected| (trap clips allow none). */
  tolerance?: number | null;
}

export interface ScreeningOptions {
  method: ListeningMethod;
  /** Flag a rater whose Pearson r with the others' per-clip means is below this (default 0.25). */
  correlationThreshold?: number;
  /** Exclude flagged outliers from the screened results too (default true). */
  excludeOutliers?: boolean;
  /** Raters that failed the hearing check (excluded). */
  hearingFailed?: Iterable<string>;
  /** Condition order for the output (default natural order of the names). */
  conditionOrder?: readonly string[];
}

export interface RaterScreening {
  rater: string;
  /** Test clips rated. */
  rated: number;
  trapsFailed: number;
  goldFailed: number;
  /** Pearson r of the rater's scores with the mean of the other (kept) raters per clip. */
  correlation: number | null;
  outlier: boolean;
  excluded: boolean;
  reasons: string[];
}

export interface ConditionSummary extends ScoreSummary {
  condition: string;
}

export interface ClipSummary extends ScoreSummary {
  condition: string;
  clip: string;
}

export interface ResultSet {
  raters: number;
  conditions: ConditionSummary[];
  clips: ClipSummary[];
}

export interface ListeningStats {
  method: ListeningMethod;
  meanName: string;
  /** The screening rules, stated. */
  rules: string[];
  raters: RaterScreening[];
  /** Every rater's test ratings. */
  all: ResultSet;
  /** Without excluded raters. */
  screened: ResultSet;
}

export const DEFAULT_CORRELATION_THRESHOLD = 0.25;

function isTest(r: Rating): boolean {
  return (r.kind ?? "test") === "test";
}

function resultSet(ratings: readonly Rating[], conditionOrder: readonly string[] | undefined): ResultSet {
  const byCondition = new Map<string, number[]>();
  const byClip = new Map<string, { condition: string; clip: string; scores: number[] }>();
  const raters = new Set<string>();
  for (const r of ratings) {
    raters.add(r.rater);
    let list = byCondition.get(r.condition);
    if (!list) {
      list = [];
      byCondition.set(r.condition, list);
    }
    list.push(r.score);
    const key = `${r.condition}\u0000${r.clip}`;
    let clip = byClip.get(key);
    if (!clip) {
      clip = { condition: r.condition, clip: r.clip, scores: [] };
      byClip.set(key, clip);
    }
    clip.scores.push(r.score);
  }
  const rank = new Map((conditionOrder ?? []).map((c, i) => [c, i]));
  const compareConditions = (a: string, b: string) =>
    (rank.get(a) ?? Number.MAX_SAFE_INTEGER) - (rank.get(b) ?? Number.MAX_SAFE_INTEGER) || naturalCompare(a, b);
  const conditions = [...byCondition.keys()]
    .sort(compareConditions)
    .map((condition) => ({ condition, ...summarizeScores(byCondition.get(condition)!) }));
  const clips = [...byClip.values()]
    .sort((a, b) => compareConditions(a.condition, b.condition) || naturalCompare(a.clip, b.clip))
    .map((c) => ({ condition: c.condition, clip: c.clip, ...summarizeScores(c.scores) }));
  return { raters: raters.size, conditions, clips };
}

/**
 * Screens raters as P.808 does and summarizes per condition and per clip, with and without the
 * excluded raters. Rules: (1) a failed trapping clip (score ≠ the asked category) excludes the
 * rater; (2) a failed gold clip (|score − expected| > tolerance) excludes the rater; (3) a failed
 * hearing check excludes the rater; (4) a rater whose Pearson correlation with the per-clip mean of
 * the other non-excluded raters is below the threshold (default 0.25, over ≥ 3 shared clips) is
 * flagged as an outlier — and excluded unless `excludeOutliers` is false.
 */
export function analyzeRatings(ratings: readonly Rating[], options: ScreeningOptions): ListeningStats {
  const threshold = options.correlationThreshold ?? DEFAULT_CORRELATION_THRESHOLD;
  const excludeOutliers = options.excludeOutliers !== false;
  const hearingFailed = new Set(options.hearingFailed ?? []);
  const raterNames = [...new Set([...ratings.map((r) => r.rater), ...hearingFailed])].sort(naturalCompare);
  const screening = new Map<string, RaterScreening>();
  for (const rater of raterNames) {
    screening.set(rater, {
      rater,
      rated: 0,
      trapsFailed: 0,
      goldFailed: 0,
      correlation: null,
      outlier: false,
      excluded: false,
      reasons: [],
    });
  }
  for (const r of ratings) {
    const s = screening.get(r.rater)!;
    const kind = r.kind ?? "test";
    if (kind === "test") s.rated++;
    else if (kind === "trap" && r.expected !== undefined && r.expected !== null && r.score !== r.expected)
      s.trapsFailed++;
    else if (
      kind === "gold" &&
      r.expected !== undefined &&
      r.expected !== null &&
      Math.abs(r.score - r.expected) > (r.tolerance ?? 0)
    )
      s.goldFailed++;
  }
  for (const s of screening.values()) {
    if (s.trapsFailed > 0) s.reasons.push(`failed ${s.trapsFailed} trapping clip(s)`);
    if (s.goldFailed > 0) s.reasons.push(`failed ${s.goldFailed} gold clip(s)`);
    if (hearingFailed.has(s.rater)) s.reasons.push("failed the hearing check");
    s.excluded = s.reasons.length > 0;
  }
  // Correlation against the others' per-clip means, over the raters kept by rules 1–3.
  const testRatings = ratings.filter(isTest);
  const perClip = new Map<string, Map<string, number[]>>();
  for (const r of testRatings) {
    if (screening.get(r.rater)!.excluded) continue;
    const key = `${r.condition}\u0000${r.clip}`;
    let byRater = perClip.get(key);
    if (!byRater) {
      byRater = new Map();
      perClip.set(key, byRater);
    }
    let list = byRater.get(r.rater);
    if (!list) {
      list = [];
      byRater.set(r.rater, list);
    }
    list.push(r.score);
  }
  for (const s of screening.values()) {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const byRater of perClip.values()) {
      const own = byRater.get(s.rater);
      if (!own) continue;
      let sum = 0;
      let count = 0;
      for (const [other, scores] of byRater) {
        if (other === s.rater) continue;
        for (const v of scores) {
          sum += v;
          count++;
        }
      }
      if (count === 0) continue;
      xs.push(own.reduce((a, b) => a + b, 0) / own.length);
      ys.push(sum / count);
    }
    s.correlation = pearson(xs, ys);
    // A rater who gives one score to clips the others tell apart carries no information either.
    const constantAgainstVarying =
      s.correlation === null && xs.length >= 3 && new Set(xs).size === 1 && new Set(ys).size > 1;
    if ((s.correlation !== null && s.correlation < threshold) || constantAgainstVarying) {
      s.outlier = true;
      s.reasons.push(
        s.correlation === null
          ? "outlier: the same score for every clip"
          : `outlier: r = ${s.correlation.toFixed(3)} < ${threshold} with the others' clip means`,
      );
      if (excludeOutliers) s.excluded = true;
    }
  }
  const kept = testRatings.filter((r) => !screening.get(r.rater)!.excluded);
  const scale = ratingScale(options.method);
  return {
    method: options.method,
    meanName: scale.meanName,
    rules: [
      "a failed trapping clip (score other than the category asked for) excludes the rater",
      "a failed gold clip (|score − known answer| > tolerance) excludes the rater",
      "a failed hearing check excludes the rater",
      `Pearson r of a rater's clip scores with the mean of the other kept raters < ${threshold} (≥ 3 shared clips) flags an outlier${excludeOutliers ? ", excluded" : ", kept"}`,
      "95 % CI half-width = t(0.975, n − 1) · s / √n, s the sample standard deviation",
    ],
    raters: [...screening.values()],
    all: resultSet(testRatings, options.conditionOrder),
    screened: resultSet(kept, options.conditionOrder),
  };
}
