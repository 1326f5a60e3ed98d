import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { type CaptureFormat, convertCapture } from "../packet/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { printFields, printJson } from "./output.ts";

/** `qoelab pcap convert IN OUT [--format pcap|pcapng]`: same format copies blocks byte for byte. */
export function registerPcapConvert(pcap: Command): void {
  pcap
    .command("convert")
    .description("convert between pcap and pcapng (format from OUT's extension unless --format is given)")
    .argument("<in>", "input capture")
    .argument("<out>", "output capture")
    .option("--format <format>", "pcap or pcapng")
    .option(...JSON_OPTION)
    .action(async (input: string, output: string, opts: { format?: string; json?: boolean }) => {
      if (opts.format !== undefined && opts.format !== "pcap" && opts.format !== "pcapng") {
        throw new QoelabError("PCAP_BAD_FORMAT", `--format must be pcap or pcapng, not "${opts.format}"`);
      }
      const format = opts.format as CaptureFormat | undefined;
      const summary = await convertCapture(input, output, format === undefined ? {} : { format });
      const result = {
        input,
        output,
        inputFormat: summary.inputFormat,
        outputFormat: summary.outputFormat,
        passthrough: summary.passthrough,
        packets: summary.written,
      };
      if (opts.json) {
        printJson(result);
        return;
      }
      printFields("field", Object.entries(result));
    });
}
