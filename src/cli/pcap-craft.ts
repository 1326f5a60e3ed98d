import type { Command } from "commander";
import { QoelabError } from "../errors.ts";
import { craftCapture, linkTypeName } from "../packet/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { printFields, printJson } from "./output.ts";

/** `qoelab pcap craft OUT --layers 'ether/ipv4(dst=10.77.0.2)/udp(dport=5004)/raw(hex=…)' [--count N] [--format pcap|pcapng]`. */
export function registerPcapCraft(pcap: Command): void {
  pcap
    .command("craft")
    .description("write a capture of packets built from a layer description (Scapy-like, layers joined by /)")
    .argument("<out>", "capture file to write")
    .requiredOption(
      "-l, --layers <description>",
      "e.g. 'ether/ipv4(dst=10.77.0.2)/udp(dport=5004)/raw(hex=80000001)' or " +
        "'ether/vlan(vlan=10)/ipv6/tcp(flags=S,options=mss:1460+sackok+ts:1:0+nop+wscale:7)'. " +
        'Values holding "/", "," or ")" go in double quotes, and text= understands \\r \\n \\t \\0 \\\\ \\" \\xHH: ' +
        "'ipv4/tcp(dport=80,flags=PA)/raw(text=\"GET / HTTP/1.1\\r\\nHost: lab\\r\\n\\r\\n\")' (single quotes around it all for the shell)",
    )
    .option("-n, --count <n>", "copies to write", "1")
    .option("--format <format>", "pcap or pcapng", "pcap")
    .option(...JSON_OPTION)
    .action(async (out: string, opts: { layers: string; count: string; format: string; json?: boolean }) => {
      if (opts.format !== "pcap" && opts.format !== "pcapng") {
        throw new QoelabError("CLI_BAD_FORMAT", `--format ${opts.format}: use pcap or pcapng`, { format: opts.format });
      }
      const result = await craftCapture(out, opts.layers, { count: Number(opts.count), format: opts.format });
      if (opts.json) {
        printJson({ file: out, ...result, linkTypeName: linkTypeName(result.linkType) });
        return;
      }
      printFields("field", [
        ["file", out],
        ["packet", result.summary],
        ["link type", linkTypeName(result.linkType)],
        ["packets", result.packets],
        ["bytes", result.bytes],
      ]);
    });
}
