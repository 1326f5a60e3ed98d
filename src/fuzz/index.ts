export { type CampaignOptions, type CampaignResult, type FuzzFinding, runCampaign } from "./campaign.ts";
export { type FuzzSeed, loadCorpus, MAX_SEED_BYTES, seedFromBytes } from "./corpus.ts";
export { type FuzzInput, fuzzInput } from "./generate.ts";
export { MUTATIONS, type MutationName, mutate } from "./mutate.ts";
export { inputSeed, Prng } from "./prng.ts";
export { type FuzzOutcome, runFuzzInput } from "./targets.ts";
