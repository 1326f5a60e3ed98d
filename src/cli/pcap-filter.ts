import type { Command } from "commander";
import { filterCaptureFile } from "../packet/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { printFields, printJson } from "./output.ts";

/** `qoelab pcap filter IN OUT -f FILTER [--json]`: keep the packets a pcap-filter expression selects. */
export function registerPcapFilter(pcap: Command): void {
  pcap
    .command("filter")
    .description("write the packets matching a pcap-filter expression (tcpdump syntax), keeping the input format")
    .argument("<in>", "input capture (pcap or pcapng)")
    .argument("<out>", "output capture (same format as the input)")
    .requiredOption("-f, --filter <expression>", "filter, e.g. 'tcp port 80 and host 10.77.0.1'")
    .option(...JSON_OPTION)
    .action(async (input: string, output: string, opts: { filter: string; json?: boolean }) => {
      const summary = await filterCaptureFile(input, output, opts.filter);
      if (opts.json) {
        printJson(summary);
        return;
      }
      printFields("field", [
        ["input", summary.input],
        ["output", summary.output],
        ["filter", summary.filter],
        ["format", summary.format ?? ""],
        ["packets read", summary.packets],
        ["packets written", summary.matched],
        ["bytes written", summary.matchedBytes],
      ]);
    });
}
