import { spawnSync } from "node:child_process";

/**
 * Runs `tshark -r FILE -T fields -e F1 -e F2 …` and returns one row per packet, one string per
 * field (every occurrence joined with ",", tshark's default aggregator; "" when absent).
 * `extraArgs` go before the field list, e.g. `["-o", "tcp.check_checksum:TRUE"]` or a display
 * filter `["-Y", "udp"]`. tshark runs with TZ=UTC. Throws (failing the test loudly) when tshark is missing or fails.
 */
export function tsharkFields(file: string, fields: readonly string[], extraArgs: readonly string[] = []): string[][] {
  const args = ["-r", file, "-n", ...extraArgs, "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"];
  for (const field of fields) args.push("-e", field);
  // Absolute times (nflog.timestamp) print in the local zone: UTC, so they compare on any machine.
  const env = { ...process.env, TZ: "UTC" };
  const result = spawnSync("tshark", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, env });
  if (result.error)
    throw new Error(`tshark could not run (is it installed? scripts/setup.sh): ${result.error.message}`);
  if (result.status !== 0) throw new Error(`tshark ${args.join(" ")} failed (${result.status}): ${result.stderr}`);
  const lines = result.stdout.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line) => {
    const cells = line.split("\t");
    while (cells.length < fields.length) cells.push("");
    return cells.slice(0, fields.length);
  });
}

/** tshark's stderr for reading FILE (warnings such as "appears to be damaged or corrupt"). */
export function tsharkWarnings(file: string): string {
  const result = spawnSync("tshark", ["-r", file, "-n", "-T", "fields", "-e", "frame.number"], { encoding: "utf8" });
  if (result.error) throw new Error(`tshark could not run: ${result.error.message}`);
  // tshark's note about running as root is not a warning about the file.
  return result.stderr
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("Running as user"))
    .join("\n");
}
