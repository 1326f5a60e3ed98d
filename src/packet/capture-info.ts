import { stat } from "node:fs/promises";
import type { ByteOrder, CaptureWarning, ReadFormat } from "./capture-format.ts";
import { forEachPacket, type ReadOptions } from "./capture-reader.ts";
import { linkTypeName } from "./link-type.ts";

/** capinfos-like summary of a capture file. Rates use wire bytes over the first→last packet span, as capinfos does. */

export interface CaptureTime {
  sec: number;
  nsec: number;
}

export interface InterfaceInfo {
  id: number;
  section: number;
  linkType: number;
  linkTypeName: string;
  snaplen: number;
  tsUnitsPerSecond: number;
  /** "microseconds", "nanoseconds", or e.g. "10^-3 s" / "2^-20 s". */
  timePrecision: string;
  name?: string;
  description?: string;
  filter?: string;
  os?: string;
  comments: string[];
  packets: number;
  /** Captured bytes (sum of caplen). */
  capturedBytes: number;
  /** Bytes on the wire (sum of origlen). */
  bytes: number;
}

export interface CaptureInfo {
  file: string;
  format: ReadFormat;
  byteOrder: ByteOrder;
  fileSize: number;
  packets: number;
  /** Data size as capinfos reports it: the sum of wire lengths. */
  bytes: number;
  /** Sum of captured lengths. */
  capturedBytes: number;
  /**
   * Earliest and latest packet timestamps: null without packets, or when some packet has no
   * timestamp (pcapng Simple Packet Blocks), as capinfos then shows none.
   */
  firstTime: CaptureTime | null;
  lastTime: CaptureTime | null;
  /** Seconds between first and last packet (null when no packet has a time, an empty capture included). */
  duration: number | null;
  /** Rates over `duration` (null when packets have no times; 0 for an empty capture). */
  byteRate: number | null;
  bitRate: number | null;
  averagePacketSize: number;
  packetRate: number | null;
  /** null when some packet has no timestamp (capinfos: "Unknown"). */
  strictTimeOrder: boolean | null;
  /** Packets without a timestamp (pcapng Simple Packet Blocks). */
  untimedPackets: number;
  /** Packets whose captured length exceeds the snaplen (read anyway, as capinfos and tshark do). */
  oversizedPackets: number;
  linkTypes: number[];
  linkTypeNames: string[];
  /** pcap header snaplen, or the largest interface snaplen for pcapng. */
  snaplen: number;
  /** Common time precision, or "mixed". */
  timePrecision: string;
  sections: number;
  userApplication?: string;
  os?: string;
  hardware?: string;
  comments: string[];
  interfaces: InterfaceInfo[];
  nameResolutionBlocks: number;
  statisticsBlocks: number;
  otherBlocks: number;
  warnings: CaptureWarning[];
}

export function timePrecisionName(tsresol: number): string {
  if (tsresol === 6) return "microseconds";
  if (tsresol === 9) return "nanoseconds";
  if (tsresol === 3) return "milliseconds";
  if (tsresol === 0) return "seconds";
  return tsresol & 0x80 ? `2^-${tsresol & 0x7f} s` : `10^-${tsresol} s`;
}

/**
 * Formats a timestamp as UTC `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` for any second count a capture can
 * hold (a 64-bit pcapng timestamp reaches year 586524, far past what `Date` takes), by the
 * proleptic Gregorian calendar (days to civil date, H. Hinnant's algorithm).
 */
