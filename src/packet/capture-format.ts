import type { CaptureParser } from "./capture-parser.ts";

/**
 * What the capture formats share: the interface and section descriptions every reader fills, the
 * packet length bound, and the contract between `CaptureParser` (chunking, carry buffer, format
 * detection, the packet record) and one format's reader (`pcap-reader.ts`, `pcapng-reader.ts`,
 * `snoop-reader.ts`), which sizes and decodes the units of its format.
 */

/**
 * Largest packet qoelab accepts (libpcap's MAXIMUM_SNAPLEN); longer is a corrupt length
 * (PCAP_ABSURD_LENGTH). A packet longer than its file's or interface's snaplen but within this
 * bound is read and counted (`oversizedPackets`), as libpcap, tcpdump and Wireshark do.
 */
export const MAX_CAPLEN = 262_144;

/** Pseudo block types the parser reports for pcap and snoop units. */
export const PcapUnitType = { FILE_HEADER: -1, RECORD: -2, SNOOP_HEADER: -3, SNOOP_RECORD: -4 } as const;

export type CaptureFormat = "pcap" | "pcapng";
/** Formats the reader takes: the two written ones, and Sun snoop (RFC 1761; read only). */
export type ReadFormat = CaptureFormat | "snoop";
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

/** One format's units, as `CaptureParser` drives them. */
export interface FormatReader {
  /**
   * Bytes the unit at `off` needs: its full length when `avail` covers its header, else the header
   * size. Validates lengths, so corrupt input fails here before any allocation.
   */
  need(buffer: Uint8Array, view: DataView, off: number, avail: number, fileOffset: number): number;
  /** Decodes a whole unit; returns true when it was a packet (the parser's record filled). */
  process(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean;
  /** What a unit cut short at the end of input is called in the error ("file header", "packet record", "block"). */
  unitName(): string;
  /** Whether a unit cut short at the end may be tolerated (only once packets can follow). */
  canTolerateTruncation(): boolean;
}

/** What a single-interface file header says (pcap, snoop). */
export interface FileHeader {
  section: Omit<CaptureSection, "index" | "comments" | "options" | "fileOffset">;
  linkType: number;
  snaplen: number;
  tsUnitsPerSecond: number;
  tsresol: number;
}

/**
 * Formats made of one file header, then packet records (pcap, snoop): one section and one
 * interface (id 0), described by the header.
 */
export abstract class HeaderThenRecords implements FormatReader {
  /** True until the file header has been read. */
  protected header = true;

  constructor(protected readonly p: CaptureParser) {}

  abstract need(buffer: Uint8Array, view: DataView, off: number, avail: number, fileOffset: number): number;
  abstract process(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean;

  unitName(): string {
    return this.header ? "file header" : "packet record";
  }

  canTolerateTruncation(): boolean {
    return !this.header;
  }

  /** Registers the header's section and interface; records follow. */
  protected headerRead(h: FileHeader, fileOffset: number, unitType: number): void {
    const p = this.p;
    // Same key order as pcapng sections (pcap info's JSON), the pcap-only keys last.
    const { byteOrder, versionMajor, versionMinor, sectionLength, ...extra } = h.section;
    p.sections.push({
      index: 0,
      byteOrder,
      versionMajor,
      versionMinor,
      sectionLength,
      comments: [],
      options: [],
      fileOffset,
      ...extra,
    });
    p.addInterface({
      id: 0,
      section: 0,
      localId: 0,
      linkType: h.linkType,
      snaplen: h.snaplen,
      tsUnitsPerSecond: h.tsUnitsPerSecond,
      tsresol: h.tsresol,
      tsOffset: 0,
      comments: [],
      options: [],
      fileOffset,
    });
    p.record.linkType = h.linkType;
    p.record.interfaceId = 0;
    this.header = false;
    p.unitType = unitType;
    p.blockDone();
  }
}
