export { aggregateDisturbance, SYLLABLE_FRAMES } from "./aggregation.ts";
export { BARK_BANDS_8K, BARK_BANDS_16K, type BarkBands } from "./bark-bands.ts";
export { type PesqMode, type PesqRateConfig, rateConfig } from "./config.ts";
export { ANNEX_A_TEST_2 } from "./conformance.ts";
export { mosLqoNarrowband, mosLqoWideband, rawFromMosLqoNarrowband } from "./mos-mapping.ts";
export { PESQ_VERSIONS, type PesqOptions, type PesqResult, pesq, pesqVersionLabel } from "./pesq.ts";
export { type PesqBatchFailure, type PesqBatchOptions, pesqBatch } from "./pesq-batch.ts";
export { type PesqFileResult, pesqFiles } from "./pesq-files.ts";
export {
  checkPair,
  type PesqFileOptions,
  type PesqPair,
  type PesqSignal,
  parsePairsTsv,
  pesqSignal,
  readPesqFile,
} from "./pesq-input.ts";
