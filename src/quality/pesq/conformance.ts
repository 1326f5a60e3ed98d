/**
 * What qoelab may claim about conformance, per sample rate (narrowband P.862): the statement is
 * set only where the Annex A test 2 suite (conformance-8k.test.ts, conformance-16k.test.ts: the 40
 * VoIP pairs) passes; those tests fail when a statement here is not backed by the scores.
 */
export const ANNEX_A_TEST_2_STATEMENT = "conformant to P.862 Annex A test 2";

export const ANNEX_A_TEST_2: Record<8000 | 16000, string | null> = {
  8000: ANNEX_A_TEST_2_STATEMENT,
  16000: ANNEX_A_TEST_2_STATEMENT,
};
