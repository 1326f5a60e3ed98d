import type { Db } from "../../../db/index.ts";
import { writeClipFolder } from "../clip-fixtures.ts";
import { clipsFromFolder } from "../clip-sources.ts";
import { createListeningTest, type ListeningTest } from "../test-store.ts";

/**
 * An ACR listening test on a folder of tone clips written into `dir` (one condition per level), with
 * the hearing check "583" and a 0.3 s lead before a trap's instruction: what the store's and the
 * rater's tests play.
 */
export async function createToneTest(
  db: Db,
  dir: string,
  options: { name: string; seed: number; conditions: number; clipsPerCondition?: number; seconds?: number },
): Promise<ListeningTest> {
  const { name, seed, ...clips } = options;
  writeClipFolder(dir, clips);
  return createListeningTest(db, {
    name,
    method: "acr",
    clips: clipsFromFolder(dir),
    seed,
    hearingDigits: "583",
    trapLeadSeconds: 0.3,
  });
}
