import { open } from "node:fs/promises";
import { QoelabError } from "../errors.ts";
import type { CaptureInterface, CaptureSection, CaptureWarning, ReadFormat } from "./capture-format.ts";
import { CaptureParser, type CaptureParserOptions, type PacketCallback } from "./capture-parser.ts";
import type { PacketRecord } from "./record.ts";

/** Chunk size for file reads: large enough to amortise syscalls, small enough for the cache. */
export const READ_CHUNK_SIZE = 1024 * 1024;

export interface ReadOptions {
  /** A record cut short at the end of the file is reported as a warning instead of an error. */
  tolerateTruncatedTail?: boolean;
  /** Called after every non-packet unit (see `CaptureParserOptions.onBlock`). */
  onBlock?: CaptureParserOptions["onBlock"];
  /** Name used in error messages (defaults to the path). */
  name?: string;
}

export interface ReadSummary {
  format: ReadFormat | undefined;
  packets: number;
  /** Sum of captured lengths of the packets handed out. */
  bytes: number;
  interfaces: CaptureInterface[];
  sections: CaptureSection[];
  warnings: CaptureWarning[];
  /** True when the callback returned false. */
  stopped: boolean;
  truncatedTail: boolean;
  /** pcapng block counts besides packets and headers. */
  nameResolutionBlocks: number;
  statisticsBlocks: number;
  otherBlocks: number;
  /** Packets longer than their snaplen (read anyway). */
  oversizedPackets: number;
  /** Packets without a timestamp (pcapng Simple Packet Blocks). */
  untimedPackets: number;
}

function summarize(parser: CaptureParser, bytes: number): ReadSummary {
  return {
    format: parser.format,
    packets: parser.packets,
    bytes,
    interfaces: parser.interfaces,
    sections: parser.sections,
    warnings: parser.warnings,
    stopped: parser.isStopped,
    truncatedTail: parser.truncatedTail,
    nameResolutionBlocks: parser.nameResolutionBlocks,
    statisticsBlocks: parser.statisticsBlocks,
    otherBlocks: parser.otherBlocks,
    oversizedPackets: parser.oversizedPackets,
    untimedPackets: parser.untimedPackets,
  };
}

function openError(path: string, error: unknown): QoelabError {
  const code = (error as { code?: string }).code;
  return new QoelabError(
    code === "ENOENT" ? "PCAP_NOT_FOUND" : "PCAP_READ_FAILED",
    `${path}: cannot read capture (${(error as Error).message})`,
    { file: path, offset: 0 },
    { cause: error },
  );
}

/**
 * The fast callback API: streams `path` in 1 MiB chunks (two reused buffers, the next read runs while
 * the current chunk is parsed) and calls `onPacket` with one reused record. Return `false` to stop.
 */
export async function forEachPacket(
  path: string,
  onPacket: PacketCallback,
  options: ReadOptions = {},
): Promise<ReadSummary> {
  const parser = new CaptureParser({
    file: options.name ?? path,
    tolerateTruncatedTail: options.tolerateTruncatedTail ?? false,
    onBlock: options.onBlock,
  });
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw openError(path, error);
  }
  let bytes = 0;
  const counting: PacketCallback = (record, p) => {
    bytes += record.caplen;
    return onPacket(record, p);
  };
  try {
    // A small file gets small buffers (reading many small captures would otherwise churn 2 MiB each).
    const size = (await handle.stat()).size;
    const chunk = size < READ_CHUNK_SIZE ? Math.max(4096, size + 1) : READ_CHUNK_SIZE;
    const buffers = [new Uint8Array(chunk), new Uint8Array(chunk)] as const;
    let which = 0;
    let position = 0;
    let pending = handle.read(buffers[0], 0, chunk, position);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      position += bytesRead;
      const current = buffers[which]!;
      which ^= 1;
      pending = handle.read(buffers[which]!, 0, chunk, position);
      if (!parser.feed(bytesRead === chunk ? current : current.subarray(0, bytesRead), counting)) {
        await pending;
        break;
      }
    }
    parser.end();
  } finally {
    await handle.close();
  }
  return summarize(parser, bytes);
}

