/**
 * Test helper: hand-made Ethernet/IPv4/TCP and UDP frames with exact sequence numbers, options
 * and timestamps, as PacketRecords (for pushing into an engine) or written into a pcap.
 */

import type { PacketRecord } from "../../packet/index.ts";
import { createCaptureWriter } from "../../packet/index.ts";

export interface FrameSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  /** Seconds (double, µs resolution). */
  time: number;
  proto?: "tcp" | "udp";
  flags?: string; // letters S A F R P
  seq?: number;
  ack?: number;
  window?: number;
  payload?: number;
  ttl?: number;
  ipId?: number;
  /** Raw TCP option bytes (padded to 4 by the helper). */
  options?: number[];
}

function ipv4Bytes(text: string): number[] {
  return text.split(".").map(Number);
}

function checksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** One Ethernet frame carrying IPv4 + TCP/UDP with valid checksums. */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const proto = spec.proto ?? "tcp";
  const payload = spec.payload ?? 0;
  const opts = spec.options ?? [];
  const optLen = (opts.length + 3) & ~3;
  const l4Header = proto === "tcp" ? 20 + optLen : 8;
  const ipLength = 20 + l4Header + payload;
  const frame = new Uint8Array(14 + ipLength);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ip = 14;
  frame[ip] = 0x45;
  frame[ip + 2] = ipLength >> 8;
  frame[ip + 3] = ipLength & 255;
  const id = spec.ipId ?? 0;
  frame[ip + 4] = (id >> 8) & 255;
  frame[ip + 5] = id & 255;
  frame[ip + 6] = 0x40;
  frame[ip + 8] = spec.ttl ?? 64;
  frame[ip + 9] = proto === "tcp" ? 6 : 17;
  frame.set(ipv4Bytes(spec.src), ip + 12);
  frame.set(ipv4Bytes(spec.dst), ip + 16);
  const ipSum = checksum(frame, ip, ip + 20);
  frame[ip + 10] = ipSum >> 8;
  frame[ip + 11] = ipSum & 255;
  const l4 = ip + 20;
  const view = new DataView(frame.buffer);
  view.setUint16(l4, spec.sport);
  view.setUint16(l4 + 2, spec.dport);
  for (let i = 0; i < payload; i++) frame[l4 + l4Header + i] = (i * 7) & 255;
  if (proto === "tcp") {
    view.setUint32(l4 + 4, (spec.seq ?? 0) >>> 0);
    view.setUint32(l4 + 8, (spec.ack ?? 0) >>> 0);
    frame[l4 + 12] = (l4Header / 4) << 4;
    const f = spec.flags ?? "A";
    let bits = 0;
    if (f.includes("F")) bits |= 1;
    if (f.includes("S")) bits |= 2;
    if (f.includes("R")) bits |= 4;
    if (f.includes("P")) bits |= 8;
    if (f.includes("A")) bits |= 16;
    frame[l4 + 13] = bits;
    view.setUint16(l4 + 14, spec.window ?? 65535);
    frame.set(opts, l4 + 20);
    for (let i = opts.length; i < optLen; i++) frame[l4 + 20 + i] = 1; // NOP padding
  } else {
    view.setUint16(l4 + 4, 8 + payload);
  }
  // Transport checksum over the pseudo-header.
  let pseudo = 0;
  for (let i = 0; i < 8; i += 2) pseudo += (frame[ip + 12 + i]! << 8) | frame[ip + 13 + i]!;
  pseudo += frame[ip + 9]! + (l4Header + payload);
  const sum = checksum(frame, l4, frame.length, pseudo);
  view.setUint16(l4 + (proto === "tcp" ? 16 : 6), proto === "udp" && sum === 0 ? 0xffff : sum);
  return frame;
}

export function toRecord(spec: FrameSpec, index: number, snaplen = 65535): PacketRecord {
  const frame = buildFrame(spec);
  const caplen = Math.min(frame.length, snaplen);
  const tsSec = Math.floor(spec.time);
  return {
    buffer: frame,
    offset: 0,
    caplen,
    origlen: frame.length,
    tsSec,
    tsNsec: Math.round((spec.time - tsSec) * 1e6) * 1000,
    linkType: 1,
    interfaceId: 0,
    index,
    fileOffset: 0,
  };
}

