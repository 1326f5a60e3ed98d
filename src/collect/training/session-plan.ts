import { Random, seededShuffle } from "../../generator/index.ts";

/**
 * The bandwidth limit of each session, equally represented: each of the k limits gets ⌊N/k⌋
 * sessions and the remainder N mod k goes one each to the first limits in the order the user
 * listed them. The order is then shuffled (Fisher–Yates) with the training's seed, so a run is
 * reproducible and no limit is played in one block (time-of-day effects spread over all limits).
 */
export function planSessionLimits(numberOfVideos: number, limits: readonly number[], seed: number): number[] {
  if (limits.length === 0) return [];
  const plan: number[] = [];
  const each = Math.floor(numberOfVideos / limits.length);
  const remainder = numberOfVideos % limits.length;
  limits.forEach((limit, i) => {
    const count = each + (i < remainder ? 1 : 0);
    for (let j = 0; j < count; j++) plan.push(limit);
  });
  return seededShuffle(plan, seed);
}

/** One session's link: a constant limit (Mbit/s) or a named bandwidth trace. */
export type SessionCondition = { kind: "limit"; mbps: number } | { kind: "trace"; name: string };

/**
 * The link of each session when a training names traces beside (or instead of) limits: every limit
 * and every trace is one condition, equally represented as `planSessionLimits` does it (limits first,
 * then traces, in the order given), in a seeded shuffled order.
 */
export function planSessionConditions(
  numberOfVideos: number,
  limits: readonly number[],
  traces: readonly string[],
  seed: number,
): SessionCondition[] {
  const conditions: SessionCondition[] = [
    ...limits.map((mbps) => ({ kind: "limit" as const, mbps })),
    ...traces.map((name) => ({ kind: "trace" as const, name })),
  ];
  if (conditions.length === 0) return [];
  const indices = planSessionLimits(
    numberOfVideos,
    conditions.map((_, i) => i),
    seed,
  );
  return indices.map((i) => conditions[i] as SessionCondition);
}

/**
 * Where a trace session starts in its trace: whole seconds in [0, period − span) (or [0, period) when
 * the trace is shorter than the span), from the training's seed and the session's position, so a
 * trace's sessions see different parts of it and a re-run sees the same ones.
 */
export function traceOffsetSeconds(seed: number, position: number, periodS: number, spanS: number): number {
  const room = periodS > spanS ? periodS - spanS : periodS;
  const random = new Random(seed * 7919 + position * 104729 + 17);
  return Math.floor(random.next() * Math.max(1, Math.floor(room)));
}
