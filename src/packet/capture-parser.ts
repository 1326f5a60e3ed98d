import { QoelabError } from "../errors.ts";
import { readU32 } from "./byte-order.ts";
import {
  type CaptureInterface,
  type CaptureSection,
  type CaptureWarning,
  type FormatReader,
  MAX_CAPLEN,
  type ReadFormat,
} from "./capture-format.ts";
import { PCAP_MAGIC_NS, PCAP_MAGIC_US, PcapReader } from "./pcap-reader.ts";
import { PcapngBlockType, PcapngReader } from "./pcapng-reader.ts";
import { createRecord, type PacketRecord } from "./record.ts";
import { SNOOP_MAGIC_HIGH, SnoopReader } from "./snoop-reader.ts";

/**
 * Push parser for captures: pcap (`pcap-reader.ts`), pcapng (`pcapng-reader.ts`) and snoop
 * (`snoop-reader.ts`), told apart by their first four bytes.
 *
 * The input is cut into "units": a file header, each record, each pcapng block (the format's
 * reader says how long a unit is and decodes it). A unit lying inside the fed chunk is handed out
 * as a view into that chunk (zero copy); only a unit straddling two chunks is copied, into one
 * growable carry buffer that grows only as far as the bytes actually received, so a corrupt length
 * never causes a large allocation.
 * One `PacketRecord` is reused for every packet: it is valid until the next `next()`/`feed()`.
 */

export interface CaptureParserOptions {
  /** Name used in error messages (usually the file path). */
  file?: string;
  /** A unit cut short at the end of input becomes a warning instead of an error. */
  tolerateTruncatedTail?: boolean;
  /** Called after every non-packet unit (pcap file header, SHB, IDB, NRB, ISB, unknown blocks). */
  onBlock?: (parser: CaptureParser) => void;
}

/** Return `false` to stop reading. */
export type PacketCallback = (record: PacketRecord, parser: CaptureParser) => unknown;

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

export class CaptureParser {
  readonly file: string;
  readonly record: PacketRecord = createRecord();
  format: ReadFormat | undefined;
  readonly interfaces: CaptureInterface[] = [];
  readonly sections: CaptureSection[] = [];
  readonly warnings: CaptureWarning[] = [];
  /** Packets handed out so far. */
  packets = 0;
  /** Counts of pcapng blocks by kind, for `pcap info`. */
  nameResolutionBlocks = 0;
  statisticsBlocks = 0;
  otherBlocks = 0;
  /** True once a truncated tail was tolerated. */
  truncatedTail = false;
  /** Packets whose captured length exceeds the snaplen (read anyway; one warning names the first). */
  oversizedPackets = 0;
  /** Packets without a timestamp (pcapng Simple Packet Blocks). */
  untimedPackets = 0;

  /** The unit just parsed (valid during callbacks): `unitBuffer[unitOffset, unitOffset+unitLength)`. */
  unitBuffer: Uint8Array = EMPTY;
  unitOffset = 0;
  unitLength = 0;
  /** pcapng block type, or a `PcapUnitType` value. */
  unitType = 0;
  /** File offset of the unit just parsed. */
  unitFileOffset = 0;
  /** pcapng packet blocks: where the block's options lie in `unitBuffer` (empty range when none). */
  packetOptionsOffset = 0;
  packetOptionsEnd = 0;
  /** Byte order of the current section / pcap file. */
  littleEndian = true;

  // Per-interface numbers (global ids) kept in flat arrays for the format readers' hot paths.
  readonly ifLinkType: number[] = [];
  readonly ifSnaplen: number[] = [];
  readonly ifUnits: number[] = [];
  readonly ifInverse: number[] = [];
  /** 1e9 / units when the units divide 10^9 (then nsec = rem * mul), else 0. */
  readonly ifNsMul: number[] = [];
  readonly ifOffset: number[] = [];

  private readonly tolerateTruncatedTail: boolean;
  private readonly onBlock: ((parser: CaptureParser) => void) | undefined;
  /** The format's reader, once the first four bytes told the format. */
  private reader: FormatReader | null = null;

  private buf: Uint8Array = EMPTY;
  private view: DataView = EMPTY_VIEW;
  private pos = 0;
  private limit = 0;
  private carry: Uint8Array = EMPTY;
  private carryView: DataView = EMPTY_VIEW;
  private carryLen = 0;
  /** File offset of the next unit to parse. */
  private consumed = 0;
  private stopped = false;
  private ended = false;

