import { anomaly, type DecodeInfo } from "../anomaly.ts";

/**
 * The bookkeeping of a header that needs `size` bytes where `available` were captured: how much
 * of it is there, whether all of it, and else a "truncated" anomaly naming it (`what`, e.g.
 * "Ethernet header"). Shared by the decoders of fixed-size headers.
 */
export function headerExtent(what: string, size: number, available: number): DecodeInfo {
  const complete = available >= size;
  return {
    headerLength: Math.max(0, Math.min(available, size)),
    complete,
    anomalies: complete ? [] : [anomaly("truncated", `${what} needs ${size} bytes, ${available} captured`)],
  };
}

/**
 * `headerExtent` for a header whose fixed part (`fixedSize` bytes) gives its whole size (`size`,
 * with its `parts`: optional fields, options, context headers): truncated when either was not
 * all captured, the header length then what was.
 */
export function variableHeaderExtent(
  what: string,
  fixedSize: number,
  size: number,
  available: number,
  parts: string,
): DecodeInfo {
  const extent = headerExtent(what, fixedSize, available);
  if (extent.complete && available < size) {
    extent.complete = false;
    extent.headerLength = available;
    extent.anomalies.push(anomaly("truncated", `${what} with its ${parts} needs ${size} bytes, ${available} captured`));
  }
  return extent;
}
