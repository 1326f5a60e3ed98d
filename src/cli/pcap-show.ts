import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { type ShownPacket, showCapture } from "../packet/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { printJson } from "./output.ts";

/** `qoelab pcap show FILE [-f FILTER] [-c N] [-v] [--json]`: one summary line per packet; -v every field. */
export function registerPcapShow(pcap: Command): void {
  pcap
    .command("show")
    .description("list packets, one summary line each (like tshark); -v shows every field of every layer")
    .argument("<file>", "capture (pcap or pcapng)")
    .option("-f, --filter <expression>", "only packets matching this pcap-filter expression (tcpdump syntax)")
    .option("-c, --count <n>", "stop after n packets")
    .option("-v, --verbose", "print every layer and field (show()) under each summary")
    .option(...JSON_OPTION)
    .action(async (file: string, opts: { filter?: string; count?: string; verbose?: boolean; json?: boolean }) => {
      const count = opts.count === undefined ? undefined : Number(opts.count);
      if (count !== undefined && (!Number.isInteger(count) || count < 0)) {
        throw new QoelabError("CLI_BAD_COUNT", `-c ${opts.count}: must be a non-negative integer`, {
          count: opts.count,
        });
      }
      const json: unknown[] = [];
      let first: number | undefined;
      const result = await showCapture(file, { filter: opts.filter, count }, (shown: ShownPacket) => {
        first ??= shown.time;
        const relative = shown.time - first;
        if (opts.json) {
          json.push({
            number: shown.number,
            time: shown.time,
            relativeTime: relative,
            caplen: shown.caplen,
            origlen: shown.origlen,
            summary: shown.packet.summary(),
            anomalies: shown.packet.anomalies,
            ...(opts.verbose ? { layers: shown.packet.toJSON().layers } : {}),
          });
          return;
        }
        const line = `${String(shown.number).padStart(5)} ${relative.toFixed(6).padStart(12)}  ${shown.packet.summary()}`;
        const flags = shown.packet.anomalies.map((a) => a.code);
        process.stdout.write(`${line}${flags.length > 0 ? `  !! ${[...new Set(flags)].join(", ")}` : ""}\n`);
        if (opts.verbose) process.stdout.write(`${shown.packet.show()}\n\n`);
      });
      if (opts.json) printJson({ file, read: result.read, shown: result.shown, packets: json });
    });
}
