import { QoelabError } from "../errors.ts";
import { createRecord, type PacketRecord } from "./record.ts";

/**
 * Push parser for pcap (µs/ns, both byte orders) and pcapng (SHB, IDB, EPB, SPB, OPB, NRB, ISB,
 * custom/unknown blocks; several sections and interfaces; both byte orders).
 *
 * The input is cut into "units": the pcap file header, each pcap record, each pcapng block. A unit
 * lying inside the fed chunk is handed out as a view into that chunk (zero copy); only a unit
 * straddling two chunks is copied, into one growable carry buffer that grows only as far as the
 * bytes actually received, so a corrupt length never causes a large allocation.
 * One `PacketRecord` is reused for every packet: it is valid until the next `next()`/`feed()`.
 */

/**
 * Largest packet qoelab accepts (libpcap's MAXIMUM_SNAPLEN); longer is a corrupt length
 * (PCAP_ABSURD_LENGTH). A packet longer than its file's or interface's snaplen but within this
 * bound is read and counted (`oversizedPackets`), as libpcap, tcpdump and Wireshark do.
 */
export const MAX_CAPLEN = 262_144;
/** Largest non-packet pcapng block accepted (NRB, custom blocks); longer is a corrupt length. */
export const MAX_BLOCK_LENGTH = 16 * 1024 * 1024;
/** Finest pcapng timestamp unit handled exactly (2^49 units per second, ~1.8 fs). */
const MAX_UNITS_PER_SECOND = 2 ** 49;

export const PcapngBlockType = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  OPB: 0x00000002,
  SPB: 0x00000003,
  NRB: 0x00000004,
  ISB: 0x00000005,
  EPB: 0x00000006,
  DSB: 0x0000000a,
  CUSTOM_COPY: 0x00000bad,
  CUSTOM_NOCOPY: 0x40000bad,
} as const;

/** Pseudo block types the parser reports for pcap units. */
export const PcapUnitType = { FILE_HEADER: -1, RECORD: -2, SNOOP_HEADER: -3, SNOOP_RECORD: -4 } as const;

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** "snoo", the first half of snoop's "snoop\0\0\0". */
const SNOOP_MAGIC_HIGH = 0x736e6f6f;

export type CaptureFormat = "pcap" | "pcapng";
/** Formats the reader takes: the two written ones, and Sun snoop (RFC 1761; read only). */
export type ReadFormat = CaptureFormat | "snoop";

/** Snoop datalink types qoelab maps to a LINKTYPE (RFC 1761 lists 4 as Ethernet). */
const SNOOP_LINK_TYPES = new Map<number, number>([[4, 1]]);
export type ByteOrder = "le" | "be";

/** One pcapng option as found in the file (value copied out of the chunk). */
export interface CaptureOption {
  code: number;
  value: Uint8Array;
}

export interface CaptureInterface {
  /** Index in the reader's `interfaces` (global over all sections); `PacketRecord.interfaceId`. */
  id: number;
  /** 0-based section (SHB) the interface belongs to; 0 for pcap. */
  section: number;
  /** Interface id inside its section, as EPBs refer to it. */
  localId: number;
  linkType: number;
  /** 0 means "no limit" (some writers put 0). */
  snaplen: number;
  /** Timestamp units per second: 10^6 for pcap µs, 10^9 for ns, if_tsresol for pcapng. */
  tsUnitsPerSecond: number;
  /** Raw if_tsresol byte (6 when absent; 9 for ns pcap). */
  tsresol: number;
  /** if_tsoffset in seconds, added to every timestamp. */
  tsOffset: number;
  name?: string;
  description?: string;
  filter?: string;
  os?: string;
  hardware?: string;
  speed?: number;
  fcsLength?: number;
  comments: string[];
  options: CaptureOption[];
  /** File offset of the IDB (or of the pcap file header). */
  fileOffset: number;
}

export interface CaptureSection {
  index: number;
  byteOrder: ByteOrder;
  versionMajor: number;
  versionMinor: number;
  /** pcapng section length (-1 when unspecified); 0 for pcap. */
  sectionLength: number;
  hardware?: string;
  os?: string;
  userApplication?: string;
  comments: string[];
  options: CaptureOption[];
  fileOffset: number;
  /** pcap only: the header's nanosecond flag, thiszone and sigfigs. */
  nanosecond?: boolean;
  thiszone?: number;
  sigfigs?: number;
}

