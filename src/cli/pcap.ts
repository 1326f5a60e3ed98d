import type { Command } from "commander";
import { registerPcapConvert } from "./pcap-convert.ts";
import { registerPcapCraft } from "./pcap-craft.ts";
import { registerPcapFilter } from "./pcap-filter.ts";
import { registerPcapInfo } from "./pcap-info.ts";
import { registerPcapShow } from "./pcap-show.ts";

/** `qoelab pcap …`: capture files. Each subcommand lives in `pcap-<name>.ts` as `registerPcapXxx(pcap)`. */
const subcommands: ReadonlyArray<(pcap: Command) => void> = [
  registerPcapInfo,
  registerPcapConvert,
  registerPcapFilter,
  registerPcapShow,
  registerPcapCraft,
];

export function register(program: Command): void {
  const pcap = program.command("pcap").description("read, write, convert and inspect pcap/pcapng capture files");
  for (const add of subcommands) add(pcap);
}
