/**
 * What qoelab may claim about conformance, per sample rate: set to the statement only when
 * conformance.test.ts (ITU-T P.862 Annex A test 2, 40 VoIP pairs) passes at that rate; that test
 * fails when a statement here is not backed by the scores.
 */
export const ANNEX_A_TEST_2: Record<8000 | 16000, string | null> = {
  8000: null,
  16000: null,
};
