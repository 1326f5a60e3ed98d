/**
 * One captured packet as the readers hand it out: a view into the reader's current chunk.
 * Readers reuse ONE record object per reader and overwrite it for every packet, so a hot loop
 * allocates nothing; call `copyRecord` to keep a packet beyond the callback / iteration step.
 */
export interface PacketRecord {
  /** Backing bytes; the packet is `buffer[offset, offset + caplen)`. */
  buffer: Uint8Array;
  offset: number;
  /** Bytes captured (present in `buffer`). */
  caplen: number;
  /** Bytes on the wire. */
  origlen: number;
  /** Timestamp, seconds since the Unix epoch. */
  tsSec: number;
  /** Timestamp fraction, nanoseconds 0..999 999 999 (exact for µs and ns captures). */
  tsNsec: number;
  /**
   * False for a packet the file gives no time (pcapng Simple Packet Block): then `tsSec`/`tsNsec`
   * repeat the previous packet's time (0 before any) so time-ordered consumers stay ordered, and
   * summaries must treat the time as unknown (capinfos and tshark show none).
   */
  hasTimestamp?: boolean;
  /** LINKTYPE_* value of the interface the packet was captured on. */
  linkType: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
  /** 0-based packet number in the file. */
  index: number;
  /** Byte offset in the file of the record header / block that carried the packet. */
  fileOffset: number;
}

export function createRecord(): PacketRecord {
  return {
    buffer: new Uint8Array(0),
    offset: 0,
    caplen: 0,
    origlen: 0,
    tsSec: 0,
    tsNsec: 0,
    hasTimestamp: true,
    linkType: 1,
    interfaceId: 0,
    index: 0,
    fileOffset: 0,
  };
}

/** A detached copy that owns its bytes (offset 0). */
export function copyRecord(record: PacketRecord): PacketRecord {
  return { ...record, buffer: record.buffer.slice(record.offset, record.offset + record.caplen), offset: 0 };
}

/** Packet bytes as a subarray view (no copy). */
export function recordBytes(record: PacketRecord): Uint8Array {
  return record.buffer.subarray(record.offset, record.offset + record.caplen);
}

/** Timestamp in seconds as a double (µs-exact for any realistic epoch time). */
export function recordTime(record: PacketRecord): number {
  return record.tsSec + record.tsNsec / 1e9;
}
