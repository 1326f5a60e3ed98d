import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The ITU-T P.862 Annex A conformance data: ../shared/data/pesq-conformance relative to the repo root. */
export function conformanceDir(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
  const dir = path.resolve(repoRoot, "../shared/data/pesq-conformance");
  if (!existsSync(path.join(dir, "voipref_8k.txt"))) {
    throw new Error(
      `PESQ conformance data missing: expected ${dir}/voipref_8k.txt (ITU-T P.862 Annex A test 2 set, see its README)`,
    );
  }
  return dir;
}
