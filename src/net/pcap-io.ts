import { createCaptureWriter, decodePacket, forEachPacket, type Packet } from "../packet/index.ts";
import { packetTime, setPacketTime } from "./packet-time.ts";

/** Scapy's rdpcap: every packet of a pcap/pcapng file, decoded (Packet.show(), .summary(), .get()). */
export async function rdpcap(file: string): Promise<Packet[]> {
  const out: Packet[] = [];
  await forEachPacket(file, (record) => {
    const bytes = record.buffer.slice(record.offset, record.offset + record.caplen);
    const packet = decodePacket(bytes, record.linkType);
    setPacketTime(packet, record.tsSec, record.tsNsec);
    out.push(packet);
  });
  return out;
}

/**
 * Scapy's wrpcap: writes packets (built or decoded; all of one link type) to a pcap file, each at
 * the time it was captured (sniff, rdpcap); packets built in code follow 1 ms apart.
 */
export async function wrpcap(file: string, packets: readonly Packet[]): Promise<void> {
  const linkType = packets[0]?.linkType ?? 1;
  const writer = createCaptureWriter(file, { format: "pcap", linkType });
  const start = Date.now();
  packets.forEach((packet, i) => {
    const bytes = packet.bytes();
    const ms = start + i;
    const t = packetTime(packet) ?? { sec: Math.floor(ms / 1000), nsec: (ms % 1000) * 1_000_000 };
    writer.writePacket({ bytes, origlen: bytes.length, tsSec: t.sec, tsNsec: t.nsec });
  });
  await writer.close();
}
