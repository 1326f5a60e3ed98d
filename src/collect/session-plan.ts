/** A seeded 32-bit generator (mulberry32): enough for shuffling a session order reproducibly. */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  const random = mulberry32(seed);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const swap = plan[i]!;
    plan[i] = plan[j]!;
    plan[j] = swap;
  }
  return plan;
}
