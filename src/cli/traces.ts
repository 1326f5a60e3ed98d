import type { Command } from "commander";
import { listTraceEntries, loadTrace, traceDirs } from "../collect/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { formatTable, printJson } from "./output.ts";

export function register(program: Command): void {
  const traces = program.command("traces").description("bandwidth traces for trace-driven sessions (Mahimahi format)");
  traces
    .command("list")
    .description("the shipped traces and a folder of your own, with their statistics (Mbit/s over 1 s bins)")
    .option("--traces-dir <dir>", "also list the Mahimahi files (plain or .gz) of this folder (or QOELAB_TRACES_DIR)")
    .option(...JSON_OPTION)
    .action((options: { tracesDir?: string; json?: boolean }) => {
      const dirs = traceDirs(options.tracesDir ? [options.tracesDir] : []);
      const rows = listTraceEntries(dirs).map((entry) => {
        const { stats } = loadTrace(entry);
        return {
          name: entry.name,
          origin: entry.origin,
          duration_s: stats.durationS,
          mean_mbps: stats.meanMbps,
          median_mbps: stats.medianMbps,
          p10_mbps: stats.p10Mbps,
          p90_mbps: stats.p90Mbps,
          seconds_below_1mbps: stats.secondsBelow1Mbps,
          file_bytes: entry.bytes,
        };
      });
      if (options.json) {
        printJson(rows);
        return;
      }
      const columns = Object.keys(rows[0] ?? { name: "" });
      process.stdout.write(
        `${formatTable(
          columns,
          rows.map((r) => columns.map((c) => (r as Record<string, string | number>)[c] ?? null)),
        )}\n`,
      );
    });
}
