import { seededShuffle } from "../generator/index.ts";

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
