import { Anomaly, type Dissection } from "../dissection.ts";

/**
 * The fast read of a fixed-size link header that names its payload by an EtherType at
 * `protocolAt` (Linux cooked v1 and v2, Cisco HDLC): the EtherType into `out.etherType`, the
 * payload's offset returned; a frame shorter than the header is truncated.
 */
export function fastFixedLinkHeader(
  size: number,
  protocolAt: number,
): (buffer: Uint8Array, p: number, end: number, out: Dissection) => number {
  return (buffer, p, end, out) => {
    if (end - p < size) {
      out.anomalies |= Anomaly.TRUNCATED;
      return -1;
    }
    out.etherType = (buffer[p + protocolAt]! << 8) | buffer[p + protocolAt + 1]!;
    return p + size;
  };
}
