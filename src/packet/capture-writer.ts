import { closeSync, openSync, writeSync } from "node:fs";
import type { Writable } from "node:stream";
import { QoelabError } from "../errors.ts";
import { type ByteOrder, type CaptureFormat, MAX_CAPLEN } from "./capture-format.ts";
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from "./pcap-reader.ts";
import { PcapngBlockType } from "./pcapng-reader.ts";
import type { PacketRecord } from "./record.ts";

/** Streaming pcap / pcapng writer: packets are copied into one reused 1 MiB buffer, flushed in bulk. */

const SINK_SIZE = 1024 * 1024;
const encoder = new TextEncoder();

export interface WriterInterface {
  linkType: number;
  /** Default 262144. Longer packets are cut to it (origlen keeps the wire length). */
  snaplen?: number;
  /** Raw if_tsresol byte: 6 (µs, the default), 9 (ns), or 0x80|k for 2^-k seconds. */
  tsresol?: number;
  name?: string;
  description?: string;
  filter?: string;
  os?: string;
  hardware?: string;
  comments?: string[];
}

export interface CaptureWriterOptions {
  format: CaptureFormat;
  /** For pcap, and for pcapng when `interfaces` is not given. Default Ethernet (1). */
  linkType?: number;
  snaplen?: number;
  /** Nanosecond timestamps (pcap ns magic; pcapng if_tsresol 9). */
  nanosecond?: boolean;
  /** pcapng only: the interfaces to describe; `interfaceId` of a packet indexes this list. */
  interfaces?: WriterInterface[];
  /** Default little-endian. */
  byteOrder?: ByteOrder;
  /** pcapng only: a section comment. */
  comment?: string;
  /** Writable targets: end the stream on close (default true, except process.stdout). */
  endStream?: boolean;
}

/** A packet given by value; `PacketRecord`s from a reader are accepted as they are. */
export interface PacketInput {
  bytes: Uint8Array;
  tsSec: number;
  tsNsec: number;
  /** Wire length, default bytes.length. */
  origlen?: number;
  interfaceId?: number;
}

export interface CaptureWriter {
  readonly format: CaptureFormat | "raw";
  /** Packets written so far. */
  readonly packets: number;
  writePacket(packet: PacketRecord | PacketInput): void;
  /** Appends bytes as they are (raw block passthrough; the caller keeps the file valid). */
  writeRaw(bytes: Uint8Array, offset?: number, length?: number): void;
  /** Resolves once a Writable target has drained (call now and then when writing to a pipe). */
  drained(): Promise<void>;
  close(): Promise<void>;
}

class ByteSink {
  readonly buffer = new Uint8Array(SINK_SIZE);
  readonly view = new DataView(this.buffer.buffer);
  pos = 0;
  private fd = -1;
  private readonly stream: Writable | undefined;
  private readonly endStream: boolean;
  private readonly name: string;
  private closed = false;

  constructor(target: string | Writable, endStream: boolean | undefined) {
    if (typeof target === "string") {
      this.name = target;
      try {
        this.fd = openSync(target, "w");
      } catch (error) {
        throw new QoelabError("PCAP_WRITE_FAILED", `${target}: cannot create capture (${(error as Error).message})`, {
          file: target,
        });
      }
      this.stream = undefined;
      this.endStream = false;
    } else {
      this.name = "<stream>";
      this.stream = target;
      this.endStream = endStream ?? target !== (process.stdout as unknown);
    }
  }

  /** Makes room for `n` bytes (n ≤ SINK_SIZE) at `pos`. */
  reserve(n: number): void {
    if (this.pos + n > SINK_SIZE) this.flush();
  }

  append(bytes: Uint8Array, offset: number, length: number): void {
    if (length > SINK_SIZE - this.pos) {
      this.flush();
      if (length > SINK_SIZE) {
        this.emit(bytes.subarray(offset, offset + length));
        return;
      }
    }
    this.buffer.set(bytes.subarray(offset, offset + length), this.pos);
    this.pos += length;
  }

