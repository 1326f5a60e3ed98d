import { fileURLToPath } from "node:url";
import { runCampaign } from "./campaign.ts";

/**
 * `npm run fuzz -- --count 100000 [--seed N] [--from N] [--workers N] [--hang-ms N] [--save DIR | --no-save] [--json]`:
 * the long mutation campaign. Prints inputs/s, crashes, hangs and peak RSS; crashing and hanging
 * inputs (one per distinct error) are saved under test-data/fuzz/ unless --no-save.
 */
const repo = fileURLToPath(new URL("../../", import.meta.url));
const args = process.argv.slice(2);
const value = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const count = Number(value("--count", "10000"));
const seed = Number(value("--seed", "1"));
const from = Number(value("--from", "0"));
const workers = Number(value("--workers", "2"));
const hangMs = Number(value("--hang-ms", "10000"));
if (
  !Number.isInteger(count) ||
  count < 1 ||
  !Number.isInteger(from) ||
  from < 0 ||
  !Number.isInteger(seed) ||
  !Number.isInteger(workers) ||
  !(hangMs > 0)
) {
  process.stderr.write(
    "usage: npm run fuzz -- --count N [--seed N] [--from N] [--workers N] [--hang-ms MS] [--save DIR | --no-save] [--json]\n",
  );
  process.exit(2);
}
const saveDir = args.includes("--no-save") ? undefined : value("--save", `${repo}test-data/fuzz`);
// The real captures beside the repository (QOELAB_REALCAPS names another folder).
const realcaps =
  process.env.QOELAB_REALCAPS ?? fileURLToPath(new URL("../../../shared/data/realcaps", import.meta.url));
const roots = [`${repo}test-data`, realcaps];
const result = await runCampaign({
  count,
  from,
  seed,
  workers,
  hangMs,
  roots,
  saveDir,
  onProgress: (p) =>
    process.stderr.write(
      `${p.inputs} inputs, ${(p.inputs / p.seconds).toFixed(1)}/s, ${p.crashes} crashes, ${p.hangs} hangs\n`,
    ),
});
if (args.includes("--json")) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
else {
  const lines = [
    `seed ${result.seed}, inputs ${from}…${from + count - 1}, ${result.seeds} seed captures, ${workers} workers`,
    `inputs ${result.inputs} in ${result.seconds.toFixed(1)} s: ${result.inputsPerSecond.toFixed(1)} inputs/s`,
    `read ${result.read}, rejected with a coded error ${result.rejected}`,
    `crashes ${result.crashes}, hangs ${result.hangs} (${result.distinct} distinct)`,
    `slowest input #${result.slowestIndex} ${result.slowestMs.toFixed(0)} ms, peak RSS ${result.peakRssMb.toFixed(0)} MB`,
  ];
  for (const f of result.findings.slice(0, 20))
    lines.push(`  ${f.kind} #${f.index} ${f.source} [${f.mutations}] ${f.error}${f.file ? ` → ${f.file}` : ""}`);
  process.stdout.write(`${lines.join("\n")}\n`);
}
process.exitCode = result.crashes + result.hangs > 0 ? 1 : 0;
