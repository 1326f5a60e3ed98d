import { anomaly, type ChecksumStatus, type DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import type { PseudoHeader } from "../checksum.ts";
import { Anomaly, type Dissection } from "../dissection.ts";
import { type DecodeWalker, defineLayer, transportDecoder } from "../layer-def.ts";
import { checksumMeaning, showHex, showNum } from "../show-format.ts";
import type { TransportContext } from "../transport-context.ts";
import { type PseudoChecksumField, pseudoHeaderChecksum, verifyPseudoHeaderChecksum } from "./checksum-field.ts";
import { headerExtent } from "./header-extent.ts";
import { headerLayout } from "./header-layout.ts";

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

const UDP = headerLayout({ sport: 2, dport: 2, length: 2, checksum: 2 });
export const UDP_HEADER_SIZE = UDP.size;
export const IP_PROTOCOL_UDP = 17;
/** Sent as 0 ("none") without the addresses; a computed 0 goes out as 0xffff. */
const UDP_CHECKSUM: PseudoChecksumField = {
  what: "UDP",
  protocol: IP_PROTOCOL_UDP,
  at: UDP.checksum,
  zeroSentAs: 0xffff,
};

/** The destination port `encode` writes when the fields give none and no UDP tunnel follows. */
export const UDP_DEFAULT_PORT = 5004;

export interface UdpFields {
  sport: number;
  /** Undefined: the port of the UDP tunnel next (VXLAN 4789, Geneve 6081, GTP-U 2152), else 5004. */
  dport?: number;
  /** Header + payload; computed when undefined. */
  length?: number;
  /** Computed when undefined and addresses are known (else 0, "none"). */
  checksum?: number;
}

export interface DecodedUdp extends UdpFields, DecodeInfo {
  dport: number;
  length: number;
  checksum: number;
  checksumStatus: ChecksumStatus;
  /** Payload bytes per the header (bounded by the IP length when the UDP length is impossible). */
  payloadLength: number;
}

export function decodeUdp(bytes: Uint8Array, offset: number, end: number, context?: TransportContext): DecodedUdp {
  const available = end - offset;
  const extent = headerExtent("UDP header", UDP_HEADER_SIZE, available);
  const length = readU16(bytes, offset + UDP.length);
  const checksum = readU16(bytes, offset + UDP.checksum);
  const ipLength = context?.length ?? available;
  let payloadLength = Math.max(0, Math.min(available, ipLength) - UDP_HEADER_SIZE);
  let checksumStatus: ChecksumStatus = "unverified";
  if (extent.complete) {
    if (length < UDP_HEADER_SIZE || (length > ipLength && !context?.quoted)) {
      extent.anomalies.push(anomaly("bad-length", `UDP length ${length} (IP payload ${ipLength} bytes)`));
    } else {
      payloadLength = length - UDP_HEADER_SIZE;
      const v6 = context?.pseudo.src.length === 16;
      if (checksum === 0 && !v6) {
        checksumStatus = "not-present";
      } else {
        checksumStatus = verifyPseudoHeaderChecksum(
          UDP_CHECKSUM,
          bytes,
          offset,
          end,
          length,
          context,
          extent.anomalies,
        );
      }
    }
  }
  return {
    sport: readU16(bytes, offset + UDP.sport),
    dport: readU16(bytes, offset + UDP.dport),
    length,
    checksum,
    checksumStatus,
    payloadLength,
    ...extent,
  };
}

/** `pseudo` (the IP addresses) enables the checksum; without it the checksum is 0 unless given. */
export function encodeUdp(fields: UdpFields, payload: Uint8Array, pseudo?: PseudoHeader): Uint8Array {
  const out = new Uint8Array(UDP_HEADER_SIZE + payload.length);
  const length = fields.length ?? out.length;
  writeU16(out, UDP.sport, fields.sport);
  writeU16(out, UDP.dport, fields.dport ?? UDP_DEFAULT_PORT);
  writeU16(out, UDP.length, length);
  out.set(payload, UDP_HEADER_SIZE);
  writeU16(out, UDP.checksum, fields.checksum ?? pseudoHeaderChecksum(out, pseudo, UDP_CHECKSUM, length));
  return out;
}

/**
 * True when the dissected UDP length can be a datagram's: at least its own header, or the 0 of a
 * UDP jumbogram (RFC 2675 §4: the datagram as long as its IPv6 jumbogram says, over 65,535 bytes).
 * tshark counts no conversation packet for another.
 */
export function hasPlausibleUdpLength(d: Dissection): boolean {
  return d.udpLength >= UDP_HEADER_SIZE || (d.udpLength === 0 && d.ipVersion === 6 && d.l4Length > 0xffff);
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
  // A first fragment holds the head of a longer datagram: its UDP length is the datagram's.
  const fits = udpLength <= length || out.moreFragments;
  if (!hasPlausibleUdpLength(out) || !fits) out.anomalies |= Anomaly.BAD_LENGTH;
  // Like tshark, trust the IP length when the UDP length is impossible.
  const payloadLength = (udpLength >= UDP_HEADER_SIZE && fits ? udpLength : length) - UDP_HEADER_SIZE;
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
  encode: (layer, payload, context) =>
    encodeUdp(
      { ...layer.fields, dport: layer.fields.dport ?? context.nextUdpPort ?? UDP_DEFAULT_PORT },
      payload,
      context.pseudo(),
    ),
  size: () => UDP_HEADER_SIZE,
  rows: (layer) => {
    const f = layer.fields;
    return [
      ["sport", String(f.sport)],
      ["dport", showNum(f.dport)],
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
    `UDP ${f.sport} > ${showNum(f.dport)}${f.length === undefined ? "" : ` len=${Math.max(0, f.length - UDP_HEADER_SIZE)}`}`,
});