  flush(): void {
    if (this.pos === 0) return;
    this.emit(this.buffer.subarray(0, this.pos));
    this.pos = 0;
  }

  private emit(bytes: Uint8Array): void {
    if (this.closed)
      throw new QoelabError("PCAP_WRITER_CLOSED", `${this.name}: write after close`, { file: this.name });
    if (this.stream) {
      this.stream.write(Buffer.from(bytes));
      return;
    }
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
  }

  drained(): Promise<void> {
    const stream = this.stream;
    if (!stream?.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => stream.once("drain", () => resolve()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    if (this.stream) {
      const stream = this.stream;
      if (this.endStream) {
        await new Promise<void>((resolve, reject) => {
          stream.once("error", reject);
          stream.end(() => resolve());
        });
      } else await this.drained();
    } else closeSync(this.fd);
  }
}

interface ResolvedInterface {
  linkType: number;
  snaplen: number;
  units: number;
}

function unitsOf(tsresol: number): number {
  const exponent = tsresol & 0x7f;
  return tsresol & 0x80 ? 2 ** exponent : 10 ** exponent;
}

class PcapWriter implements CaptureWriter {
  readonly format: CaptureFormat | "raw";
  packets = 0;
  private readonly sink: ByteSink;
  private readonly little: boolean;
  private readonly interfaces: ResolvedInterface[] = [];
  private readonly nanosecond: boolean;
  // Scratch 64-bit timestamp halves.
  private tsHi = 0;
  private tsLo = 0;

  /** `options` undefined: raw passthrough writer (no header of its own). */
  constructor(target: string | Writable, options: CaptureWriterOptions | undefined, endStream?: boolean) {
    this.sink = new ByteSink(target, options?.endStream ?? endStream);
    this.format = options?.format ?? "raw";
    this.little = (options?.byteOrder ?? "le") === "le";
    this.nanosecond = options?.nanosecond ?? false;
    if (!options) return;
    const defaultResol = this.nanosecond ? 9 : 6;
    const described: WriterInterface[] = options.interfaces ?? [
      { linkType: options.linkType ?? 1, snaplen: options.snaplen ?? MAX_CAPLEN, tsresol: defaultResol },
    ];
    if (described.length === 0) throw new QoelabError("PCAP_WRITER_OPTIONS", "a capture needs at least one interface");
    for (const i of described) {
      const tsresol = i.tsresol ?? defaultResol;
      const units = unitsOf(tsresol);
      if (units > 2 ** 36) {
        throw new QoelabError("PCAP_WRITER_OPTIONS", `if_tsresol 0x${tsresol.toString(16)} is too fine to write`);
      }
      this.interfaces.push({ linkType: i.linkType, snaplen: i.snaplen ?? options.snaplen ?? MAX_CAPLEN, units });
    }
    if (options.format === "pcap") {
      const first = this.interfaces[0]!;
      if (this.interfaces.some((i) => i.linkType !== first.linkType)) {
        throw new QoelabError("PCAP_SEVERAL_LINK_TYPES", "a pcap file holds one link type; use pcapng for several", {
          linkTypes: [...new Set(this.interfaces.map((i) => i.linkType))],
        });
      }
      this.writePcapHeader(first);
    } else {
      this.writeSectionHeader(options.comment);
      for (let n = 0; n < described.length; n++) this.writeInterface(described[n]!, this.interfaces[n]!);
    }
  }

  private writePcapHeader(i: ResolvedInterface): void {
    const { view } = this.sink;
    const little = this.little;
    this.sink.reserve(24);
    const p = this.sink.pos;
    view.setUint32(p, this.nanosecond ? PCAP_MAGIC_NS : PCAP_MAGIC_US, little);
    view.setUint16(p + 4, 2, little);
    view.setUint16(p + 6, 4, little);
    view.setInt32(p + 8, 0, little);
    view.setUint32(p + 12, 0, little);
    view.setUint32(p + 16, i.snaplen, little);
    view.setUint32(p + 20, i.linkType, little);
    this.sink.pos += 24;
    i.units = this.nanosecond ? 1e9 : 1e6;
  }

  private writeBlock(type: number, body: Uint8Array): void {
    const length = 12 + body.length;
    const { view } = this.sink;
    this.sink.reserve(length);
    const p = this.sink.pos;
    view.setUint32(p, type, this.little);
    view.setUint32(p + 4, length, this.little);
    this.sink.buffer.set(body, p + 8);
    view.setUint32(p + 8 + body.length, length, this.little);
    this.sink.pos += length;
  }

  private writeSectionHeader(comment: string | undefined): void {
    const options = new OptionList(this.little);
    if (comment !== undefined) options.text(1, comment);
    options.text(4, "qoelab");
    const opts = options.finish();
    const body = new Uint8Array(16 + opts.length);
    const view = new DataView(body.buffer);
    view.setUint32(0, 0x1a2b3c4d, this.little);
    view.setUint16(4, 1, this.little);
    view.setUint16(6, 0, this.little);
    view.setInt32(8, -1, this.little);
    view.setInt32(12, -1, this.little);
    body.set(opts, 16);
    this.writeBlock(PcapngBlockType.SHB, body);
  }

  private writeInterface(described: WriterInterface, resolved: ResolvedInterface): void {
    const options = new OptionList(this.little);
    for (const c of described.comments ?? []) options.text(1, c);
    if (described.name !== undefined) options.text(2, described.name);
    if (described.description !== undefined) options.text(3, described.description);
    const tsresol = described.tsresol ?? (this.nanosecond ? 9 : 6);
    if (tsresol !== 6) options.bytes(9, Uint8Array.of(tsresol));
    if (described.filter !== undefined) {
      const text = encoder.encode(described.filter);
      const value = new Uint8Array(text.length + 1);
      value.set(text, 1);
      options.bytes(11, value);
    }
    if (described.os !== undefined) options.text(12, described.os);
    if (described.hardware !== undefined) options.text(15, described.hardware);
    const opts = options.finish();
    const body = new Uint8Array(8 + opts.length);
    const view = new DataView(body.buffer);
    view.setUint16(0, resolved.linkType, this.little);
    view.setUint32(4, resolved.snaplen, this.little);
    body.set(opts, 8);
    this.writeBlock(PcapngBlockType.IDB, body);
  }

  /** Splits sec·units + frac into 32-bit halves, exactly for units ≤ 2^36 and sec < 2^32. */
  private splitTimestamp(sec: number, nsec: number, units: number): void {
    let frac: number;
    if (units === 1e6) frac = Math.floor(nsec / 1000);
    else if (units === 1e9) frac = nsec;
    else if (units % 1e9 === 0) frac = nsec * (units / 1e9);
    else if (1e9 % units === 0) frac = Math.floor(nsec / (1e9 / units));
    else frac = Math.floor((nsec * units) / 1e9);
    const s1 = Math.floor(sec / 65536);
    const s0 = sec - s1 * 65536;
    const x0 = s0 * units + frac;
    const x1 = s1 * units;
    const x1High = Math.floor(x1 / 65536);
    const low = (x1 - x1High * 65536) * 65536 + (x0 % 4294967296);
    const carry = Math.floor(low / 4294967296);
    this.tsLo = low - carry * 4294967296;
    this.tsHi = x1High + Math.floor(x0 / 4294967296) + carry;
  }

  writePacket(packet: PacketRecord | PacketInput): void {
    let bytes: Uint8Array;
    let offset: number;
    let caplen: number;
    let origlen: number;
    if ("buffer" in packet) {
      bytes = packet.buffer;
      offset = packet.offset;
      caplen = packet.caplen;
      origlen = packet.origlen;
    } else {
      bytes = packet.bytes;
      offset = 0;
      caplen = bytes.length;
      origlen = packet.origlen ?? caplen;
    }
    // A pcap file has one interface: every packet is its (a pcapng packet's interface id says nothing there).
    const interfaceId = this.format === "pcap" ? 0 : (packet.interfaceId ?? 0);
    const iface = this.interfaces[interfaceId];
    if (iface === undefined) {
      throw new QoelabError(
        "PCAP_WRITER_UNKNOWN_INTERFACE",
        `packet names interface ${interfaceId} but the writer describes ${this.interfaces.length} (ids 0 to ${this.interfaces.length - 1})`,
        { interfaceId },
      );
    }
    if (iface.snaplen > 0 && caplen > iface.snaplen) caplen = iface.snaplen;
    const sink = this.sink;
    const view = sink.view;
    const little = this.little;
    if (this.format === "raw") {
      throw new QoelabError("PCAP_WRITER_RAW", "a raw passthrough writer takes writeRaw(), not writePacket()");
    }
    if (this.format === "pcap") {
      sink.reserve(16);
      const p = sink.pos;
      const frac = this.nanosecond ? packet.tsNsec : Math.floor(packet.tsNsec / 1000);
      view.setUint32(p, packet.tsSec, little);
      view.setUint32(p + 4, frac, little);
      view.setUint32(p + 8, caplen, little);
      view.setUint32(p + 12, origlen, little);
      sink.pos += 16;
      sink.append(bytes, offset, caplen);
    } else {
      const padded = (caplen + 3) & ~3;
      const length = 32 + padded;
      sink.reserve(length);
      const p = sink.pos;
      this.splitTimestamp(packet.tsSec, packet.tsNsec, iface.units);
      view.setUint32(p, PcapngBlockType.EPB, little);
      view.setUint32(p + 4, length, little);
      view.setUint32(p + 8, interfaceId, little);
      view.setUint32(p + 12, this.tsHi, little);
      view.setUint32(p + 16, this.tsLo, little);
      view.setUint32(p + 20, caplen, little);
      view.setUint32(p + 24, origlen, little);
      sink.buffer.set(bytes.subarray(offset, offset + caplen), p + 28);
      sink.buffer.fill(0, p + 28 + caplen, p + 28 + padded);
      view.setUint32(p + 28 + padded, length, little);
      sink.pos += length;
    }
    this.packets++;
  }

  writeRaw(bytes: Uint8Array, offset = 0, length = bytes.length - offset): void {
    this.sink.append(bytes, offset, length);
  }

  drained(): Promise<void> {
    return this.sink.drained();
  }

  close(): Promise<void> {
    return this.sink.close();
  }
}

class OptionList {
  private readonly parts: Uint8Array[] = [];
  constructor(private readonly little: boolean) {}

  text(code: number, value: string): void {
    this.bytes(code, encoder.encode(value));
  }

  bytes(code: number, value: Uint8Array): void {
    const part = new Uint8Array(4 + ((value.length + 3) & ~3));
    const view = new DataView(part.buffer);
    view.setUint16(0, code, this.little);
    view.setUint16(2, value.length, this.little);
    part.set(value, 4);
    this.parts.push(part);
  }

  /** The options followed by opt_endofopt (or nothing when there are none). */
  finish(): Uint8Array {
    if (this.parts.length === 0) return new Uint8Array(0);
    const total = this.parts.reduce((n, p) => n + p.length, 0) + 4;
    const out = new Uint8Array(total);
    let p = 0;
    for (const part of this.parts) {
      out.set(part, p);
      p += part.length;
    }
    return out;
  }
}

/** Creates a pcap or pcapng file (or stream) and writes its header / SHB and IDBs. */
export function createCaptureWriter(target: string | Writable, options: CaptureWriterOptions): CaptureWriter {
  return new PcapWriter(target, options);
}

/**
 * A writer that writes no header of its own: for raw passthrough of units read with
 * `CaptureParser` (`unitBuffer`/`unitOffset`/`unitLength`), which keeps files byte-identical.
 */
export function createRawCaptureWriter(
  target: string | Writable,
  options: { endStream?: boolean } = {},
): CaptureWriter {
  return new PcapWriter(target, undefined, options.endStream);
}