export async function writePcap(path: string, specs: readonly FrameSpec[], snaplen = 65535): Promise<void> {
  const writer = createCaptureWriter(path, { format: "pcap", linkType: 1, snaplen });
  for (const spec of specs) {
    const frame = buildFrame(spec);
    const tsSec = Math.floor(spec.time);
    writer.writePacket({ bytes: frame, tsSec, tsNsec: Math.round((spec.time - tsSec) * 1e6) * 1000 });
  }
  await writer.close();
}

/** MSS 1460, SACK-permitted, timestamps, NOP, window scale 7 — as Linux sends in a SYN. */
export const LINUX_SYN_OPTIONS = [2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7];

/**
 * A scripted TCP conversation between a client and a server with automatic sequence numbers.
 * Every method appends one segment; `seq` overrides are for retransmissions.
 */
export class TcpScript {
  readonly frames: FrameSpec[] = [];
  clientSeq: number;
  serverSeq: number;
  time: number;

  constructor(
    readonly client = "10.77.1.2",
    readonly server = "10.77.2.2",
    readonly cport = 40000,
    readonly sport = 80,
    start = 1_700_000_000,
    clientIsn = 1000,
    serverIsn = 5000,
  ) {
    this.time = start;
    this.clientSeq = clientIsn;
    this.serverSeq = serverIsn;
  }

  private push(fromClient: boolean, spec: Partial<FrameSpec>, advance = 0): FrameSpec {
    this.time += spec.time ?? 0.001;
    const frame: FrameSpec = {
      src: fromClient ? this.client : this.server,
      dst: fromClient ? this.server : this.client,
      sport: fromClient ? this.cport : this.sport,
      dport: fromClient ? this.sport : this.cport,
      seq: fromClient ? this.clientSeq : this.serverSeq,
      ack: fromClient ? this.serverSeq : this.clientSeq,
      ...spec,
      time: this.time,
    };
    this.frames.push(frame);
    if (spec.seq === undefined) {
      if (fromClient) this.clientSeq = (this.clientSeq + advance) >>> 0;
      else this.serverSeq = (this.serverSeq + advance) >>> 0;
    }
    return frame;
  }

  handshake(gap = 0.001): this {
    this.push(true, { flags: "S", ack: 0, options: LINUX_SYN_OPTIONS, time: gap, window: 64240 }, 1);
    this.push(false, { flags: "SA", options: LINUX_SYN_OPTIONS, time: gap, window: 65160 }, 1);
    this.push(true, { flags: "A", time: gap, window: 502 });
    return this;
  }

  /** Data from one side; returns the segment's sequence number. */
  data(fromClient: boolean, length: number, gap = 0.001, extra: Partial<FrameSpec> = {}): number {
    const seq = fromClient ? this.clientSeq : this.serverSeq;
    this.push(fromClient, { flags: "PA", payload: length, time: gap, ...extra }, length);
    return seq;
  }

  /** Re-sends `length` bytes at `seq` (does not advance the sequence). */
  resend(fromClient: boolean, seq: number, length: number, gap = 0.001, extra: Partial<FrameSpec> = {}): void {
    this.push(fromClient, { flags: "PA", payload: length, seq, time: gap, ...extra });
  }

  /** Pure ACK; `ack` overrides the acknowledged number (for dup ACKs). */
  ack(fromClient: boolean, gap = 0.001, ack?: number): void {
    this.push(fromClient, { flags: "A", time: gap, ...(ack !== undefined ? { ack } : {}) });
  }

  /** Skips `length` bytes of the sender's sequence space (a segment lost before the probe). */
  skip(fromClient: boolean, length: number): number {
    const seq = fromClient ? this.clientSeq : this.serverSeq;
    if (fromClient) this.clientSeq = (this.clientSeq + length) >>> 0;
    else this.serverSeq = (this.serverSeq + length) >>> 0;
    return seq;
  }

  fin(fromClient: boolean, gap = 0.001): void {
    this.push(fromClient, { flags: "FA", time: gap }, 1);
  }

  rst(fromClient: boolean, gap = 0.001): void {
    this.push(fromClient, { flags: "RA", time: gap });
  }

  udp(fromClient: boolean, length: number, gap = 0.001): void {
    this.push(fromClient, { proto: "udp", payload: length, time: gap });
  }
}
