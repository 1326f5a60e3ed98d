import {
  type CaptureInterface,
  type CaptureOption,
  type CaptureSection,
  type FormatReader,
  MAX_CAPLEN,
} from "./capture-format.ts";
import type { CaptureParser } from "./capture-parser.ts";

/**
 * pcapng (SHB, IDB, EPB, SPB, OPB, NRB, ISB, custom/unknown blocks; several sections and
 * interfaces; both byte orders): one unit per block. Interfaces are numbered globally over all
 * sections (`CaptureInterface.id`); timestamps in any if_tsresol up to 2^49 units per second are
 * converted exactly to seconds and nanoseconds without BigInt.
 */

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
/** Byte-order magic of a section header block. */
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const textDecoder = new TextDecoder("utf-8", { fatal: false });

/** What a section or interface block's options fill. */
type OptionsBlock = { comments: string[]; options: CaptureOption[] };

/** opt_comment (pcapng §3.5), a block's comments wherever it appears. */
const OPT_COMMENT = 1;

/** The string fields of a block that its UTF-8 options fill, by option code. */
type TextOptions<B> = Readonly<Record<number, { [K in keyof B]-?: string extends B[K] ? K : never }[keyof B]>>;

/** shb_hardware, shb_os, shb_userappl (pcapng §4.1). */
const SECTION_TEXT_OPTIONS: TextOptions<CaptureSection> = { 2: "hardware", 3: "os", 4: "userApplication" };

/** if_name, if_description, if_os, if_hardware (pcapng §4.2). */
const INTERFACE_TEXT_OPTIONS: TextOptions<CaptureInterface> = { 2: "name", 3: "description", 12: "os", 15: "hardware" };

export class PcapngReader implements FormatReader {
  /** Global id of the current section's interface 0, and the count in this section. */
  private sectionBase = 0;
  private sectionInterfaces = 0;
  // Scratch results of the 64-bit timestamp division (no allocation).
  private divQuotient = 0;
  private divRemainder = 0;

  constructor(private readonly p: CaptureParser) {}

  unitName(): string {
    return "block";
  }

  canTolerateTruncation(): boolean {
    return this.p.sections.length > 0;
  }

