import { anomaly, type ChecksumStatus, type DecodeInfo, type LayerAnomaly } from "../anomaly.ts";
import { readU16, readU32, writeU16, writeU32 } from "../byte-order.ts";
import type { PseudoHeader } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer, transportDecoder } from "../layer-def.ts";
import { TcpFlag, TcpOptionKind } from "../protocol-numbers.ts";
import { checksumMeaning, showHex, showNum } from "../show-format.ts";
import type { TransportContext } from "../transport-context.ts";
import { type PseudoChecksumField, pseudoHeaderChecksum, verifyPseudoHeaderChecksum } from "./checksum-field.ts";
import { headerLayout } from "./header-layout.ts";
import { decodeOptionList, encodeOptionList, type OptionListFormat } from "./option-list.ts";

/*
 * TCP header (RFC 9293 §3.1):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Source Port          |       Destination Port        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                        Sequence Number                        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                    Acknowledgment Number                      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Data |       |C|E|U|A|P|R|S|F|                               |
 * | Offset| Rsrvd |W|C|R|C|S|S|Y|I|            Window             |
 * |       |       |R|E|G|K|H|T|N|N|                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Checksum            |         Urgent Pointer        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           [Options]                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The lowest reserved bit was NS (RFC 3540, historic) and is AE in AccECN; `flags` keeps all
 * 12 bits after the data offset, as tshark's `tcp.flags`.
 */

/** The fixed header; options follow it. */
const TCP = headerLayout({ sport: 2, dport: 2, seq: 4, ack: 4, offsetFlags: 2, window: 2, checksum: 2, urgent: 2 });
export const TCP_HEADER_SIZE = TCP.size;
export const TCP_MAX_HEADER_SIZE = 60;
export const IP_PROTOCOL_TCP = 6;
const TCP_CHECKSUM: PseudoChecksumField = { what: "TCP", protocol: IP_PROTOCOL_TCP, at: TCP.checksum };

/** TcpFlag under its older name. */
export const TcpFlagBit = TcpFlag;

const flagLetters: readonly [number, string, string][] = [
  [0x001, "F", "FIN"],
  [0x002, "S", "SYN"],
  [0x004, "R", "RST"],
  [0x008, "P", "PSH"],
  [0x010, "A", "ACK"],
  [0x020, "U", "URG"],
  [0x040, "E", "ECE"],
  [0x080, "C", "CWR"],
  [0x100, "N", "AE"],
];

const optionNames = new Map<number, string>([
  [0, "EOL"],
  [1, "NOP"],
  [2, "MSS"],
  [3, "WScale"],
  [4, "SAckOK"],
  [5, "SAck"],
  [8, "Timestamp"],
  [19, "MD5"],
  [28, "UTO"],
  [29, "TCP-AO"],
  [30, "MPTCP"],
  [34, "TFO"],
  [253, "Experimental"],
  [254, "Experimental"],
]);

/**
 * One option: `kind`, then (except EOL/NOP) a length byte = data.length + 2, then `data`.
 * EOL carries the rest of the option area as `data`; `raw` marks a malformed option whose
 * bytes after the kind are kept verbatim, so re-encoding is byte-exact.
 */
export interface TcpOption {
  kind: number;
  data: Uint8Array;
  raw?: boolean;
}

export interface TcpFields {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** Header length in 32-bit words; computed from the options when undefined. */
  dataOffset?: number;
  /** The 12 bits after the data offset (reserved, AE, CWR … FIN). */
  flags: number;
  window: number;
  /** Computed when undefined and addresses are known. */
  checksum?: number;
  urgentPointer: number;
  options: TcpOption[];
}

export interface DecodedTcp extends TcpFields, DecodeInfo {
  dataOffset: number;
  checksum: number;
  checksumStatus: ChecksumStatus;
  /** Segment payload bytes per the IP length (what was on the wire). */
  payloadLength: number;
}