/** Parses an in-memory capture synchronously. */
export function readCaptureBytes(bytes: Uint8Array, onPacket: PacketCallback, options: ReadOptions = {}): ReadSummary {
  const parser = new CaptureParser({
    file: options.name ?? "<memory>",
    tolerateTruncatedTail: options.tolerateTruncatedTail ?? false,
    onBlock: options.onBlock,
  });
  let total = 0;
  parser.feed(bytes, (record, p) => {
    total += record.caplen;
    return onPacket(record, p);
  });
  parser.end();
  return summarize(parser, total);
}

/**
 * Parses a capture arriving on a stream (e.g. `tcpdump -w -` piped in). Live captures end
 * mid-record when the writer is killed, so a truncated tail is tolerated by default.
 */
export async function readCaptureStream(
  readable: NodeJS.ReadableStream | AsyncIterable<Uint8Array | string>,
  onPacket: PacketCallback,
  options: ReadOptions = {},
): Promise<ReadSummary> {
  const parser = new CaptureParser({
    file: options.name ?? "<stream>",
    tolerateTruncatedTail: options.tolerateTruncatedTail ?? true,
    onBlock: options.onBlock,
  });
  let bytes = 0;
  const counting: PacketCallback = (record, p) => {
    bytes += record.caplen;
    return onPacket(record, p);
  };
  for await (const chunk of readable as AsyncIterable<Uint8Array | string>) {
    if (typeof chunk === "string") {
      throw new QoelabError("PCAP_TEXT_STREAM", `${parser.file}: stream delivers text, not capture bytes`, {
        file: parser.file,
        offset: parser.offset,
      });
    }
    if (!parser.feed(chunk, counting)) break;
  }
  parser.end();
  return summarize(parser, bytes);
}

export interface CaptureReader extends AsyncIterable<PacketRecord> {
  readonly path: string;
  readonly format: ReadFormat;
  /** Interfaces seen so far (all of them once iteration has finished). */
  readonly interfaces: readonly CaptureInterface[];
  readonly sections: readonly CaptureSection[];
  readonly warnings: readonly CaptureWarning[];
  /** The parser, for raw unit access (`unitBuffer`…) during iteration. */
  readonly parser: CaptureParser;
  close(): Promise<void>;
}

/**
 * Opens a capture for pull-style iteration (`for await (const record of reader)`). The first chunk
 * is parsed up to the first packet, so `format`, `sections` and the leading `interfaces` are known
 * on return. The record is reused: copy it (`copyRecord`) to keep it past one iteration step.
 */
export async function openCapture(path: string, options: ReadOptions = {}): Promise<CaptureReader> {
  const parser = new CaptureParser({
    file: options.name ?? path,
    tolerateTruncatedTail: options.tolerateTruncatedTail ?? false,
    onBlock: options.onBlock,
  });
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(path, "r");
  } catch (error) {
    throw openError(path, error);
  }
  const buffer = new Uint8Array(READ_CHUNK_SIZE);
  let position = 0;
  let eof = false;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await handle?.close();
  };
  /** Pushes the next chunk; false at end of file. */
  const fill = async (): Promise<boolean> => {
    if (eof || closed) return false;
    const { bytesRead } = await handle!.read(buffer, 0, READ_CHUNK_SIZE, position);
    if (bytesRead === 0) {
      eof = true;
      return false;
    }
    position += bytesRead;
    parser.push(bytesRead === READ_CHUNK_SIZE ? buffer : buffer.subarray(0, bytesRead));
    return true;
  };
  let primed = false;
  try {
    for (;;) {
      if (parser.next()) {
        primed = true;
        break;
      }
      if (!(await fill())) {
        parser.end();
        break;
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  const format = parser.format;
  if (format === undefined) {
    await close();
    throw new QoelabError("PCAP_TRUNCATED", `${path}: no capture header`, { file: path, offset: 0 });
  }
  const reader: CaptureReader = {
    path,
    format,
    interfaces: parser.interfaces,
    sections: parser.sections,
    warnings: parser.warnings,
    parser,
    close,
    async *[Symbol.asyncIterator](): AsyncGenerator<PacketRecord> {
      try {
        if (primed) {
          primed = false;
          yield parser.record;
        }
        for (;;) {
          while (parser.next()) yield parser.record;
          if (!(await fill())) break;
        }
        if (!closed) parser.end();
      } finally {
        await close();
      }
    },
  };
  return reader;
}