  need(_buffer: Uint8Array, view: DataView, off: number, avail: number, fileOffset: number): number {
    if (avail < 12) return 12;
    let little = this.p.littleEndian;
    const type = view.getUint32(off, little);
    const blockOffset = fileOffset;
    if (type === PcapngBlockType.SHB) {
      const bom = view.getUint32(off + 8, true);
      if (bom === BYTE_ORDER_MAGIC) little = true;
      else if (bom === 0x4d3c2b1a) little = false;
      else {
        this.p.fail(
          "PCAPNG_BAD_BYTE_ORDER",
          `section header block has no valid byte-order magic (0x${bom.toString(16).padStart(8, "0")})`,
          blockOffset + 8,
        );
      }
    } else if (this.p.sections.length === 0) {
      this.p.fail("PCAPNG_NO_SECTION", "pcapng file does not start with a section header block", blockOffset);
    }
    const length = view.getUint32(off + 4, little);
    if (length === 0) this.p.fail("PCAPNG_BAD_BLOCK_LENGTH", "zero-length block", blockOffset + 4, { length });
    if (length < 12 || length % 4 !== 0 || length > MAX_BLOCK_LENGTH) {
      this.p.fail(
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
      this.p.fail(
        "PCAPNG_BAD_BLOCK_LENGTH",
        `enhanced packet block length ${length} is absurd (packets are at most ${MAX_CAPLEN} bytes)`,
        blockOffset + 4,
        { length, blockType: type },
      );
    }
    return length;
  }

  process(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean {
    let little = this.p.littleEndian;
    const type = view.getUint32(at, little);
    this.p.unitType = type;
    if (type === PcapngBlockType.SHB) {
      little = view.getUint32(at + 8, true) === BYTE_ORDER_MAGIC;
      this.p.littleEndian = little;
    }
    if (view.getUint32(at + length - 4, little) !== length) {
      this.p.fail(
        "PCAPNG_LENGTH_MISMATCH",
        `block type 0x${type.toString(16)} trailing length ${view.getUint32(at + length - 4, little)} differs from leading length ${length}`,
        fileOffset + length - 4,
        { length },
      );
    }
    if (type === PcapngBlockType.EPB) {
      const caplen = view.getUint32(at + 20, little);
      if (caplen > length - 32 && caplen > MAX_CAPLEN) {
        this.p.fail("PCAP_ABSURD_LENGTH", `packet claims captured length ${caplen}`, fileOffset + 20);
      }
      const localId = view.getUint32(at + 8, little);
      return this.timestampedPacket(buffer, view, at, length, fileOffset, localId, "enhanced packet block");
    }
    if (type === PcapngBlockType.SPB) {
      if (this.sectionInterfaces === 0) {
        this.p.fail(
          "PCAPNG_UNKNOWN_INTERFACE",
          "simple packet block before any interface description block",
          fileOffset,
        );
      }
      const id = this.sectionBase;
      const origlen = view.getUint32(at + 8, little);
      const snaplen = this.p.ifSnaplen[id]!;
      let caplen = Math.min(origlen, length - 16);
      if (snaplen > 0 && caplen > snaplen) caplen = snaplen;
      // No timestamp: tsSec/tsNsec keep the previous packet's time (see PacketRecord.hasTimestamp).
      this.p.record.hasTimestamp = false;
      this.p.untimedPackets++;
      this.p.fillRecord(buffer, at + 12, caplen, origlen, id, fileOffset);
      this.p.packetOptionsOffset = at + length - 4;
      this.p.packetOptionsEnd = at + length - 4;
      return true;
    }
    if (type === PcapngBlockType.OPB) {
      const localId = view.getUint16(at + 8, little);
      return this.timestampedPacket(buffer, view, at, length, fileOffset, localId, "packet block");
    }
    if (type === PcapngBlockType.SHB) this.processSectionHeader(buffer, view, at, length, fileOffset);
    else if (type === PcapngBlockType.IDB) this.processInterface(buffer, view, at, length, fileOffset);
    else if (type === PcapngBlockType.NRB) this.p.nameResolutionBlocks++;
    else if (type === PcapngBlockType.ISB) this.p.statisticsBlocks++;
    else this.p.otherBlocks++;
    this.p.blockDone();
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
    const little = this.p.littleEndian;
    const caplen = view.getUint32(at + 20, little);
    if (caplen > length - 32) {
      this.p.fail(
        "PCAPNG_BAD_BLOCK_LENGTH",
        `${blockName} captured length ${caplen} does not fit its block length ${length}`,
        fileOffset + 20,
        { caplen, length },
      );
    }
    const id = this.interfaceFor(localId, fileOffset + 8);
    this.checkSnaplen(caplen, id, fileOffset + 20);
    this.setTimestamp(view.getUint32(at + 12, little), view.getUint32(at + 16, little), id);
    this.p.record.hasTimestamp = true;
    this.p.fillRecord(buffer, at + 28, caplen, view.getUint32(at + 24, little), id, fileOffset);
    this.p.packetOptionsOffset = at + 28 + ((caplen + 3) & ~3);
    this.p.packetOptionsEnd = at + length - 4;
    return true;
  }

  private tooShort(type: number, length: number, minimum: number, fileOffset: number): never {
    this.p.fail(
      "PCAPNG_BAD_BLOCK_LENGTH",
      `block type 0x${type.toString(16)} length ${length} is below its minimum ${minimum}`,
      fileOffset + 4,
      { length, blockType: type },
    );
  }

  private interfaceFor(localId: number, offset: number): number {
    if (localId >= this.sectionInterfaces) {
      this.p.fail(
        "PCAPNG_UNKNOWN_INTERFACE",
        `packet refers to interface ${localId} but the section describes ${this.sectionInterfaces}`,
        offset,
        { interfaceId: localId },
      );
    }
    return this.sectionBase + localId;
  }

  private checkSnaplen(caplen: number, id: number, offset: number): void {
    const snaplen = this.p.ifSnaplen[id]!;
    if (caplen > MAX_CAPLEN) {
      this.p.fail("PCAP_ABSURD_LENGTH", `packet claims captured length ${caplen} (> ${MAX_CAPLEN})`, offset, {
        caplen,
      });
    }
    if (snaplen > 0 && caplen > snaplen) this.p.oversized(caplen, snaplen, offset);
  }

  /** Exact (hi·2^32 + lo) / units → tsSec, tsNsec without BigInt. */
  private setTimestamp(hi: number, lo: number, id: number): void {
    const units = this.p.ifUnits[id]!;
    const inverse = this.p.ifInverse[id]!;
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
    const mul = this.p.ifNsMul[id]!;
    const record = this.p.record;
    record.tsNsec = mul !== 0 ? rem * mul : scaleToNanoseconds(rem, units);
    record.tsSec = this.divQuotient + this.p.ifOffset[id]!;
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
    const little = this.p.littleEndian;
    const versionMajor = view.getUint16(at + 12, little);
    const versionMinor = view.getUint16(at + 14, little);
    // 1.0 is the format; 1.2 was written by some tools and is read by libpcap and Wireshark; 1.1 and others are refused by both.
    if (versionMajor !== 1 || (versionMinor !== 0 && versionMinor !== 2)) {
      this.p.fail("PCAPNG_BAD_VERSION", `unsupported pcapng version ${versionMajor}.${versionMinor}`, fileOffset + 12, {
        versionMajor,
        versionMinor,
      });
    }
    const lengthHi = view.getInt32(at + 16, little);
    const lengthLo = view.getUint32(at + 20, little);
    const section: CaptureSection = {
      index: this.p.sections.length,
      byteOrder: little ? "le" : "be",
      versionMajor,
      versionMinor,
      sectionLength: lengthHi === -1 && lengthLo === 0xffffffff ? -1 : lengthHi * 4294967296 + lengthLo,
      comments: [],
      options: [],
      fileOffset,
    };
    this.readOptions(buffer, view, at + 24, at + length - 4, fileOffset, section, SECTION_TEXT_OPTIONS);
    this.p.sections.push(section);
    this.sectionBase = this.p.interfaces.length;
    this.sectionInterfaces = 0;
  }

  private processInterface(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): void {
    const little = this.p.littleEndian;
    const info: CaptureInterface = {
      id: this.p.interfaces.length,
      section: this.p.sections.length - 1,
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
      info,
      INTERFACE_TEXT_OPTIONS,
      (code, value, valueOffset) => {
        if (code === 8 && value.length === 8) info.speed = readU64(view, valueOffset, little);
        else if (code === 9 && value.length >= 1) {
          const resol = value[0]!;
          const exponent = resol & 0x7f;
          const units = resol & 0x80 ? 2 ** exponent : 10 ** exponent;
          if (units > MAX_UNITS_PER_SECOND) {
            this.p.fail(
              "PCAPNG_UNSUPPORTED_TSRESOL",
              `if_tsresol 0x${resol.toString(16)} is finer than qoelab handles exactly`,
              fileOffset + (valueOffset - at),
            );
          }
          info.tsresol = resol;
          info.tsUnitsPerSecond = units;
        } else if (code === 11 && value.length >= 1) info.filter = text(value.subarray(1));
        else if (code === 13 && value.length >= 1) info.fcsLength = value[0]!;
        else if (code === 14 && value.length === 8) info.tsOffset = readI64(view, valueOffset, little);
      },
    );
    this.sectionInterfaces++;
    this.p.addInterface(info);
  }

  /**
   * Reads the options of a section or interface block into `block`: every option into `options`,
   * opt_comment into `comments`, the text options `textOptions` names into their fields, and the
   * others through `onOther` (with the value's offset in `buffer`).
   */
  private readOptions<B extends OptionsBlock>(
    buffer: Uint8Array,
    view: DataView,
    start: number,
    end: number,
    blockFileOffset: number,
    block: B,
    textOptions: TextOptions<B>,
    onOther?: (code: number, value: Uint8Array, valueOffset: number) => void,
  ): void {
    const little = this.p.littleEndian;
    const blockStart = this.p.unitOffset;
    let p = start;
    while (end - p >= 4) {
      const code = view.getUint16(p, little);
      const length = view.getUint16(p + 2, little);
      if (code === 0) break;
      if (p + 4 + length > end) {
        this.p.fail(
          "PCAPNG_BAD_OPTION",
          `option ${code} length ${length} runs past the end of its block`,
          blockFileOffset + (p - blockStart),
          { code, length },
        );
      }
      const value = buffer.slice(p + 4, p + 4 + length);
      block.options.push({ code, value });
      const field = textOptions[code];
      if (code === OPT_COMMENT) block.comments.push(text(value));
      else if (field !== undefined) block[field] = text(value) as B[typeof field];
      else onOther?.(code, value, p + 4);
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
