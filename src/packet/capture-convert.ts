import { open, rm } from "node:fs/promises";
import type { Writable } from "node:stream";
import { QoelabError } from "../errors.ts";
import { readU32 } from "./byte-order.ts";
import type { CaptureFormat } from "./capture-format.ts";
import type { CaptureParser } from "./capture-parser.ts";
import { forEachPacket, type ReadOptions, type ReadSummary } from "./capture-reader.ts";
import { type CaptureWriter, createCaptureWriter, createRawCaptureWriter } from "./capture-writer.ts";
import { linkTypeName } from "./link-type.ts";
import { PcapngBlockType } from "./pcapng-reader.ts";
import type { PacketRecord } from "./record.ts";

/** Copying and converting capture files: raw passthrough when the format stays, re-encoding when it changes. */

export interface CopyOptions extends ReadOptions {
  /** Keep this packet? (all when absent). Every non-packet block is always kept. */
  keep?: (record: PacketRecord, parser: CaptureParser) => boolean;
}

export interface CopySummary {
  read: ReadSummary;
  /** Packets written. */
  written: number;
}

/** Reads the first 4 bytes and names the format (PCAP_BAD_MAGIC / PCAP_TRUNCATED otherwise). */
export async function detectCaptureFormat(path: string): Promise<CaptureFormat> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw new QoelabError("PCAP_NOT_FOUND", `${path}: cannot read capture (${(error as Error).message})`, {
      file: path,
      offset: 0,
    });
  }
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    if (bytesRead < 4) {
      throw new QoelabError("PCAP_TRUNCATED", `${path}: too short for a capture header at byte 0`, {
        file: path,
        offset: 0,
      });
    }
    const be = readU32(head, 0);
    if (be === PcapngBlockType.SHB) return "pcapng";
    if ([0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1].includes(be)) return "pcap";
    const hex = be.toString(16).padStart(8, "0");
    throw new QoelabError("PCAP_BAD_MAGIC", `${path}: not a pcap or pcapng file (magic 0x${hex}) at byte 0`, {
      file: path,
      offset: 0,
    });
  } finally {
    await handle.close();
  }
}

/**
 * Copies a capture block by block, bytes unchanged (options, NRB, ISB, custom and unknown blocks,
 * byte order): without `keep` the output is byte-identical. With `keep`, dropped packets leave a
 * valid file; a section header's explicit section length is then set to -1 (unspecified).
 */
export async function copyCapture(
  inPath: string,
  out: string | Writable,
  options: CopyOptions = {},
): Promise<CopySummary> {
  const writer = createRawCaptureWriter(out);
  const keep = options.keep;
  let written = 0;
  try {
    const read = await forEachPacket(
      inPath,
      (record, parser) => {
        if (keep === undefined || keep(record, parser)) {
          writer.writeRaw(parser.unitBuffer, parser.unitOffset, parser.unitLength);
          written++;
        }
      },
      {
        ...options,
        onBlock: (parser) => {
          options.onBlock?.(parser);
          if (keep !== undefined && parser.unitType === PcapngBlockType.SHB) {
            const section = parser.sections[parser.sections.length - 1];
            if (section !== undefined && section.sectionLength !== -1) {
              const copy = parser.unitBuffer.slice(parser.unitOffset, parser.unitOffset + parser.unitLength);
              copy.fill(0xff, 16, 24);
              writer.writeRaw(copy);
              return;
            }
          }
          writer.writeRaw(parser.unitBuffer, parser.unitOffset, parser.unitLength);
        },
      },
    );
    await writer.close();
    return { read, written };
  } catch (error) {
    await writer.close().catch(() => {});
    if (typeof out === "string") await rm(out, { force: true });
    throw error;
  }
}

export interface ConvertOptions extends ReadOptions {
  /** Output format; default from the output extension (.pcapng / .ntar → pcapng, else pcap). */
  format?: CaptureFormat;
}

export interface ConvertSummary extends CopySummary {
  inputFormat: CaptureFormat;
  outputFormat: CaptureFormat;
  /** True when blocks were copied unchanged (same format in and out). */
  passthrough: boolean;
}