  constructor(options: CaptureParserOptions = {}) {
    this.file = options.file ?? "<capture>";
    this.tolerateTruncatedTail = options.tolerateTruncatedTail ?? false;
    this.onBlock = options.onBlock;
  }

  /** Bytes the parser holds in its carry buffer (bounded by the bytes received). */
  get carryCapacity(): number {
    return this.carry.length;
  }

  /** File offset of the next byte the parser will look at. */
  get offset(): number {
    return this.consumed + this.carryLen;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Feeds one chunk and calls `onPacket` for every complete packet in it. Returns false once stopped. */
  feed(chunk: Uint8Array, onPacket: PacketCallback): boolean {
    if (this.stopped) return false;
    this.push(chunk);
    const record = this.record;
    while (this.next()) {
      if (onPacket(record, this) === false) {
        this.stopped = true;
        return false;
      }
    }
    return true;
  }

  /** Makes `chunk` the current input; call `next()` until it returns false, then push the next chunk. */
  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error("CaptureParser: push after end()");
    if (this.pos < this.limit) throw new Error("CaptureParser: push before the previous chunk was consumed");
    this.buf = chunk;
    this.view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pos = 0;
    this.limit = chunk.length;
  }

  /** Marks the reader stopped (no truncation check at `end()`). */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Parses the next packet from the current chunk into `record`. Returns false when the chunk is
   * used up (any partial unit is kept for the next chunk).
   */
  next(): boolean {
    for (;;) {
      let buffer: Uint8Array;
      let view: DataView;
      let at: number;
      let length: number;
      if (this.carryLen > 0) {
        for (;;) {
          const need = this.need(this.carry, this.carryView, 0, this.carryLen);
          if (this.carryLen >= need) {
            length = need;
            break;
          }
          const take = Math.min(need - this.carryLen, this.limit - this.pos);
          if (take === 0) return false;
          this.appendCarry(take);
        }
        buffer = this.carry;
        view = this.carryView;
        at = 0;
        this.carryLen = 0;
      } else {
        const avail = this.limit - this.pos;
        if (avail === 0) return false;
        const need = this.need(this.buf, this.view, this.pos, avail);
        if (avail < need) {
          this.appendCarry(avail);
          return false;
        }
        buffer = this.buf;
        view = this.view;
        at = this.pos;
        length = need;
        this.pos += need;
      }
      const fileOffset = this.consumed;
      this.consumed += length;
      if (this.processUnit(buffer, view, at, length, fileOffset)) return true;
    }
  }

  /** Signals end of input: a partial unit left over is PCAP_TRUNCATED (or a warning when tolerated). */
  /** Signals end of input: a partial unit left over is PCAP_TRUNCATED (or a warning when tolerated). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.stopped) return;
    const have = this.carryLen;
    const reader = this.reader;
    if (have === 0 && reader !== null) return;
    const need = have === 0 ? 4 : this.needForMessage();
    const what = reader === null ? "file header" : reader.unitName();
    const offset = this.consumed;
    const message =
      have === 0
        ? `${this.file}: empty file, no capture header at byte 0`
        : `${this.file}: truncated ${what} at byte ${offset} (needs ${need} bytes, only ${have} present): cut short in the middle of a ${what === "block" ? "block" : "packet"}`;
    if (this.tolerateTruncatedTail && reader?.canTolerateTruncation()) {
      this.truncatedTail = true;
      this.warnings.push({ code: "PCAP_TRUNCATED", message, offset });
      return;
    }
    throw new QoelabError("PCAP_TRUNCATED", message, { file: this.file, offset, need, have });
  }

  private needForMessage(): number {
    try {
      return this.need(this.carry, this.carryView, 0, this.carryLen);
    } catch {
      return this.carryLen + 1;
    }
  }

  private appendCarry(count: number): void {
    const required = this.carryLen + count;
    if (required > this.carry.length) {
      let capacity = Math.max(4096, this.carry.length * 2);
      while (capacity < required) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.carry.subarray(0, this.carryLen));
      this.carry = grown;
      this.carryView = new DataView(grown.buffer);
    }
    this.carry.set(this.buf.subarray(this.pos, this.pos + count), this.carryLen);
    this.carryLen = required;
    this.pos += count;
  }

  /** Throws the coded error `code` for byte `offset` of the file (for the format readers). */
  fail(code: string, message: string, offset: number, extra: Record<string, unknown> = {}): never {
    throw new QoelabError(code, `${this.file}: ${message} at byte ${offset}`, { file: this.file, offset, ...extra });
  }

