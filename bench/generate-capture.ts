import { createCaptureWriter } from "../src/packet/index.ts";

/**
 * Writes a synthetic Ethernet capture for the read benchmarks: a mix of IPv4 UDP (RTP-sized),
 * IPv4 TCP and IPv6 UDP packets of 60–214 bytes with rotating ports, 10 µs apart.
 */
export async function generateBenchCapture(
  path: string,
  packets: number,
  format: "pcap" | "pcapng" = "pcap",
): Promise<void> {
  const templates = [udp4(172), tcp4(66), udp6(214), tcp4(1514 - 1400), udp4(60)];
  const writer = createCaptureWriter(path, { format, linkType: 1, nanosecond: format === "pcapng" });
  const input = { bytes: templates[0]!, tsSec: 1_700_000_000, tsNsec: 0, interfaceId: 0 };
  for (let i = 0; i < packets; i++) {
    const bytes = templates[i % templates.length]!;
    // Rotate the source port so flows differ (transport header follows a fixed-size IP header).
    const l4 = bytes[12] === 0x86 ? 54 : 34;
    bytes[l4] = (i >> 8) & 0xff;
    bytes[l4 + 1] = i & 0xff;
    input.bytes = bytes;
    const t = i * 10_000;
    input.tsSec = 1_700_000_000 + Math.floor(t / 1e9);
    input.tsNsec = t % 1e9;
    writer.writePacket(input);
  }
  await writer.close();
}

function ethernet(length: number, etherType: number): Uint8Array {
  const b = new Uint8Array(length);
  b.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1], 0);
  b[12] = etherType >> 8;
  b[13] = etherType & 0xff;
  return b;
}

function ipv4(b: Uint8Array, proto: number): void {
  const total = b.length - 14;
  b.set([0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 77, 0, 1, 10, 77, 0, 2], 14);
}

function udp4(length: number): Uint8Array {
  const b = ethernet(length, 0x0800);
  ipv4(b, 17);
  const udpLength = length - 34;
  b.set([0x13, 0x88, 0x13, 0x8a, udpLength >> 8, udpLength & 0xff, 0, 0], 34);
  return b;
}

function tcp4(length: number): Uint8Array {
  const b = ethernet(length, 0x0800);
  ipv4(b, 6);
  b.set([0xc3, 0x50, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0], 34);
  return b;
}

function udp6(length: number): Uint8Array {
  const b = ethernet(length, 0x86dd);
  const payload = length - 54;
  b.set([0x60, 0, 0, 0, payload >> 8, payload & 0xff, 17, 64], 14);
  b.set([0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 22);
  b.set([0xfd, 0x00, 0x00, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2], 38);
  b.set([0x13, 0x88, 0x13, 0x8a, payload >> 8, payload & 0xff, 0, 0], 54);
  return b;
}
