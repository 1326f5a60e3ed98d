import type { FuzzSeed } from "./corpus.ts";
import { type MutationName, mutate } from "./mutate.ts";
import { inputSeed, Prng } from "./prng.ts";

export interface FuzzInput {
  index: number;
  bytes: Uint8Array;
  /** Corpus name of the seed it was made from. */
  source: string;
  mutations: MutationName[];
}

/** Input `index` of the campaign seeded `seed`: the same corpus gives the same bytes, in any worker. */
export function fuzzInput(corpus: readonly FuzzSeed[], seed: number, index: number): FuzzInput {
  const rng = new Prng(inputSeed(seed, index));
  const source = rng.pick(corpus);
  const other = rng.pick(corpus);
  const mutations: MutationName[] = [];
  // A few inputs are seeds as they are: every real capture must pass untouched too.
  const bytes = rng.chance(0.02) ? source.bytes.slice() : mutate(source, other, rng, mutations);
  return { index, bytes, source: source.name, mutations };
}
