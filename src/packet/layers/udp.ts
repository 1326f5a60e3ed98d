import { anomaly, type ChecksumStatus, type DecodeInfo, type LayerAnomaly } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import type { PseudoHeader } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { type DecodeWalker, defineLayer, transportDecoder } from "../layer-def.ts";
import { checksumMeaning, showHex, showNum } from "../show-format.ts";
import { type TransportContext, verifyTransportChecksum } from "../transport-context.ts";
import { badChecksum, pseudoHeaderChecksum } from "./checksum-field.ts";

/*
 * UDP header (RFC 768):
 *
 *  0      7 8     15 16    23 24    31
 * +--------+--------+--------+--------+
 * |     Source      |   Destination   |
 * |      Port       |      Port       |
 * +--------+--------+--------+--------+
 * |                 |                 |
 * |     Length      |    Checksum     |
 * +--------+--------+--------+--------+
 * Checksum over pseudo-header + header + data; 0 means "none" over IPv4 and is transmitted as
 * 0xffff when the computed value is 0. Over IPv6 it is mandatory (RFC 8200 §8.1).
 */

const SOURCE_PORT = 0;
const DESTINATION_PORT = 2;
const LENGTH = 4;
const CHECKSUM = 6;
export const UDP_HEADER_SIZE = 8;
export const IP_PROTOCOL_UDP = 17;

export interface UdpFields {
  sport: number;
  dport: number;
  /** Header + payload; computed when undefined. */
  length?: number;
  /** Computed when undefined and addresses are known (else 0, "none"). */
  checksum?: number;
}

export interface DecodedUdp extends UdpFields, DecodeInfo {
  length: number;
  checksum: number;
  checksumStatus: ChecksumStatus;
  /** Payload bytes per the header (bounded by the IP length when the UDP length is impossible). */
  payloadLength: number;
}

export function decodeUdp(bytes: Uint8Array, offset: number, end: number, context?: TransportContext): DecodedUdp {
  const available = end - offset;
  const anomalies: LayerAnomaly[] = [];
  const complete = available >= UDP_HEADER_SIZE;
  const length = readU16(bytes, offset + LENGTH);
  const checksum = readU16(bytes, offset + CHECKSUM);
  const ipLength = context?.length ?? available;
  let payloadLength = Math.max(0, Math.min(available, ipLength) - UDP_HEADER_SIZE);
  let checksumStatus: ChecksumStatus = "unverified";
  if (!complete) {
    anomalies.push(anomaly("truncated", `UDP header needs 8 bytes, ${available} captured`));
  } else if (length < UDP_HEADER_SIZE || (length > ipLength && !context?.quoted)) {
    anomalies.push(anomaly("bad-length", `UDP length ${length} (IP payload ${ipLength} bytes)`));
  } else {
    payloadLength = length - UDP_HEADER_SIZE;
    const v6 = context?.pseudo.src.length === 16;
    if (checksum === 0 && !v6) {
      checksumStatus = "not-present";
    } else {
      const check = verifyTransportChecksum(bytes, offset, end, length, offset + CHECKSUM, IP_PROTOCOL_UDP, context);
      checksumStatus = check.status;
      // A computed 0 is sent as 0xffff (0 means "none").
      const expected = check.expected === 0 ? 0xffff : check.expected;
      if (check.status === "bad") anomalies.push(badChecksum("UDP", checksum, expected, check.partial));
    }
  }
  return {
    sport: readU16(bytes, offset + SOURCE_PORT),
    dport: readU16(bytes, offset + DESTINATION_PORT),
    length,
    checksum,
    checksumStatus,
    payloadLength,
    headerLength: Math.min(Math.max(available, 0), UDP_HEADER_SIZE),
    complete,
    anomalies,
  };
}

