import type { Command } from "commander";
import { type CaptureInfo, captureInfo, formatEpoch, formatUtcTime } from "../packet/index.ts";
import { JSON_OPTION } from "./common-options.ts";
import { type Cell, formatTable, printJson } from "./output.ts";

/** `qoelab pcap info FILE [--json]`: a capinfos-like summary. */
export function registerPcapInfo(pcap: Command): void {
  pcap
    .command("info")
    .description("summarize a capture like capinfos: packets, bytes, times, rates, link types, interfaces")
    .argument("<files...>", "pcap or pcapng files")
    .option(...JSON_OPTION)
    .action(async (files: string[], opts: { json?: boolean }) => {
      const infos: CaptureInfo[] = [];
      for (const file of files) infos.push(await captureInfo(file));
      if (opts.json) {
        printJson(files.length === 1 ? infos[0] : infos);
        return;
      }
      process.stdout.write(`${infos.map(renderInfo).join("\n\n")}\n`);
    });
}

function fixed(value: number | null, digits: number): string {
  return value === null ? "n/a" : value.toFixed(digits);
}

function time(value: { sec: number; nsec: number } | null): string {
  if (value === null) return "n/a";
  return `${formatUtcTime(value)} UTC (${formatEpoch(value)})`;
}

export function renderInfo(info: CaptureInfo): string {
  const rows: Cell[][] = [
    ["File name", info.file],
    ["File type", `${info.format} (${info.byteOrder === "le" ? "little" : "big"}-endian)`],
    ["File encapsulation", info.linkTypeNames.join(", ")],
    ["Time precision", info.timePrecision],
    ["Packet size limit", info.snaplen],
    ["Number of packets", info.packets],
    ["File size (bytes)", info.fileSize],
    ["Data size (bytes)", info.bytes],
    ["Captured size (bytes)", info.capturedBytes],
    ["Capture duration (s)", fixed(info.duration, 9)],
    ["First packet time", time(info.firstTime)],
    ["Last packet time", time(info.lastTime)],
    ["Data byte rate (bytes/s)", fixed(info.byteRate, 2)],
    ["Data bit rate (bits/s)", fixed(info.bitRate, 2)],
    ["Average packet size (bytes)", info.averagePacketSize.toFixed(2)],
    ["Average packet rate (packets/s)", fixed(info.packetRate, 2)],
    ["Strict time order", info.strictTimeOrder ?? "unknown"],
  ];
  if (info.untimedPackets > 0) rows.push(["Packets without timestamp", info.untimedPackets]);
  if (info.oversizedPackets > 0) rows.push(["Packets longer than the snaplen", info.oversizedPackets]);
  if (info.userApplication !== undefined) rows.push(["Capture application", info.userApplication]);
  if (info.os !== undefined) rows.push(["Capture OS", info.os]);
  for (const comment of info.comments) rows.push(["Capture comment", comment]);
  if (info.format === "pcapng") {
    rows.push(["Sections", info.sections]);
    rows.push(["Name resolution / statistics blocks", `${info.nameResolutionBlocks} / ${info.statisticsBlocks}`]);
  }
  for (const warning of info.warnings) rows.push(["Warning", warning.message]);
  let text = formatTable(["field", "value"], rows);
  if (info.format === "pcapng") {
    const ifRows = info.interfaces.map((i) => [
      i.id,
      i.name ?? "",
      i.linkTypeName,
      i.snaplen,
      i.timePrecision,
      i.packets,
      i.bytes,
      i.filter ?? "",
    ]);
    text += `\n\n${formatTable(["if", "name", "link type", "snaplen", "precision", "packets", "bytes", "filter"], ifRows)}`;
  }
  return text;
}
