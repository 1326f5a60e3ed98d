import { HeaderThenRecords, MAX_CAPLEN, PcapUnitType } from "./capture-format.ts";

/**
 * Sun snoop (RFC 1761; read only): a 16-byte header ("snoop\0\0\0", version 2, datalink type),
 * then records of a 24-byte header, the captured bytes and padding; big-endian, µs timestamps.
 */

/** "snoo", the first half of snoop's "snoop\0\0\0". */
export const SNOOP_MAGIC_HIGH = 0x736e6f6f;

/** Snoop datalink types qoelab maps to a LINKTYPE (RFC 1761 lists 4 as Ethernet). */
const SNOOP_LINK_TYPES = new Map<number, number>([[4, 1]]);

export class SnoopReader extends HeaderThenRecords {
  need(_buffer: Uint8Array, view: DataView, off: number, avail: number, fileOffset: number): number {
    if (this.header) return 16;
    if (avail < 24) return 24;
    const caplen = view.getUint32(off + 4, false);
    const recordLength = view.getUint32(off + 8, false);
    if (caplen > MAX_CAPLEN) this.p.badCaplen(caplen, fileOffset - 4);
    if (recordLength < 24 + caplen || recordLength > 24 + MAX_CAPLEN + 4) {
      this.p.fail(
        "SNOOP_BAD_RECORD_LENGTH",
        `snoop record length ${recordLength} does not hold its ${caplen} captured bytes`,
        fileOffset + 8,
        { recordLength, caplen },
      );
    }
    return recordLength;
  }

  process(buffer: Uint8Array, view: DataView, at: number, _length: number, fileOffset: number): boolean {
    if (this.header) {
      this.processHeader(buffer, view, at, fileOffset);
      return false;
    }
    const p = this.p;
    const record = p.record;
    const caplen = view.getUint32(at + 4, false);
    const usec = view.getUint32(at + 20, false);
    record.tsSec = view.getUint32(at + 16, false) + Math.floor(usec / 1_000_000);
    record.tsNsec = (usec % 1_000_000) * 1000;
    record.hasTimestamp = true;
    p.fillRecord(buffer, at + 24, caplen, view.getUint32(at, false), 0, fileOffset);
    p.unitType = PcapUnitType.SNOOP_RECORD;
    return true;
  }

  /** Sun snoop (RFC 1761): "snoop\0\0\0", version 2, datalink type; big-endian, µs timestamps. */
  private processHeader(buffer: Uint8Array, view: DataView, at: number, fileOffset: number): void {
    if (buffer[at + 4] !== 0x70 || buffer[at + 5] !== 0 || buffer[at + 6] !== 0 || buffer[at + 7] !== 0) {
      this.p.fail("PCAP_BAD_MAGIC", "not a pcap, pcapng or snoop file (bad snoop magic)", fileOffset);
    }
    const version = view.getUint32(at + 8, false);
    if (version !== 2)
      this.p.fail("SNOOP_BAD_VERSION", `unsupported snoop version ${version}`, fileOffset + 8, { version });
    const datalink = view.getUint32(at + 12, false);
    const linkType = SNOOP_LINK_TYPES.get(datalink);
    if (linkType === undefined) {
      this.p.fail("SNOOP_UNSUPPORTED_DATALINK", `snoop datalink type ${datalink} is not supported`, fileOffset + 12, {
        datalink,
      });
    }
    this.headerRead(
      {
        section: { byteOrder: "be", versionMajor: version, versionMinor: 0, sectionLength: 0 },
        linkType,
        snaplen: 0,
        tsUnitsPerSecond: 1_000_000,
        tsresol: 6,
      },
      fileOffset,
      PcapUnitType.SNOOP_HEADER,
    );
  }
}