export function decodeTcp(bytes: Uint8Array, offset: number, end: number, context?: TransportContext): DecodedTcp {
  const available = end - offset;
  const anomalies: LayerAnomaly[] = [];
  const offsetFlags = readU16(bytes, offset + TCP.offsetFlags);
  const dataOffset = offsetFlags >> 12;
  const headerBytes = dataOffset * 4;
  const segmentLength = context?.length ?? available;
  let complete = true;
  if (available < TCP_HEADER_SIZE) {
    anomalies.push(anomaly("truncated", `TCP header needs 20 bytes, ${available} captured`));
    complete = false;
  } else if (dataOffset < 5) {
    anomalies.push(anomaly("bad-length", `TCP data offset ${dataOffset} (${headerBytes} bytes) < 5`));
    complete = false;
  } else if (headerBytes > segmentLength && !context?.quoted) {
    anomalies.push(anomaly("bad-length", `TCP header length ${headerBytes} > segment length ${segmentLength}`));
    complete = false;
  } else if (available < headerBytes) {
    anomalies.push(anomaly("truncated", `TCP header with options needs ${headerBytes} bytes, ${available} captured`));
    complete = false;
  }
  const checksum = readU16(bytes, offset + TCP.checksum);
  let checksumStatus: ChecksumStatus = "unverified";
  let options: TcpOption[] = [];
  if (complete) {
    options = decodeTcpOptions(bytes, offset + TCP.size, offset + headerBytes, anomalies);
    checksumStatus = verifyPseudoHeaderChecksum(TCP_CHECKSUM, bytes, offset, end, segmentLength, context, anomalies);
  }
  return {
    sport: readU16(bytes, offset + TCP.sport),
    dport: readU16(bytes, offset + TCP.dport),
    seq: readU32(bytes, offset + TCP.seq),
    ack: readU32(bytes, offset + TCP.ack),
    dataOffset,
    flags: offsetFlags & 0x0fff,
    window: readU16(bytes, offset + TCP.window),
    checksum,
    urgentPointer: readU16(bytes, offset + TCP.urgent),
    options,
    checksumStatus,
    payloadLength: Math.max(0, segmentLength - headerBytes),
    headerLength: complete ? headerBytes : Math.max(0, Math.min(available, TCP_HEADER_SIZE)),
    complete,
    anomalies,
  };
}

const TCP_OPTIONS: OptionListFormat = { protocol: "TCP", codeName: "kind", names: optionNames, lengthFits };

function decodeTcpOptions(bytes: Uint8Array, start: number, end: number, anomalies: LayerAnomaly[]): TcpOption[] {
  return decodeOptionList(bytes, start, end, anomalies, TCP_OPTIONS, (kind, data, raw) =>
    raw ? { kind, data, raw } : { kind, data },
  );
}

function lengthFits(kind: number, length: number): boolean {
  switch (kind) {
    case TcpOptionKind.MSS:
      return length === 4;
    case TcpOptionKind.WINDOW_SCALE:
      return length === 3;
    case TcpOptionKind.SACK_PERMITTED:
      return length === 2;
    case TcpOptionKind.SACK:
      return length >= 10 && (length - 2) % 8 === 0;
    case TcpOptionKind.TIMESTAMPS:
      return length === 10;
    default:
      return true;
  }
}

export function encodeTcpOptions(options: readonly TcpOption[]): Uint8Array {
  return encodeOptionList(options, (option) => option.kind);
}

export function tcpHeaderSize(fields: Pick<TcpFields, "options">): number {
  return TCP_HEADER_SIZE + Math.ceil(encodeTcpOptions(fields.options).length / 4) * 4;
}

