import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

/*
 * Payload of a `gen udp` probe packet (big-endian), padded with zeros to the requested size:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                      magic "QLG1" 0x514c4731                  |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                       sequence number                         |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |             send time, ns of CLOCK_MONOTONIC (64 bits)        |
 *  |                                                               |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |         clock id (first 32 bits of the kernel boot id)        |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                stream id (random per sender run)              |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The monotonic clock is shared by every process (and network namespace) of one boot, so a
 * receiver with the same clock id can compute one-way delay.
 */

export const PROBE_MAGIC = 0x514c4731;
export const PROBE_HEADER_BYTES = 24;
export const OFF_MAGIC = 0;
export const OFF_SEQ = 4;
export const OFF_SEND_NS = 8;
export const OFF_CLOCK_ID = 16;
export const OFF_STREAM_ID = 20;

let cachedClockId: number | undefined;

/** First 32 bits of /proc/sys/kernel/random/boot_id (0 when unavailable). */
export function clockId(): number {
  if (cachedClockId === undefined) {
    try {
      const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      cachedClockId = Number.parseInt(bootId.slice(0, 8), 16) >>> 0;
    } catch {
      cachedClockId = 0;
    }
  }
  return cachedClockId;
}

/**
 * CLOCK_MONOTONIC in ns as a double, without allocating: performance.now() runs on the same clock
 * as process.hrtime, offset by a constant taken once.
 */
const monoOffsetNs = measureMonoOffset();

/**
 * The offset is read as hrtime − performance.now(); a preemption between the two reads would skew
 * every timestamp of this process (one-way delays across processes then look shorter or longer by
 * that much), so the read bracketed most tightly by two hrtime reads out of several is kept.
 */
function measureMonoOffset(): number {
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 50; i++) {
    const before = process.hrtime.bigint();
    const perf = performance.now();
    const after = process.hrtime.bigint();
    const width = Number(after - before);
    if (width < best) {
      best = width;
      offset = Number(before) + width / 2 - perf * 1e6;
    }
  }
  return offset;
}
export function monotonicNs(): number {
  return monoOffsetNs + performance.now() * 1e6;
}
/** performance.now() (ms) → CLOCK_MONOTONIC ns. */
export function perfToMonotonicNs(perfMs: number): number {
  return monoOffsetNs + perfMs * 1e6;
}

export function writeProbeHeader(buf: Buffer, seq: number, sendNs: number, clock: number, stream: number): void {
  buf.writeUInt32BE(PROBE_MAGIC, OFF_MAGIC);
  buf.writeUInt32BE(seq >>> 0, OFF_SEQ);
  const hi = Math.floor(sendNs / 4294967296);
  buf.writeUInt32BE(hi >>> 0, OFF_SEND_NS);
  buf.writeUInt32BE((sendNs - hi * 4294967296) >>> 0, OFF_SEND_NS + 4);
  buf.writeUInt32BE(clock >>> 0, OFF_CLOCK_ID);
  buf.writeUInt32BE(stream >>> 0, OFF_STREAM_ID);
}

/** Reads a probe header without allocating; false when `data` is not a probe packet. */
export interface ProbeHeader {
  seq: number;
  sendNs: number;
  clockId: number;
  streamId: number;
}

export function readProbeHeader(data: Buffer, out: ProbeHeader): boolean {
  if (data.length < PROBE_HEADER_BYTES) return false;
  if (data.readUInt32BE(OFF_MAGIC) !== PROBE_MAGIC) return false;
  out.seq = data.readUInt32BE(OFF_SEQ);
  out.sendNs = data.readUInt32BE(OFF_SEND_NS) * 4294967296 + data.readUInt32BE(OFF_SEND_NS + 4);
  out.clockId = data.readUInt32BE(OFF_CLOCK_ID);
  out.streamId = data.readUInt32BE(OFF_STREAM_ID);
  return true;
}