  /** Bytes the unit at `off` needs (the format's reader decides; the first bytes pick the reader). */
  private need(buffer: Uint8Array, view: DataView, off: number, avail: number): number {
    const reader = this.reader;
    if (reader !== null) return reader.need(buffer, view, off, avail, this.consumed);
    if (avail < 4) return 4;
    this.detect(buffer, off);
    return this.need(buffer, view, off, avail);
  }

  /** A record whose captured length is beyond any packet (for the format readers). */
  badCaplen(caplen: number, recordOffset: number): never {
    this.fail(
      "PCAP_ABSURD_LENGTH",
      `packet record claims captured length ${caplen} (> ${MAX_CAPLEN}), file is corrupt`,
      recordOffset + 8,
      { caplen },
    );
  }

  /** A packet longer than its snaplen: read it, count it, warn once. */
  oversized(caplen: number, snaplen: number, offset: number): void {
    if (this.oversizedPackets++ === 0) {
      this.warnings.push({
        code: "PCAP_CAPLEN_EXCEEDS_SNAPLEN",
        message: `${this.file}: packet ${this.packets + 1} captured length ${caplen} exceeds the snapshot length ${snaplen} at byte ${offset} (read anyway; see oversizedPackets for the count)`,
        offset,
      });
    }
  }

  private detect(buffer: Uint8Array, off: number): void {
    const magicLe =
      (buffer[off]! | (buffer[off + 1]! << 8) | (buffer[off + 2]! << 16) | (buffer[off + 3]! << 24)) >>> 0;
    const magicBe = readU32(buffer, off);
    if (magicLe === PcapngBlockType.SHB) {
      this.format = "pcapng";
      this.reader = new PcapngReader(this);
      return;
    }
    if (magicBe === SNOOP_MAGIC_HIGH) {
      this.format = "snoop";
      this.littleEndian = false;
      this.reader = new SnoopReader(this);
      return;
    }
    for (const [magic, little] of [
      [magicLe, true],
      [magicBe, false],
    ] as const) {
      if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) {
        this.format = "pcap";
        this.littleEndian = little;
        this.reader = new PcapReader(this, magic === PCAP_MAGIC_NS);
        return;
      }
    }
    const hex = magicBe.toString(16).padStart(8, "0");
    throw new QoelabError("PCAP_BAD_MAGIC", `${this.file}: not a pcap or pcapng file (magic 0x${hex}) at byte 0`, {
      file: this.file,
      offset: 0,
      magic: `0x${hex}`,
    });
  }

  /** Returns true when the unit was a packet (record filled). */
  private processUnit(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean {
    this.unitBuffer = buffer;
    this.unitOffset = at;
    this.unitLength = length;
    this.unitFileOffset = fileOffset;
    return this.reader!.process(buffer, view, at, length, fileOffset);
  }

  /** Registers an interface (for the format readers). */
  addInterface(info: CaptureInterface): void {
    this.interfaces.push(info);
    this.ifLinkType.push(info.linkType);
    this.ifSnaplen.push(info.snaplen);
    this.ifUnits.push(info.tsUnitsPerSecond);
    this.ifInverse.push(1 / info.tsUnitsPerSecond);
    const mul = 1_000_000_000 / info.tsUnitsPerSecond;
    this.ifNsMul.push(Number.isInteger(mul) ? mul : 0);
    this.ifOffset.push(info.tsOffset);
  }

  /** A non-packet unit is done: tells the `onBlock` listener. */
  blockDone(): void {
    this.onBlock?.(this);
  }

  /** The fields every packet unit sets (timestamps are set by the format reader). */
  fillRecord(
    buffer: Uint8Array,
    offset: number,
    caplen: number,
    origlen: number,
    interfaceId: number,
    fileOffset: number,
  ): void {
    const record = this.record;
    record.buffer = buffer;
    record.offset = offset;
    record.caplen = caplen;
    record.origlen = origlen;
    record.linkType = this.ifLinkType[interfaceId]!;
    record.interfaceId = interfaceId;
    record.index = this.packets++;
    record.fileOffset = fileOffset;
  }
}