/** The snaplen editcap and tcpdump write when none limits the capture. */
const PCAP_DEFAULT_SNAPLEN = 262_144;

/**
 * The snaplen of a pcap made from pcapng interfaces: 262,144 as editcap writes (or a larger
 * interface's), so that no packet of an interface described later in the file is cut, whatever
 * the snaplens of those described so far.
 */
function pcapSnaplen(interfaces: readonly { snaplen: number }[]): number {
  return interfaces.reduce((m, i) => Math.max(m, i.snaplen), PCAP_DEFAULT_SNAPLEN);
}

export function formatForPath(path: string): CaptureFormat {
  return /\.(pcapng|ntar)(\.|$)/i.test(path) ? "pcapng" : "pcap";
}

/**
 * pcap ↔ pcapng. Same format: byte-identical copy. pcap → pcapng: one interface with the pcap link
 * type, snaplen and precision. pcapng → pcap: all interfaces must share one link type
 * (PCAP_SEVERAL_LINK_TYPES otherwise) and their packets become the pcap's, whichever interface
 * they came by; nanosecond pcap when any interface is finer than µs (editcap -F pcap would cut them
 * to µs).
 */
export async function convertCapture(
  inPath: string,
  outPath: string,
  options: ConvertOptions = {},
): Promise<ConvertSummary> {
  const inputFormat = await detectCaptureFormat(inPath);
  const outputFormat = options.format ?? formatForPath(outPath);
  if (inputFormat === outputFormat) {
    const copied = await copyCapture(inPath, outPath, options);
    return { ...copied, inputFormat, outputFormat, passthrough: true };
  }
  let writer: CaptureWriter | undefined;
  let pcapLinkType = -1;
  const openPcapFrom = (parser: CaptureParser): CaptureWriter => {
    const linkTypes = [...new Set(parser.interfaces.map((i) => i.linkType))];
    if (linkTypes.length > 1) severalLinkTypes(inPath, linkTypes);
    const first = parser.interfaces[0];
    pcapLinkType = first?.linkType ?? 1;
    return createCaptureWriter(outPath, {
      format: "pcap",
      linkType: pcapLinkType,
      snaplen: pcapSnaplen(parser.interfaces),
      nanosecond: parser.interfaces.some((i) => i.tsUnitsPerSecond > 1_000_000),
    });
  };
  try {
    const read = await forEachPacket(
      inPath,
      (record, parser) => {
        if (writer === undefined) writer = openPcapFrom(parser);
        if (outputFormat === "pcap" && record.linkType !== pcapLinkType) {
          severalLinkTypes(inPath, [pcapLinkType, record.linkType]);
        }
        writer.writePacket(record);
      },
      {
        ...options,
        onBlock: (parser) => {
          options.onBlock?.(parser);
          if (outputFormat === "pcapng" && writer === undefined && parser.interfaces.length > 0) {
            const i = parser.interfaces[0]!;
            writer = createCaptureWriter(outPath, {
              format: "pcapng",
              interfaces: [{ linkType: i.linkType, snaplen: i.snaplen, tsresol: i.tsresol }],
            });
          }
        },
      },
    );
    if (writer === undefined) {
      // No packets: still write a valid, empty file.
      const i = read.interfaces[0];
      writer = createCaptureWriter(outPath, {
        format: outputFormat,
        linkType: i?.linkType ?? 1,
        snaplen: outputFormat === "pcap" ? pcapSnaplen(read.interfaces) : i?.snaplen || PCAP_DEFAULT_SNAPLEN,
        nanosecond: (i?.tsUnitsPerSecond ?? 0) > 1_000_000,
      });
    }
    const written = writer.packets;
    await writer.close();
    return { read, written, inputFormat, outputFormat, passthrough: false };
  } catch (error) {
    await writer?.close().catch(() => {});
    await rm(outPath, { force: true });
    throw error;
  }
}

function severalLinkTypes(file: string, linkTypes: number[]): never {
  const names = linkTypes.map(linkTypeName).join(", ");
  throw new QoelabError(
    "PCAP_SEVERAL_LINK_TYPES",
    `${file}: interfaces have several link types (${names}); a pcap file holds one, keep pcapng`,
    { file, linkTypes },
  );
}
