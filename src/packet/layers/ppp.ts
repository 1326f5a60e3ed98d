import { anomaly, type DecodeInfo } from "../anomaly.ts";
import { readU16, writeU16 } from "../byte-order.ts";
import { defineLayer } from "../layer-def.ts";
import { showHex } from "../show-format.ts";

/*
 * PPP protocol field (RFC 1661 §2) as carried in a PPPoE session (RFC 2516 §5: no address and
 * control bytes, no protocol-field compression):
 *
 *  0                   1
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Protocol            |  then the datagram (IPv4 0x0021, IPv6 0x0057, LCP 0xc021, …)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export const PPP_HEADER_SIZE = 2;

export const PppProtocol = {
  IPV4: 0x0021,
  IPV6: 0x0057,
  IPCP: 0x8021,
  IPV6CP: 0x8057,
  LCP: 0xc021,
  PAP: 0xc023,
  CHAP: 0xc223,
} as const;

const protocolNames = new Map<number, string>([
  [0x0021, "IPv4"],
  [0x0057, "IPv6"],
  [0x8021, "IPCP"],
  [0x8057, "IPv6CP"],
  [0xc021, "LCP"],
  [0xc023, "PAP"],
  [0xc223, "CHAP"],
]);

export function pppProtocolName(protocol: number): string {
  return protocolNames.get(protocol) ?? "unknown";
}

export interface PppFields {
  /** Filled by the builder from the next layer (IPv4 0x0021, IPv6 0x0057). */
  protocol?: number;
}

export interface DecodedPpp extends PppFields, DecodeInfo {
  protocol: number;
}

export function decodePpp(bytes: Uint8Array, offset: number, end: number): DecodedPpp {
  const available = end - offset;
  const complete = available >= PPP_HEADER_SIZE;
  return {
    protocol: complete ? readU16(bytes, offset) : 0,
    headerLength: Math.max(0, Math.min(available, PPP_HEADER_SIZE)),
    complete,
    anomalies: complete ? [] : [anomaly("truncated", `PPP protocol field needs 2 bytes, ${available} captured`)],
  };
}

export function encodePpp(fields: PppFields, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(PPP_HEADER_SIZE + payload.length);
  writeU16(out, 0, fields.protocol ?? 0);
  out.set(payload, PPP_HEADER_SIZE);
  return out;
}

export const pppLayer = defineLayer({
  type: "PPP",
  info: { title: "PPP", tcpip: "link", osi: 2 },
  decodeNetwork(w, offset, end, depth) {
    const d = decodePpp(w.bytes, offset, end);
    if (!d.complete) {
      w.raw(offset, end, false, "PPP", d.anomalies);
      return end;
    }
    w.push({ type: "PPP", fields: { protocol: d.protocol } }, d, offset, false);
    return w.ppp(d.protocol, offset + PPP_HEADER_SIZE, end, depth);
  },
  encode: (layer, payload, context) =>
    encodePpp({ protocol: layer.fields.protocol ?? context.nextPppProtocol }, payload),
  size: () => PPP_HEADER_SIZE,
  rows: ({ fields: f }) => [
    ["protocol", showHex(f.protocol, 4), f.protocol === undefined ? undefined : pppProtocolName(f.protocol)],
  ],
  summary: ({ fields: f }) => (f.protocol === undefined ? "PPP" : `PPP ${pppProtocolName(f.protocol)}`),
});