/** `pseudo` (the IP addresses) enables the checksum; without it the checksum is 0 unless given. */
export function encodeUdp(fields: UdpFields, payload: Uint8Array, pseudo?: PseudoHeader): Uint8Array {
  const out = new Uint8Array(UDP_HEADER_SIZE + payload.length);
  const length = fields.length ?? out.length;
  writeU16(out, SOURCE_PORT, fields.sport);
  writeU16(out, DESTINATION_PORT, fields.dport);
  writeU16(out, LENGTH, length);
  out.set(payload, UDP_HEADER_SIZE);
  // 0 means "none" (all that goes out without the addresses): a computed 0 is sent as 0xffff.
  const computed = pseudoHeaderChecksum(out, pseudo, IP_PROTOCOL_UDP, length);
  writeU16(out, CHECKSUM, fields.checksum ?? (computed === 0 && pseudo !== undefined ? 0xffff : computed));
  return out;
}

/** Fast read of the UDP header at `p`: ports and payload extent. */
function fastUdp(buffer: Uint8Array, p: number, end: number, out: Dissection): number {
  out.l4Offset = p;
  if (end - p < UDP_HEADER_SIZE) return out.truncatedTransport(buffer, p, end);
  const length = out.l4Length;
  out.srcPort = (buffer[p]! << 8) | buffer[p + 1]!;
  out.dstPort = (buffer[p + 2]! << 8) | buffer[p + 3]!;
  const udpLength = (buffer[p + 4]! << 8) | buffer[p + 5]!;
  out.udpLength = udpLength;
  if (udpLength < UDP_HEADER_SIZE || udpLength > length) out.anomalies |= Anomaly.BAD_LENGTH;
  // Like tshark, trust the IP length when the UDP length is impossible.
  const payloadLength = (udpLength >= UDP_HEADER_SIZE && udpLength <= length ? udpLength : length) - UDP_HEADER_SIZE;
  return out.setPayload(p + UDP_HEADER_SIZE, payloadLength, end);
}

/** The datagram's payload (application layers) and any bytes the IP packet holds after it. */
function decodeDatagram(
  w: DecodeWalker,
  d: DecodedUdp,
  offset: number,
  end: number,
  quoted: boolean,
  context: TransportContext,
): void {
  const lengthOk = d.length >= UDP_HEADER_SIZE && d.length <= context.length;
  const datagramEnd = lengthOk ? Math.min(end, offset + d.length) : end;
  w.app("UDP", offset + UDP_HEADER_SIZE, datagramEnd, d.sport, d.dport, quoted);
  if (datagramEnd < end) {
    const extra = end - datagramEnd;
    const note = anomaly(
      "trailing-bytes",
      `${extra} bytes after the UDP datagram (length ${d.length}) inside the IP packet`,
    );
    w.raw(datagramEnd, end, quoted, undefined, quoted ? [] : [note]);
  }
}

export const udpLayer = defineLayer({
  type: "UDP",
  info: { title: "UDP", tcpip: "transport", osi: 4 },
  ipProtocols: [IP_PROTOCOL_UDP],
  fast: fastUdp,
  fastNext: "payload",
  decodeTransport: transportDecoder("UDP", decodeUdp, decodeDatagram, "payloadLength"),
  encode: (layer, payload, context) => encodeUdp(layer.fields, payload, context.pseudo()),
  size: () => UDP_HEADER_SIZE,
  rows: (layer) => {
    const f = layer.fields;
    return [
      ["sport", String(f.sport)],
      ["dport", String(f.dport)],
      ["length", showNum(f.length), f.length === undefined ? undefined : `${f.length - UDP_HEADER_SIZE} payload bytes`],
      [
        "checksum",
        showHex(f.checksum, 4),
        layer.checksumStatus === "not-present"
          ? "none (not computed by sender)"
          : checksumMeaning(layer.checksumStatus),
      ],
    ];
  },
  summary: ({ fields: f }) =>
    `UDP ${f.sport} > ${f.dport}${f.length === undefined ? "" : ` len=${Math.max(0, f.length - UDP_HEADER_SIZE)}`}`,
});
