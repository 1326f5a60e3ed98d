import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";

/**
 * A small folder of short clips for tests and demos, made with sox: one subfolder per condition
 * (a tone that changes with each condition), `seconds` long each, and a clean reference.wav.
 */
export function writeClipFolder(
  dir: string,
  options: { conditions?: number; clipsPerCondition?: number; seconds?: number } = {},
): string[] {
  const conditions: string[] = [];
  const seconds = String(options.seconds ?? 0.4);
  const make = (out: string, level: number) => {
    // Conditions differ audibly: the tone gets quieter and coarser (fewer bits) with each level.
    const args = ["-n", "-r", "8000", "-c", "1", "-b", "16", out, "synth", seconds, "sine", String(440 + 110 * level)];
    args.push("vol", String(1 - 0.2 * level));
    const result = spawnSync("sox", args, { encoding: "utf8" });
    if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT")
      throw new QoelabError("TOOL_MISSING_SOX", "sox is not installed (Debian package sox; run scripts/setup.sh)");
    if (result.status !== 0)
      throw new QoelabError("LISTEN_AUDIO_TOOL_FAILED", `sox failed making ${out}: ${result.stderr}`);
  };
  mkdirSync(dir, { recursive: true });
  make(join(dir, "reference.wav"), 0);
  for (let c = 0; c < (options.conditions ?? 3); c++) {
    const condition = `c${c}`;
    mkdirSync(join(dir, condition), { recursive: true });
    for (let k = 0; k < (options.clipsPerCondition ?? 1); k++) make(join(dir, condition, `clip${k + 1}.wav`), c);
    conditions.push(condition);
  }
  return conditions;
}
