import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { createCaptureWriter } from "../capture-writer.ts";
import { LinkType } from "../link-type.ts";
import type { Packet } from "../packet.ts";

/** Writes built packets to a pcap at `file`, one second apart from 2023-11-14 22:13:20 UTC, for tshark to read. */
export async function writePackets(file: string, packets: readonly Packet[], linkType?: number): Promise<void> {
  const writer = createCaptureWriter(file, { format: "pcap", linkType: linkType ?? LinkType.ETHERNET });
  packets.forEach((p, i) => {
    writer.writePacket({ bytes: p.bytes(), tsSec: 1_700_000_000 + i, tsNsec: 0 });
  });
  await writer.close();
}

/**
 * In a describe() block: `packets` written to NAME.pcap in a temporary folder before its tests,
 * the folder removed after them. Returns the file's path.
 */
export function builtPacketsFile(name: string, packets: readonly Packet[], linkType?: number): string {
  const dir = mkdtempSync(join(tmpdir(), `qoelab-${name}-${process.pid}-`));
  const file = join(dir, `${name}.pcap`);
  before(() => writePackets(file, packets, linkType));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return file;
}
