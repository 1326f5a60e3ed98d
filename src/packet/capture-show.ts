import { QoelabError } from "../errors.ts";
import { forEachPacket } from "./capture-reader.ts";
import { createCaptureWriter } from "./capture-writer.ts";
import { compileFilter } from "./filter-compile.ts";
import { parseLayerSpec } from "./layer-spec.ts";
import { decodePacket, type Packet } from "./packet.ts";

/** One packet of a capture as `qoelab pcap show` lists it. */
export interface ShownPacket {
  /** 1-based number in the file (counting packets the filter rejected, like tshark). */
  number: number;
  /** Seconds since the Unix epoch. */
  time: number;
  tsSec: number;
  tsNsec: number;
  caplen: number;
  origlen: number;
  linkType: number;
  interfaceId: number;
  packet: Packet;
}

export interface ShowCaptureOptions {
  /** pcap-filter expression (tcpdump syntax); compiled before reading. */
  filter?: string;
  /** Stop after this many shown packets. */
  count?: number;
}

/**
 * Reads a capture and hands every packet that passes the filter, decoded into layers, to
 * `onPacket` (slow path: one Packet per packet). Returns how many were read and shown.
 */
export async function showCapture(
  path: string,
  options: ShowCaptureOptions,
  onPacket: (shown: ShownPacket) => void,
): Promise<{ read: number; shown: number }> {
  const filter = options.filter === undefined ? undefined : compileFilter(options.filter);
  const limit = options.count ?? Number.POSITIVE_INFINITY;
  let read = 0;
  let shown = 0;
  if (limit <= 0) return { read, shown };
  await forEachPacket(path, (record) => {
    read++;
    if (filter !== undefined && !filter.matchesRecord(record)) return;
    const bytes = record.buffer.slice(record.offset, record.offset + record.caplen);
    shown++;
    onPacket({
      number: record.index + 1,
      time: record.tsSec + record.tsNsec / 1e9,
      tsSec: record.tsSec,
      tsNsec: record.tsNsec,
      caplen: record.caplen,
      origlen: record.origlen,
      linkType: record.linkType,
      interfaceId: record.interfaceId,
      packet: decodePacket(bytes, record.linkType, { wireLength: record.origlen }),
    });
    return shown < limit;
  });
  return { read, shown };
}

export interface CraftOptions {
  /** Copies to write (default 1). */
  count?: number;
  format?: "pcap" | "pcapng";
  /** Timestamp of the first packet in seconds (default now); copies are 1 ms apart. */
  startTime?: number;
}

/** Writes `count` copies of the packet a layer description (see layer-spec.ts) builds. */
export async function craftCapture(
  path: string,
  spec: string,
  options: CraftOptions = {},
): Promise<{ packets: number; bytes: number; linkType: number; summary: string }> {
  const packet = parseLayerSpec(spec);
  if (packet.linkType < 0) {
    throw new QoelabError(
      "PACKET_NO_LINK_LAYER",
      `layer description "${spec}": the first layer must be a link layer (ether, sll, sll2, loopback, hdlc, chdlc, nflog, ipoib) or ipv4/ipv6`,
      { spec },
    );
  }
  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw new QoelabError("PACKET_BAD_COUNT", `--count ${count}: must be a positive integer`, { count });
  }
  const bytes = packet.bytes();
  const writer = createCaptureWriter(path, { format: options.format ?? "pcap", linkType: packet.linkType });
  const start = options.startTime ?? Date.now() / 1000;
  try {
    for (let i = 0; i < count; i++) {
      const t = start + i / 1000;
      const tsSec = Math.floor(t);
      writer.writePacket({ bytes, tsSec, tsNsec: Math.min(999_999, Math.round((t - tsSec) * 1e6)) * 1000 });
    }
  } finally {
    await writer.close();
  }
  return { packets: count, bytes: bytes.length * count, linkType: packet.linkType, summary: packet.summary() };
}