export interface CaptureWarning {
  code: string;
  message: string;
  offset: number;
}

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

const Mode = { DETECT: 0, PCAP_HEADER: 1, PCAP_RECORD: 2, PCAPNG: 3, SNOOP_HEADER: 4, SNOOP_RECORD: 5 } as const;

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);
const textDecoder = new TextDecoder("utf-8", { fatal: false });

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

  private readonly tolerateTruncatedTail: boolean;
  private readonly onBlock: ((parser: CaptureParser) => void) | undefined;
  private mode: number = Mode.DETECT;
  private nanosecondPcap = false;
  private pcapSnaplen = 0;
  private pcapLinkType = 0;
  // Per-interface numbers (global ids) kept in flat arrays for the hot path.
  private readonly ifLinkType: number[] = [];
  private readonly ifSnaplen: number[] = [];
  private readonly ifUnits: number[] = [];
  private readonly ifInverse: number[] = [];
  /** 1e9 / units when the units divide 10^9 (then nsec = rem * mul), else 0. */
  private readonly ifNsMul: number[] = [];
  private readonly ifOffset: number[] = [];
  /** Global id of the current section's interface 0, and the count in this section. */
  private sectionBase = 0;
  private sectionInterfaces = 0;

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
  // Scratch results of the 64-bit timestamp division (no allocation).
  private divQuotient = 0;
  private divRemainder = 0;

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
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.stopped) return;
    const have = this.carryLen;
    if (have === 0 && this.mode !== Mode.DETECT) return;
    const need = have === 0 ? 4 : this.needForMessage();
    const what =
      this.mode === Mode.DETECT || this.mode === Mode.PCAP_HEADER || this.mode === Mode.SNOOP_HEADER
        ? "file header"
        : this.mode === Mode.PCAP_RECORD || this.mode === Mode.SNOOP_RECORD
          ? "packet record"
          : "block";
    const offset = this.consumed;
    const message =
      have === 0
        ? `${this.file}: empty file, no capture header at byte 0`
        : `${this.file}: truncated ${what} at byte ${offset} (needs ${need} bytes, only ${have} present): cut short in the middle of a ${what === "block" ? "block" : "packet"}`;
    const canTolerate =
      this.mode === Mode.PCAP_RECORD ||
      this.mode === Mode.SNOOP_RECORD ||
      (this.mode === Mode.PCAPNG && this.sections.length > 0);
    if (this.tolerateTruncatedTail && canTolerate) {
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

  private fail(code: string, message: string, offset: number, extra: Record<string, unknown> = {}): never {
    throw new QoelabError(code, `${this.file}: ${message} at byte ${offset}`, { file: this.file, offset, ...extra });
  }

  /**
   * Bytes the unit at `off` needs: its full length when `avail` covers its header, else the header
   * size. Validates lengths, so corrupt input fails here before any allocation.
   */
  private need(buffer: Uint8Array, view: DataView, off: number, avail: number): number {
    if (this.mode === Mode.PCAP_RECORD) {
      if (avail < 16) return 16;
      const caplen = view.getUint32(off + 8, this.littleEndian);
      if (caplen > MAX_CAPLEN) this.badCaplen(caplen, this.consumed);
      return 16 + caplen;
    }
    if (this.mode === Mode.PCAPNG) return this.needBlock(view, off, avail);
    if (this.mode === Mode.SNOOP_RECORD) {
      if (avail < 24) return 24;
      const caplen = view.getUint32(off + 4, false);
      const recordLength = view.getUint32(off + 8, false);
      if (caplen > MAX_CAPLEN) this.badCaplen(caplen, this.consumed - 4);
      if (recordLength < 24 + caplen || recordLength > 24 + MAX_CAPLEN + 4) {
        this.fail(
          "SNOOP_BAD_RECORD_LENGTH",
          `snoop record length ${recordLength} does not hold its ${caplen} captured bytes`,
          this.consumed + 8,
          { recordLength, caplen },
        );
      }
      return recordLength;
    }
    if (this.mode === Mode.SNOOP_HEADER) return 16;
    if (this.mode === Mode.DETECT) {
      if (avail < 4) return 4;
      this.detect(buffer, off);
      return this.need(buffer, view, off, avail);
    }
    return 24;
  }

  private badCaplen(caplen: number, recordOffset: number): never {
    this.fail(
      "PCAP_ABSURD_LENGTH",
      `packet record claims captured length ${caplen} (> ${MAX_CAPLEN}), file is corrupt`,
      recordOffset + 8,
      { caplen },
    );
  }

  /** A packet longer than its snaplen: read it, count it, warn once. */
  private oversized(caplen: number, snaplen: number, offset: number): void {
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
    const magicBe = (((buffer[off]! << 24) | (buffer[off + 1]! << 16) | (buffer[off + 2]! << 8) | buffer[off + 3]!) >>>
      0) as number;
    if (magicLe === PcapngBlockType.SHB) {
      this.format = "pcapng";
      this.mode = Mode.PCAPNG;
      return;
    }
    if (magicBe === SNOOP_MAGIC_HIGH) {
      this.format = "snoop";
      this.mode = Mode.SNOOP_HEADER;
      this.littleEndian = false;
      return;
    }
    for (const [magic, little] of [
      [magicLe, true],
      [magicBe, false],
    ] as const) {
      if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS) {
        this.format = "pcap";
        this.mode = Mode.PCAP_HEADER;
        this.littleEndian = little;
        this.nanosecondPcap = magic === PCAP_MAGIC_NS;
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

  private needBlock(view: DataView, off: number, avail: number): number {
    if (avail < 12) return 12;
    let little = this.littleEndian;
    const type = view.getUint32(off, little);
    const blockOffset = this.consumed;
    if (type === PcapngBlockType.SHB) {
      const bom = view.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else {
        this.fail(
          "PCAPNG_BAD_BYTE_ORDER",
          `section header block has no valid byte-order magic (0x${bom.toString(16).padStart(8, "0")})`,
          blockOffset + 8,
        );
      }
    } else if (this.sections.length === 0) {
      this.fail("PCAPNG_NO_SECTION", "pcapng file does not start with a section header block", blockOffset);
    }
    const length = view.getUint32(off + 4, little);
    if (length === 0) this.fail("PCAPNG_BAD_BLOCK_LENGTH", "zero-length block", blockOffset + 4, { length });
    if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK_LENGTH) {
      this.fail(
        "PCAPNG_BAD_BLOCK_LENGTH",
        `block type 0x${type.toString(16)} has impossible length ${length} (must be >= 12, a multiple of 4, <= ${MAX_BLOCK_LENGTH})`,
        blockOffset + 4,
        { length, blockType: type },
      );
    }
    const minimum =
      type === PcapngBlockType.EPB || type === PcapngBlockType.OPB
        ? 32
        : type === PcapngBlockType.SHB
          ? 28
          : type === PcapngBlockType.IDB
            ? 20
            : type === PcapngBlockType.SPB
              ? 16
              : 12;
    if (length < minimum) this.tooShort(type, length, minimum, blockOffset);
    if (type === PcapngBlockType.EPB && length > 32 + MAX_CAPLEN + 65536) {
      this.fail(
        "PCAPNG_BAD_BLOCK_LENGTH",
        `enhanced packet block length ${length} is absurd (packets are at most ${MAX_CAPLEN} bytes)`,
        blockOffset + 4,
        { length, blockType: type },
      );
    }
    return length;
  }

  /** Returns true when the unit was a packet (record filled). */
  private processUnit(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean {
    this.unitBuffer = buffer;
    this.unitOffset = at;
    this.unitLength = length;
    this.unitFileOffset = fileOffset;
    const mode = this.mode;
    if (mode === Mode.PCAP_RECORD) {
      const little = this.littleEndian;
      const record = this.record;
      const units = this.nanosecondPcap ? 1_000_000_000 : 1_000_000;
      let sec = view.getUint32(at, little);
      let frac = view.getUint32(at + 4, little);
      if (frac >= units) {
        const extra = Math.floor(frac / units);
        sec += extra;
        frac -= extra * units;
      }
      record.tsNsec = this.nanosecondPcap ? frac : frac * 1000;
      record.tsSec = sec;
      record.hasTimestamp = true;
      const snaplen = this.pcapSnaplen;
      if (snaplen > 0 && length - 16 > snaplen) this.oversized(length - 16, snaplen, fileOffset + 8);
      this.fillRecord(buffer, at + 16, length - 16, view.getUint32(at + 12, little), 0, fileOffset);
      this.unitType = PcapUnitType.RECORD;
      return true;
    }
    if (mode === Mode.PCAPNG) return this.processBlock(buffer, view, at, length, fileOffset);
    if (mode === Mode.SNOOP_RECORD) {
      const record = this.record;
      const caplen = view.getUint32(at + 4, false);
      const usec = view.getUint32(at + 20, false);
      record.tsSec = view.getUint32(at + 16, false) + Math.floor(usec / 1_000_000);
      record.tsNsec = (usec % 1_000_000) * 1000;
      record.hasTimestamp = true;
      this.fillRecord(buffer, at + 24, caplen, view.getUint32(at, false), 0, fileOffset);
      this.unitType = PcapUnitType.SNOOP_RECORD;
      return true;
    }
    if (mode === Mode.SNOOP_HEADER) {
      this.processSnoopHeader(buffer, view, at, fileOffset);
      return false;
    }
    this.processPcapHeader(view, at, fileOffset);
    return false;
  }

  /** Sun snoop (RFC 1761): "snoop\0\0\0", version 2, datalink type; big-endian, µs timestamps. */
  private processSnoopHeader(buffer: Uint8Array, view: DataView, at: number, fileOffset: number): void {
    if (buffer[at + 4] !== 0x70 || buffer[at + 5] !== 0 || buffer[at + 6] !== 0 || buffer[at + 7] !== 0) {
      this.fail("PCAP_BAD_MAGIC", "not a pcap, pcapng or snoop file (bad snoop magic)", fileOffset);
    }
    const version = view.getUint32(at + 8, false);
    if (version !== 2)
      this.fail("SNOOP_BAD_VERSION", `unsupported snoop version ${version}`, fileOffset + 8, { version });
    const datalink = view.getUint32(at + 12, false);
    const linkType = SNOOP_LINK_TYPES.get(datalink);
    if (linkType === undefined) {
      this.fail("SNOOP_UNSUPPORTED_DATALINK", `snoop datalink type ${datalink} is not supported`, fileOffset + 12, {
        datalink,
      });
    }
    this.sections.push({
      index: 0,
      byteOrder: "be",
      versionMajor: version,
      versionMinor: 0,
      sectionLength: 0,
      comments: [],
      options: [],
      fileOffset,
    });
    this.addInterface({
      id: 0,
      section: 0,
      localId: 0,
      linkType,
      snaplen: 0,
      tsUnitsPerSecond: 1_000_000,
      tsresol: 6,
      tsOffset: 0,
      comments: [],
      options: [],
      fileOffset,
    });
    this.record.linkType = linkType;
    this.record.interfaceId = 0;
    this.mode = Mode.SNOOP_RECORD;
    this.unitType = PcapUnitType.SNOOP_HEADER;
    this.onBlock?.(this);
  }

  private processPcapHeader(view: DataView, at: number, fileOffset: number): void {
    const little = this.littleEndian;
    const versionMajor = view.getUint16(at + 4, little);
    const versionMinor = view.getUint16(at + 6, little);
    if (versionMajor !== 2) {
      this.fail("PCAP_BAD_VERSION", `unsupported pcap version ${versionMajor}.${versionMinor}`, fileOffset + 4);
    }
    const thiszone = view.getInt32(at + 8, little);
    const sigfigs = view.getUint32(at + 12, little);
    const snaplen = view.getUint32(at + 16, little);
    const linkField = view.getUint32(at + 20, little);
    // Bits 16-25 are reserved (must be 0); 26-31 carry the FCS length. libpcap and Wireshark refuse a set reserved bit.
    if ((linkField & 0x03ff0000) !== 0) {
      this.fail(
        "PCAP_BAD_LINK_TYPE",
        `link-type field 0x${(linkField >>> 0).toString(16).padStart(8, "0")} has reserved bits set (0x03ff0000)`,
        fileOffset + 20,
        { linkField },
      );
    }
    this.pcapSnaplen = snaplen;
    this.pcapLinkType = linkField & 0xffff;
    this.sections.push({
      index: 0,
      byteOrder: little ? "le" : "be",
      versionMajor,
      versionMinor,
      sectionLength: 0,
      comments: [],
      options: [],
      fileOffset,
      nanosecond: this.nanosecondPcap,
      thiszone,
      sigfigs,
    });
    const units = this.nanosecondPcap ? 1_000_000_000 : 1_000_000;
    this.addInterface({
      id: 0,
      section: 0,
      localId: 0,
      linkType: this.pcapLinkType,
      snaplen,
      tsUnitsPerSecond: units,
      tsresol: this.nanosecondPcap ? 9 : 6,
      tsOffset: 0,
      comments: [],
      options: [],
      fileOffset,
    });
    this.record.linkType = this.pcapLinkType;
    this.record.interfaceId = 0;
    this.mode = Mode.PCAP_RECORD;
    this.unitType = PcapUnitType.FILE_HEADER;
    this.onBlock?.(this);
  }

  private addInterface(info: CaptureInterface): void {
    this.interfaces.push(info);
    this.ifLinkType.push(info.linkType);
    this.ifSnaplen.push(info.snaplen);
    this.ifUnits.push(info.tsUnitsPerSecond);
    this.ifInverse.push(1 / info.tsUnitsPerSecond);
    const mul = 1_000_000_000 / info.tsUnitsPerSecond;
    this.ifNsMul.push(Number.isInteger(mul) ? mul : 0);
    this.ifOffset.push(info.tsOffset);
  }

  private processBlock(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean {
    let little = this.littleEndian;
    const type = view.getUint32(at, little);
    this.unitType = type;
    if (type === PcapngBlockType.SHB) {
      little = view.getUint32(at + 8, true) === BYTE_ORDER_MAGIC;
      this.littleEndian = little;
    }
    if (view.getUint32(at + length - 4, little) !== length) {
      this.fail(
        "PCAPNG_LENGTH_MISMATCH",
        `block type 0x${type.toString(16)} trailing length ${view.getUint32(at + length - 4, little)} differs from leading length ${length}`,
        fileOffset + length - 4,
        { length },
      );
    }
    if (type === PcapngBlockType.EPB) {
      const caplen = view.getUint32(at + 20, little);
      if (caplen > length - 32 && caplen > MAX_CAPLEN) {
        this.fail("PCAP_ABSURD_LENGTH", `packet claims captured length ${caplen}`, fileOffset + 20);
      }
      const localId = view.getUint32(at + 8, little);
      return this.timestampedPacket(buffer, view, at, length, fileOffset, localId, "enhanced packet block");
    }
    if (type === PcapngBlockType.SPB) {
      if (this.sectionInterfaces === 0) {
        this.fail("PCAPNG_UNKNOWN_INTERFACE", "simple packet block before any interface description block", fileOffset);
      }
      const id = this.sectionBase;
      const origlen = view.getUint32(at + 8, little);
      const snaplen = this.ifSnaplen[id]!;
      let caplen = Math.min(origlen, length - 16);
      if (snaplen > 0 && caplen > snaplen) caplen = snaplen;
      // No timestamp: tsSec/tsNsec keep the previous packet's time (see PacketRecord.hasTimestamp).
      this.record.hasTimestamp = false;
      this.untimedPackets++;
      this.fillRecord(buffer, at + 12, caplen, origlen, id, fileOffset);
      this.packetOptionsOffset = at + length - 4;
      this.packetOptionsEnd = at + length - 4;
      return true;
    }
    if (type === PcapngBlockType.OPB) {
      const localId = view.getUint16(at + 8, little);
      return this.timestampedPacket(buffer, view, at, length, fileOffset, localId, "packet block");
    }
    if (type === PcapngBlockType.SHB) this.processSectionHeader(buffer, view, at, length, fileOffset);
    else if (type === PcapngBlockType.IDB) this.processInterface(buffer, view, at, length, fileOffset);
    else if (type === PcapngBlockType.NRB) this.nameResolutionBlocks++;
    else if (type === PcapngBlockType.ISB) this.statisticsBlocks++;
    else this.otherBlocks++;
    this.onBlock?.(this);
    return false;
  }

  /** EPB/OPB (same layout but for the interface id's width): packet, 64-bit timestamp and options. */
  private timestampedPacket(
    buffer: Uint8Array,
    view: DataView,
    at: number,
    length: number,
    fileOffset: number,
    localId: number,
    blockName: string,
  ): true {
    const little = this.littleEndian;
    const caplen = view.getUint32(at + 20, little);
    if (caplen > length - 32) {
      this.fail(
        "PCAPNG_BAD_BLOCK_LENGTH",
        `${blockName} captured length ${caplen} does not fit its block length ${length}`,
        fileOffset + 20,
        { caplen, length },
      );
    }
    const id = this.interfaceFor(localId, fileOffset + 8);
    this.checkSnaplen(caplen, id, fileOffset + 20);
    this.setTimestamp(view.getUint32(at + 12, little), view.getUint32(at + 16, little), id);
    this.record.hasTimestamp = true;
    this.fillRecord(buffer, at + 28, caplen, view.getUint32(at + 24, little), id, fileOffset);
    this.packetOptionsOffset = at + 28 + ((caplen + 3) & ~3);
    this.packetOptionsEnd = at + length - 4;
    return true;
  }

  /** The fields every packet unit sets (timestamps are set by the caller). */
  private fillRecord(
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

  private tooShort(type: number, length: number, minimum: number, fileOffset: number): never {
    this.fail(
      "PCAPNG_BAD_BLOCK_LENGTH",
      `block type 0x${type.toString(16)} length ${length} is below its minimum ${minimum}`,
      fileOffset + 4,
      { length, blockType: type },
    );
  }

  private interfaceFor(localId: number, offset: number): number {
    if (localId >= this.sectionInterfaces) {
      this.fail(
        "PCAPNG_UNKNOWN_INTERFACE",
        `packet refers to interface ${localId} but the section describes ${this.sectionInterfaces}`,
        offset,
        { interfaceId: localId },
      );
    }
    return this.sectionBase + localId;
  }

  private checkSnaplen(caplen: number, id: number, offset: number): void {
    const snaplen = this.ifSnaplen[id]!;
    if (caplen > MAX_CAPLEN) {
      this.fail("PCAP_ABSURD_LENGTH", `packet claims captured length ${caplen} (> ${MAX_CAPLEN})`, offset, { caplen });
    }
    if (snaplen > 0 && caplen > snaplen) this.oversized(caplen, snaplen, offset);
  }

  /** Exact (hi·2^32 + lo) / units → tsSec, tsNsec without BigInt. */
  private setTimestamp(hi: number, lo: number, id: number): void {
    const units = this.ifUnits[id]!;
    const inverse = this.ifInverse[id]!;
    if (hi < 0x200000) {
      // The 64-bit value fits a double exactly: multiply by the reciprocal, then fix the floor.
      const ts = hi * 4294967296 + lo;
      const sec = Math.floor(ts * inverse);
      this.settleDivision(sec, ts - sec * units, units);
    } else {
      const sec = Math.floor((hi * 4294967296 + lo) * inverse);
      if (units <= 137438953472 && sec < 4294967296) {
        // units ≤ 2^37 and sec < 2^32: the seconds from a double estimate (off by at most one), the
        // remainder exactly as ts − sec·units with sec split in 16-bit halves so every product is < 2^53.
        const s1 = Math.floor(sec / 65536);
        const a = s1 * units;
        const a1 = Math.floor(a / 65536);
        const rem = (hi - a1) * 4294967296 + (lo - (a - a1 * 65536) * 65536 - (sec - s1 * 65536) * units);
        this.settleDivision(sec, rem, units);
      } else {
        this.divide64(hi, lo, units);
      }
    }
    const rem = this.divRemainder;
    const mul = this.ifNsMul[id]!;
    const record = this.record;
    record.tsNsec = mul !== 0 ? rem * mul : scaleToNanoseconds(rem, units);
    record.tsSec = this.divQuotient + this.ifOffset[id]!;
  }

  /** Long division in limbs small enough that every partial value stays below 2^53 (units > 2^37). */
  private divide64(hi: number, lo: number, units: number): void {
    const bits = units <= 2 ** 45 ? 8 : 1;
    const base = 2 ** bits;
    const mask = base - 1;
    let quotient = 0;
    let rem = 0;
    for (let shift = 64 - bits; shift >= 0; shift -= bits) {
      const word = shift >= 32 ? hi : lo;
      const limb = ((word >>> (shift & 31)) & mask) >>> 0;
      const cur = rem * base + limb;
      const digit = Math.floor(cur / units);
      this.settleDivision(digit, cur - digit * units, units);
      rem = this.divRemainder;
      quotient = quotient * base + this.divQuotient;
    }
    this.divQuotient = quotient;
    this.divRemainder = rem;
  }

  /** Corrects a quotient estimate `q` (off by a few) whose remainder is `rem` → divQuotient, divRemainder. */
  private settleDivision(q: number, rem: number, divisor: number): void {
    while (rem < 0) {
      q--;
      rem += divisor;
    }
    while (rem >= divisor) {
      q++;
      rem -= divisor;
    }
    this.divQuotient = q;
    this.divRemainder = rem;
  }

  private processSectionHeader(
    buffer: Uint8Array,
    view: DataView,
    at: number,
    length: number,
    fileOffset: number,
  ): void {
    const little = this.littleEndian;
    const versionMajor = view.getUint16(at + 12, little);
    const versionMinor = view.getUint16(at + 14, little);
    // 1.0 is the format; 1.2 was written by some tools and is read by libpcap and Wireshark; 1.1 and others are refused by both.
    if (versionMajor !== 1 || (versionMinor !== 0 && versionMinor !== 2)) {
      this.fail("PCAPNG_BAD_VERSION", `unsupported pcapng version ${versionMajor}.${versionMinor}`, fileOffset + 12, {
        versionMajor,
        versionMinor,
      });
    }
    const lengthHi = view.getInt32(at + 16, little);
    const lengthLo = view.getUint32(at + 20, little);
    const section: CaptureSection = {
      index: this.sections.length,
      byteOrder: little ? "le" : "be",
      versionMajor,
      versionMinor,
      sectionLength: lengthHi === -1 && lengthLo === 0xffffffff ? -1 : lengthHi * 4294967296 + lengthLo,
      comments: [],
      options: [],
      fileOffset,
    };
    this.readOptions(
      buffer,
      view,
      at + 24,
      at + length - 4,
      fileOffset,
      (code, value) => {
        if (code === 1) section.comments.push(text(value));
        else if (code === 2) section.hardware = text(value);
        else if (code === 3) section.os = text(value);
        else if (code === 4) section.userApplication = text(value);
      },
      section.options,
    );
    this.sections.push(section);
    this.sectionBase = this.interfaces.length;
    this.sectionInterfaces = 0;
  }

  private processInterface(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): void {
    const little = this.littleEndian;
    const info: CaptureInterface = {
      id: this.interfaces.length,
      section: this.sections.length - 1,
      localId: this.sectionInterfaces,
      linkType: view.getUint16(at + 8, little),
      snaplen: view.getUint32(at + 12, little),
      tsUnitsPerSecond: 1_000_000,
      tsresol: 6,
      tsOffset: 0,
      comments: [],
      options: [],
      fileOffset,
    };
    this.readOptions(
      buffer,
      view,
      at + 16,
      at + length - 4,
      fileOffset,
      (code, value, valueOffset) => {
        if (code === 1) info.comments.push(text(value));
        else if (code === 2) info.name = text(value);
        else if (code === 3) info.description = text(value);
        else if (code === 8 && value.length === 8) info.speed = readU64(view, valueOffset, little);
        else if (code === 9 && value.length >= 1) {
          const resol = value[0]!;
          const exponent = resol & 0x7f;
          const units = resol & 0x80 ? 2 ** exponent : 10 ** exponent;
          if (units > MAX_UNITS_PER_SECOND) {
            this.fail(
              "PCAPNG_UNSUPPORTED_TSRESOL",
              `if_tsresol 0x${resol.toString(16)} is finer than qoelab handles exactly`,
              fileOffset + (valueOffset - at),
            );
          }
          info.tsresol = resol;
          info.tsUnitsPerSecond = units;
        } else if (code === 11 && value.length >= 1) info.filter = text(value.subarray(1));
        else if (code === 12) info.os = text(value);
        else if (code === 13 && value.length >= 1) info.fcsLength = value[0]!;
        else if (code === 14 && value.length === 8) info.tsOffset = readI64(view, valueOffset, little);
        else if (code === 15) info.hardware = text(value);
      },
      info.options,
    );
    this.sectionInterfaces++;
    this.addInterface(info);
  }

  private readOptions(
    buffer: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    blockFileOffset: number,
    onOption: (code: number, value: Uint8Array, valueOffset: number) => void,
    keep: CaptureOption[],
  ): void {
    const little = this.littleEndian;
    const blockStart = this.unitOffset;
    let p = start;
    while (end - p >= 4) {
      const code = view.getUint16(p, little);
      const length = view.getUint16(p + 2, little);
      if (code === 0) break;
      if (p + 4 + length > end) {
        this.fail(
          "PCAPNG_BAD_OPTION",
          `option ${code} length ${length} runs past the end of its block`,
          blockFileOffset + (p - blockStart),
          { code, length },
        );
      }
      const value = buffer.slice(p + 4, p + 4 + length);
      keep.push({ code, value });
      onOption(code, value, p + 4);
      p += 4 + ((length + 3) & ~3);
    }
  }
}

/** floor(rem · 10^9 / units) exactly, for rem < units ≤ 2^49. */
function scaleToNanoseconds(rem: number, units: number): number {
  const step = units <= 2 ** 43 ? 1000 : 10;
  const rounds = step === 1000 ? 3 : 9;
  let x = rem;
  let n = 0;
  for (let i = 0; i < rounds; i++) {
    x *= step;
    let digit = Math.floor(x / units);
    x -= digit * units;
    if (x < 0) {
      digit--;
      x += units;
    } else if (x >= units) {
      digit++;
      x -= units;
    }
    n = n * step + digit;
  }
  return n;
}

function text(value: Uint8Array): string {
  // Strings may be NUL-padded by some writers.
  let end = value.length;
  while (end > 0 && value[end - 1] === 0) end--;
  return textDecoder.decode(value.subarray(0, end));
}

function readU64(view: DataView, offset: number, little: boolean): number {
  const a = view.getUint32(offset, little);
  const b = view.getUint32(offset + 4, little);
  return little ? b * 4294967296 + a : a * 4294967296 + b;
}

function readI64(view: DataView, offset: number, little: boolean): number {
  const a = little ? view.getInt32(offset + 4, little) : view.getInt32(offset, little);
  const b = little ? view.getUint32(offset, little) : view.getUint32(offset + 4, little);
  return a * 4294967296 + b;
}

/** Options of the packet block just parsed (allocates; call from the callback). */
export function packetOptions(parser: CaptureParser): CaptureOption[] {
  const out: CaptureOption[] = [];
  const buffer = parser.unitBuffer;
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let p = parser.packetOptionsOffset;
  const end = parser.packetOptionsEnd;
  while (end - p >= 4) {
    const code = view.getUint16(p, parser.littleEndian);
    const length = view.getUint16(p + 2, parser.littleEndian);
    if (code === 0 || p + 4 + length > end) break;
    out.push({ code, value: buffer.slice(p + 4, p + 4 + length) });
    p += 4 + ((length + 3) & ~3);
  }
  return out;
}

/** Comments (opt_comment) of the packet block just parsed. */
export function packetComments(parser: CaptureParser): string[] {
  return packetOptions(parser)
    .filter((o) => o.code === 1)
    .map((o) => text(o.value));
}