/** `pseudo` (the IP addresses) enables the checksum; without it the checksum is 0 unless given. */
export function encodeTcp(fields: TcpFields, payload: Uint8Array, pseudo?: PseudoHeader): Uint8Array {
  const optionBytes = encodeTcpOptions(fields.options);
  const headerBytes = TCP_HEADER_SIZE + Math.ceil(optionBytes.length / 4) * 4;
  const out = new Uint8Array(headerBytes + payload.length);
  writeU16(out, TCP.sport, fields.sport);
  writeU16(out, TCP.dport, fields.dport);
  writeU32(out, TCP.seq, fields.seq >>> 0);
  writeU32(out, TCP.ack, fields.ack >>> 0);
  writeU16(out, TCP.offsetFlags, (((fields.dataOffset ?? headerBytes / 4) & 0x0f) << 12) | (fields.flags & 0x0fff));
  writeU16(out, TCP.window, fields.window);
  writeU16(out, TCP.urgent, fields.urgentPointer);
  out.set(optionBytes, TCP.size);
  out.set(payload, headerBytes);
  writeU16(out, TCP.checksum, fields.checksum ?? pseudoHeaderChecksum(out, pseudo, TCP_CHECKSUM));
  return out;
}

/** Parses "SA", "S", "FPA", a number or "0x012" into flag bits. */
export function parseTcpFlags(text: string | number): number {
  if (typeof text === "number") return text;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(text)) return Number(text);
  let flags = 0;
  for (const ch of text.toUpperCase()) {
    const entry = flagLetters.find(([, letter]) => letter === ch);
    if (entry === undefined) throw new RangeError(`unknown TCP flag letter "${ch}" (use F S R P A U E C N)`);
    flags |= entry[0];
  }
  return flags;
}

/** Scapy-style letters: "S", "SA", "PA", "FA". */
export function tcpFlagLetters(flags: number): string {
  return flagLetters
    .filter(([bit]) => flags & bit)
    .map(([, letter]) => letter)
    .join("");
}

export function tcpFlagNames(flags: number): string[] {
  const names = flagLetters.filter(([bit]) => flags & bit).map(([, , name]) => name);
  if (flags & 0xe00) names.push(`reserved 0x${(flags & 0xe00).toString(16)}`);
  return names;
}

export function tcpOptionName(kind: number): string {
  return optionNames.get(kind) ?? `unknown (${kind})`;
}

/** Builder helpers, e.g. `tcp({flags: "S", options: [tcpOption.mss(1460), tcpOption.sackPermitted()]})`. */
export const tcpOption = {
  eol: (padding = 0): TcpOption => ({ kind: 0, data: new Uint8Array(padding) }),
  nop: (): TcpOption => ({ kind: 1, data: new Uint8Array(0) }),
  mss: (value: number): TcpOption => ({ kind: 2, data: Uint8Array.of(value >> 8, value & 0xff) }),
  windowScale: (shift: number): TcpOption => ({ kind: 3, data: Uint8Array.of(shift) }),
  sackPermitted: (): TcpOption => ({ kind: 4, data: new Uint8Array(0) }),
  sack: (blocks: readonly (readonly [number, number])[]): TcpOption => {
    const data = new Uint8Array(8 * blocks.length);
    blocks.forEach(([left, right], i) => {
      writeU32(data, 8 * i, left >>> 0);
      writeU32(data, 8 * i + 4, right >>> 0);
    });
    return { kind: 5, data };
  },
  timestamps: (value: number, echoReply: number): TcpOption => {
    const data = new Uint8Array(8);
    writeU32(data, 0, value >>> 0);
    writeU32(data, 4, echoReply >>> 0);
    return { kind: 8, data };
  },
  /** Any option kind with raw data bytes (for unknown or experimental kinds). */
  other: (kind: number, data: Uint8Array): TcpOption => ({ kind, data }),
};