export function formatUtcTime(time: CaptureTime): string {
  const days = Math.floor(time.sec / 86400);
  const ofDay = time.sec - days * 86400;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shiftedMonth = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shiftedMonth + 2) / 5) + 1;
  const month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${two(Math.floor(ofDay / 3600))}:${two(Math.floor(ofDay / 60) % 60)}:${two(ofDay % 60)}`;
  return `${String(year).padStart(4, "0")}-${two(month)}-${two(day)} ${clock}.${String(time.nsec).padStart(9, "0")}`;
}

/** Formats a timestamp as `sec.nnnnnnnnn` (exact; what tshark prints as frame.time_epoch). */
export function formatEpoch(time: CaptureTime): string {
  return `${time.sec}.${String(time.nsec).padStart(9, "0")}`;
}

/** Reads the whole file once and summarizes it. A truncated tail is tolerated and reported as a warning. */
export async function captureInfo(path: string, options: ReadOptions = {}): Promise<CaptureInfo> {
  const counts: number[] = [];
  const captured: number[] = [];
  const wire: number[] = [];
  let packets = 0;
  let timed = 0;
  let bytes = 0;
  let capturedBytes = 0;
  let firstSec = 0;
  let firstNsec = 0;
  let lastSec = 0;
  let lastNsec = 0;
  let prevSec = -Infinity;
  let prevNsec = 0;
  let strict = true;
  const summary = await forEachPacket(
    path,
    (r) => {
      const id = r.interfaceId;
      while (counts.length <= id) {
        counts.push(0);
        captured.push(0);
        wire.push(0);
      }
      counts[id]!++;
      captured[id]! += r.caplen;
      wire[id]! += r.origlen;
      bytes += r.origlen;
      capturedBytes += r.caplen;
      packets++;
      if (r.hasTimestamp === false) return;
      const sec = r.tsSec;
      const nsec = r.tsNsec;
      if (timed++ === 0) {
        firstSec = lastSec = sec;
        firstNsec = lastNsec = nsec;
      } else {
        if (sec < firstSec || (sec === firstSec && nsec < firstNsec)) {
          firstSec = sec;
          firstNsec = nsec;
        }
        if (sec > lastSec || (sec === lastSec && nsec > lastNsec)) {
          lastSec = sec;
          lastNsec = nsec;
        }
      }
      if (sec < prevSec || (sec === prevSec && nsec < prevNsec)) strict = false;
      prevSec = sec;
      prevNsec = nsec;
    },
    { tolerateTruncatedTail: true, ...options },
  );
  const fileSize = (await stat(path)).size;
  // capinfos shows no times once a packet lacks one.
  const timesKnown = packets > 0 && timed === packets;
  // No packet with a time: no duration (capinfos: n/a); the rates of an empty capture are 0, as capinfos prints them.
  const duration = timesKnown ? lastSec - firstSec + (lastNsec - firstNsec) / 1e9 : null;
  const rate = (amount: number) =>
    duration === null ? (packets > 0 ? null : 0) : duration > 0 ? amount / duration : 0;
  const interfaces: InterfaceInfo[] = summary.interfaces.map((i) => {
    const info: InterfaceInfo = {
      id: i.id,
      section: i.section,
      linkType: i.linkType,
      linkTypeName: linkTypeName(i.linkType),
      snaplen: i.snaplen,
      tsUnitsPerSecond: i.tsUnitsPerSecond,
      timePrecision: timePrecisionName(i.tsresol),
      comments: i.comments,
      packets: counts[i.id] ?? 0,
      capturedBytes: captured[i.id] ?? 0,
      bytes: wire[i.id] ?? 0,
    };
    if (i.name !== undefined) info.name = i.name;
    if (i.description !== undefined) info.description = i.description;
    if (i.filter !== undefined) info.filter = i.filter;
    if (i.os !== undefined) info.os = i.os;
    return info;
  });
  const linkTypes = [...new Set(interfaces.map((i) => i.linkType))];
  const precisions = [...new Set(interfaces.map((i) => i.timePrecision))];
  const first = summary.sections[0];
  const info: CaptureInfo = {
    file: path,
    format: summary.format ?? "pcap",
    byteOrder: first?.byteOrder ?? "le",
    fileSize,
    packets,
    bytes,
    capturedBytes,
    firstTime: timesKnown ? { sec: firstSec, nsec: firstNsec } : null,
    lastTime: timesKnown ? { sec: lastSec, nsec: lastNsec } : null,
    duration,
    byteRate: rate(bytes),
    bitRate: rate(bytes * 8),
    averagePacketSize: packets > 0 ? bytes / packets : 0,
    packetRate: rate(packets),
    strictTimeOrder: timed === packets ? strict : null,
    untimedPackets: summary.untimedPackets,
    oversizedPackets: summary.oversizedPackets,
    linkTypes,
    linkTypeNames: linkTypes.map(linkTypeName),
    snaplen: interfaces.reduce((m, i) => Math.max(m, i.snaplen), 0),
    timePrecision: precisions.length === 1 ? precisions[0]! : precisions.length === 0 ? "" : "mixed",
    sections: summary.sections.length,
    comments: summary.sections.flatMap((s) => s.comments),
    interfaces,
    nameResolutionBlocks: summary.nameResolutionBlocks,
    statisticsBlocks: summary.statisticsBlocks,
    otherBlocks: summary.otherBlocks,
    warnings: summary.warnings,
  };
  if (first?.userApplication !== undefined) info.userApplication = first.userApplication;
  if (first?.os !== undefined) info.os = first.os;
  if (first?.hardware !== undefined) info.hardware = first.hardware;
  return info;
}
