import { HeaderThenRecords, MAX_CAPLEN, PcapUnitType } from "./capture-format.ts";
import type { CaptureParser } from "./capture-parser.ts";

/**
 * Classic pcap (µs or ns timestamps, either byte order): a 24-byte file header, then records of a
 * 16-byte header and the captured bytes. One interface (id 0), one section.
 */

export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;

export class PcapReader extends HeaderThenRecords {
  private snaplen = 0;
  private readonly units: number;

  /** `nanosecond`: the magic said ns timestamps. */
  constructor(
    p: CaptureParser,
    private readonly nanosecond: boolean,
  ) {
    super(p);
    this.units = nanosecond ? 1_000_000_000 : 1_000_000;
  }

  need(_buffer: Uint8Array, view: DataView, off: number, avail: number, fileOffset: number): number {
    if (this.header) return 24;
    if (avail < 16) return 16;
    const caplen = view.getUint32(off + 8, this.p.littleEndian);
    if (caplen > MAX_CAPLEN) this.p.badCaplen(caplen, fileOffset);
    return 16 + caplen;
  }

  process(buffer: Uint8Array, view: DataView, at: number, length: number, fileOffset: number): boolean {
    const p = this.p;
    if (this.header) {
      this.processHeader(view, at, fileOffset);
      return false;
    }
    const little = p.littleEndian;
    const record = p.record;
    const units = this.units;
    let sec = view.getUint32(at, little);
    let frac = view.getUint32(at + 4, little);
    if (frac >= units) {
      const extra = Math.floor(frac / units);
      sec += extra;
      frac -= extra * units;
    }
    record.tsNsec = this.nanosecond ? frac : frac * 1000;
    record.tsSec = sec;
    record.hasTimestamp = true;
    const snaplen = this.snaplen;
    if (snaplen > 0 && length - 16 > snaplen) p.oversized(length - 16, snaplen, fileOffset + 8);
    p.fillRecord(buffer, at + 16, length - 16, view.getUint32(at + 12, little), 0, fileOffset);
    p.unitType = PcapUnitType.RECORD;
    return true;
  }

  private processHeader(view: DataView, at: number, fileOffset: number): void {
    const little = this.p.littleEndian;
    const versionMajor = view.getUint16(at + 4, little);
    const versionMinor = view.getUint16(at + 6, little);
    if (versionMajor !== 2) {
      this.p.fail("PCAP_BAD_VERSION", `unsupported pcap version ${versionMajor}.${versionMinor}`, fileOffset + 4);
    }
    const thiszone = view.getInt32(at + 8, little);
    const sigfigs = view.getUint32(at + 12, little);
    const snaplen = view.getUint32(at + 16, little);
    const linkField = view.getUint32(at + 20, little);
    // Bits 16-25 are reserved (must be 0); 26-31 carry the FCS length. libpcap and Wireshark refuse a set reserved bit.
    if ((linkField & 0x03ff0000) !== 0) {
      this.p.fail(
        "PCAP_BAD_LINK_TYPE",
        `link-type field 0x${(linkField >>> 0).toString(16).padStart(8, "0")} has reserved bits set (0x03ff0000)`,
        fileOffset + 20,
        { linkField },
      );
    }
    this.snaplen = snaplen;
    const linkType = linkField & 0xffff;
    this.headerRead(
      {
        section: {
          byteOrder: little ? "le" : "be",
          versionMajor,
          versionMinor,
          sectionLength: 0,
          nanosecond: this.nanosecond,
          thiszone,
          sigfigs,
        },
        linkType,
        snaplen,
        tsUnitsPerSecond: this.units,
        tsresol: this.nanosecond ? 9 : 6,
      },
      fileOffset,
      PcapUnitType.FILE_HEADER,
    );
  }
}