/** Values of the well-known options, for display and comparisons. */
export function tcpOptionValue(option: TcpOption): string {
  const d = option.data;
  if (option.raw) return `malformed, ${d.length} bytes kept`;
  switch (option.kind) {
    case TcpOptionKind.MSS:
      return String(readU16(d, 0));
    case TcpOptionKind.WINDOW_SCALE:
      return `${d[0] ?? 0} (×${2 ** Math.min(d[0] ?? 0, 14)})`;
    case TcpOptionKind.SACK: {
      const blocks: string[] = [];
      for (let i = 0; i + 8 <= d.length; i += 8) blocks.push(`${readU32(d, i)}-${readU32(d, i + 4)}`);
      return blocks.join(" ");
    }
    case TcpOptionKind.TIMESTAMPS:
      return `TSval ${readU32(d, 0)} TSecr ${readU32(d, 4)}`;
    case TcpOptionKind.EOL:
      return d.length > 0 ? `+${d.length} padding bytes` : "";
    default:
      return d.length > 0 ? Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("") : "";
  }
}

/** Fast read of the TCP header at `p`: ports, sequence numbers, flags, window and payload extent. */
function fastTcp(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  out.l4Offset = p;
  if (end - p < TCP_HEADER_SIZE) return out.truncatedTransport(buffer, p, end);
  const length = out.l4Length;
  const view = out.viewFor(buffer);
  out.srcPort = view.getUint16(p + TCP.sport);
  out.dstPort = view.getUint16(p + TCP.dport);
  out.seq = view.getUint32(p + TCP.seq);
  out.ack = view.getUint32(p + TCP.ack);
  const headerLength = (buffer[p + TCP.offsetFlags]! >> 4) * 4;
  out.tcpFlags = buffer[p + TCP.offsetFlags + 1]!;
  out.window = view.getUint16(p + TCP.window);
  out.tcpHeaderLength = headerLength;
  if (headerLength < TCP_HEADER_SIZE || headerLength > length) {
    out.anomalies |= Anomaly.BAD_LENGTH;
    return -1;
  }
  if (end - p < headerLength) out.anomalies |= Anomaly.TRUNCATED;
  return out.setPayload(p + headerLength, length - headerLength, end);
}

export const tcpLayer = defineLayer({
  type: "TCP",
  info: { title: "TCP", tcpip: "transport", osi: 4 },
  ipProtocols: [IP_PROTOCOL_TCP],
  fast: fastTcp,
  fastNext: "payload",
  decodeTransport: transportDecoder(
    "TCP",
    decodeTcp,
    (w, d, offset, end, quoted) => w.app("TCP", offset + d.headerLength, end, d.sport, d.dport, quoted),
    "payloadLength",
  ),
  encode: (layer, payload, context) => encodeTcp(layer.fields, payload, context.pseudo()),
  size: (layer) => tcpHeaderSize(layer.fields),
  rows(layer) {
    const f = layer.fields;
    const rows: ShowRow[] = [
      ["sport", String(f.sport)],
      ["dport", String(f.dport)],
      ["seq", String(f.seq)],
      ["ack", String(f.ack)],
      ["dataOffset", showNum(f.dataOffset), f.dataOffset === undefined ? undefined : `${f.dataOffset * 4} bytes`],
      [
        "flags",
        showHex(f.flags, 3),
        `${tcpFlagLetters(f.flags) || "none"} (${tcpFlagNames(f.flags).join(", ") || "none"})`,
      ],
      ["window", String(f.window)],
      ["checksum", showHex(f.checksum, 4), checksumMeaning(layer.checksumStatus)],
      ["urgentPointer", String(f.urgentPointer)],
    ];
    f.options.forEach((o, i) => {
      const value = tcpOptionValue(o);
      rows.push([`options[${i}]`, tcpOptionName(o.kind), value || undefined]);
    });
    return rows;
  },
  summary: ({ fields: f }) =>
    `TCP ${f.sport} > ${f.dport} [${tcpFlagLetters(f.flags)}] seq=${f.seq}${f.flags & TcpFlag.ACK ? ` ack=${f.ack}` : ""} win=${f.window}`,
});
