import { QoelabError } from "../../errors.ts";
import { type AppAnomaly, appAnomaly } from "../app-anomaly.ts";
import { concatBytes } from "../byte-order.ts";
import type { ShowRow } from "../layer.ts";
import { defineLayer } from "../layer-def.ts";
import { staticPayloadType } from "../rtp-payload-types.ts";

/*
 * SDP (RFC 8866, formerly RFC 4566): lines `<type>=<value>`, CRLF (LF tolerated).
 *
 *   Session:  v=  o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>
 *             s=  i=* u=* e=* p=* c=* b=* (t= r=*)+ z=* k=* a=*
 *   Media:    m=<media> <port>[/<count>] <proto> <fmt> …   then i=* c=* b=* k=* a=*
 *   c=<nettype> <addrtype> <address>[/<ttl>][/<count>]   (ttl for IP4 multicast only)
 *   a=<name>[:<value>]   e.g. a=rtpmap:<pt> <encoding>/<clock>[/<channels>], a=fmtp:<pt> <params>,
 *                        a=ptime:<ms>, a=sendrecv|sendonly|recvonly|inactive, a=rtcp:<port> (RFC 3605)
 *
 * Parsing never throws: an unknown or malformed line is an anomaly and is skipped.
 */

export interface SdpOrigin {
  username: string;
  /** Kept as text: the numbers may exceed 2^53. */
  sessionId: string;
  sessionVersion: string;
  netType: string;
  addrType: string;
  address: string;
}

export interface SdpConnection {
  netType: string;
  addrType: string;
  address: string;
  ttl: number | null;
  count: number | null;
}

export interface SdpBandwidth {
  type: string;
  value: number;
}

export interface SdpTiming {
  start: number;
  stop: number;
  /** r= lines, raw. */
  repeats: string[];
}

export interface SdpAttribute {
  name: string;
  /** null for property attributes (a=sendrecv). */
  value: string | null;
}

export interface SdpMedia {
  media: string;
  port: number;
  portCount: number | null;
  proto: string;
  /** Formats as written: RTP payload type numbers for RTP/AVP and friends. */
  formats: string[];
  information: string | null;
  connections: SdpConnection[];
  bandwidths: SdpBandwidth[];
  key: string | null;
  attributes: SdpAttribute[];
}

export interface SdpSession {
  version: number;
  origin: SdpOrigin | null;
  sessionName: string;
  information: string | null;
  uri: string | null;
  emails: string[];
  phones: string[];
  connection: SdpConnection | null;
  bandwidths: SdpBandwidth[];
  timing: SdpTiming[];
  /** z= line, raw. */
  zone: string | null;
  key: string | null;
  attributes: SdpAttribute[];
  media: SdpMedia[];
}

export interface DecodedSdp {
  session: SdpSession;
  /** False when a mandatory line (v, o, s, t) is missing. */
  complete: boolean;
  anomalies: AppAnomaly[];
}

const utf8 = new TextDecoder("utf-8");

/** Parses an SDP body (text or bytes). Never throws. */
export function parseSdp(input: string | Uint8Array): DecodedSdp {
  const text = typeof input === "string" ? input : utf8.decode(input);
  const anomalies: AppAnomaly[] = [];
  const session: SdpSession = {
    version: -1,
    origin: null,
    sessionName: "",
    information: null,
    uri: null,
    emails: [],
    phones: [],
    connection: null,
    bandwidths: [],
    timing: [],
    zone: null,
    key: null,
    attributes: [],
    media: [],
  };
  let seenName = false;
  let media: SdpMedia | null = null;
  const lines = text.split(/\r?\n/);
  let i = 0;
  let line = "";
  const bad = (what: string): void => {
    anomalies.push(appAnomaly("bad-syntax", `SDP line ${i + 1} ${JSON.stringify(line.slice(0, 80))}: ${what}`));
  };
  for (; i < lines.length; i++) {
    line = lines[i]!;
    if (line === "") continue;
    if (line.length < 2 || line[1] !== "=" || !/^[a-z]$/.test(line[0]!)) {
      bad("not <type>=<value>");
      continue;
    }
    const type = line[0]!;
    const value = line.slice(2);
    if (media) {
      switch (type) {
        case "m":
          break;
        case "c": {
          const connection = parseConnection(value);
          if (connection) media.connections.push(connection);
          else bad("connection is <nettype> <addrtype> <address>");
          continue;
        }
        default:
          if (!sharedLine(media, type, value, bad)) bad("not allowed in a media description");
          continue;
      }
    }
    switch (type) {
      case "v":
        if (/^\d+$/.test(value)) session.version = Number(value);
        else bad("version is a number");
        break;
      case "o": {
        const parts = value.split(" ");
        if (parts.length === 6 && parts.every((p) => p !== "")) {
          const [username, sessionId, sessionVersion, netType, addrType, address] = parts as [
            string,
            string,
            string,
            string,
            string,
            string,
          ];
          session.origin = { username, sessionId, sessionVersion, netType, addrType, address };
        } else bad("origin has 6 fields");
        break;
      }
      case "s":
        session.sessionName = value;
        seenName = true;
        break;
      case "u":
        session.uri = value;
        break;
      case "e":
        session.emails.push(value);
        break;
      case "p":
        session.phones.push(value);
        break;
      case "c": {
        const connection = parseConnection(value);
        if (connection) session.connection = connection;
        else bad("connection is <nettype> <addrtype> <address>");
        break;
      }
      case "t": {
        const match = /^(\d+) (\d+)$/.exec(value);
        if (match) session.timing.push({ start: Number(match[1]), stop: Number(match[2]), repeats: [] });
        else bad("timing is <start> <stop>");
        break;
      }
      case "r": {
        const last = session.timing[session.timing.length - 1];
        if (last) last.repeats.push(value);
        else bad("repeat before any t= line");
        break;
      }
      case "z":
        session.zone = value;
        break;
      case "m": {
        const match = /^(\S+) (\d{1,5})(?:\/(\d+))? (\S+)((?: \S+)*)$/.exec(value);
        if (!match || Number(match[2]) > 65535) {
          bad("media is <media> <port>[/<count>] <proto> <fmt> …");
          // Swallow this section's lines rather than attaching them to the session.
          media = {
            media: "",
            port: 0,
            portCount: null,
            proto: "",
            formats: [],
            information: null,
            connections: [],
            bandwidths: [],
            key: null,
            attributes: [],
          };
          break;
        }
        media = {
          media: match[1]!,
          port: Number(match[2]),
          portCount: match[3] === undefined ? null : Number(match[3]),
          proto: match[4]!,
          formats: match[5]!.split(" ").filter((f) => f !== ""),
          information: null,
          connections: [],
          bandwidths: [],
          key: null,
          attributes: [],
        };
        session.media.push(media);
        break;
      }
      default:
        if (!sharedLine(session, type, value, bad)) bad("unknown line type");
    }
  }
  const missing = [
    session.version < 0 ? "v=" : "",
    session.origin ? "" : "o=",
    seenName ? "" : "s=",
    session.timing.length > 0 ? "" : "t=",
  ].filter((m) => m !== "");
  if (missing.length > 0) anomalies.push(appAnomaly("truncated", `SDP: missing ${missing.join(", ")}`));
  return { session, complete: missing.length === 0, anomalies };
}

function parseConnection(value: string): SdpConnection | null {
  const match = /^(\S+) (\S+) ([^/\s]+)(?:\/(\d+))?(?:\/(\d+))?$/.exec(value);
  if (!match) return null;
  const addrType = match[2]!;
  const first = match[4] === undefined ? null : Number(match[4]);
  const second = match[5] === undefined ? null : Number(match[5]);
  // IP6 multicast has no TTL: a single number is the address count (RFC 8866 §5.7).
  const ttl = addrType.toUpperCase() === "IP4" ? first : null;
  const count = addrType.toUpperCase() === "IP4" ? second : (first ?? second);
  return { netType: match[1]!, addrType, address: match[3]!, ttl, count };
}

/**
 * The lines that mean the same at session and media level (RFC 8866 §5.4, 5.8, 5.12, 5.13):
 * i=, b=, k= and a=. False when `type` is none of them.
 */
function sharedLine(
  target: Pick<SdpSession | SdpMedia, "information" | "bandwidths" | "key" | "attributes">,
  type: string,
  value: string,
  bad: (what: string) => void,
): boolean {
  switch (type) {
    case "i":
      target.information = value;
      return true;
    case "b": {
      const bandwidth = parseBandwidth(value);
      if (bandwidth) target.bandwidths.push(bandwidth);
      else bad("bandwidth is <type>:<number>");
      return true;
    }
    case "k":
      target.key = value;
      return true;
    case "a":
      target.attributes.push(parseAttribute(value));
      return true;
    default:
      return false;
  }
}

function parseBandwidth(value: string): SdpBandwidth | null {
  const match = /^([^:\s]+):(\d+)$/.exec(value);
  return match ? { type: match[1]!, value: Number(match[2]) } : null;
}

function parseAttribute(value: string): SdpAttribute {
  const colon = value.indexOf(":");
  return colon < 0 ? { name: value, value: null } : { name: value.slice(0, colon), value: value.slice(colon + 1) };
}

/** Encodes a session in RFC 8866 line order with CRLF line ends. */
export function encodeSdp(session: SdpSession): string {
  const lines: string[] = [];
  const add = (type: string, value: string): void => {
    if (/[\r\n]/.test(value)) {
      throw new QoelabError("PACKET_BAD_FIELD", `SDP ${type}= value ${JSON.stringify(value)} contains a line break`, {
        field: type,
      });
    }
    lines.push(`${type}=${value}`);
  };
  add("v", String(session.version < 0 ? 0 : session.version));
  if (session.origin) {
    const o = session.origin;
    add("o", `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`);
  }
  add("s", session.sessionName === "" ? "-" : session.sessionName);
  if (session.information !== null) add("i", session.information);
  if (session.uri !== null) add("u", session.uri);
  for (const email of session.emails) add("e", email);
  for (const phone of session.phones) add("p", phone);
  if (session.connection) add("c", encodeConnection(session.connection));
  for (const b of session.bandwidths) add("b", `${b.type}:${b.value}`);
  const timing = session.timing.length > 0 ? session.timing : [{ start: 0, stop: 0, repeats: [] }];
  for (const t of timing) {
    add("t", `${t.start} ${t.stop}`);
    for (const r of t.repeats) add("r", r);
  }
  if (session.zone !== null) add("z", session.zone);
  if (session.key !== null) add("k", session.key);
  for (const a of session.attributes) add("a", encodeAttribute(a));
  for (const m of session.media) {
    const port = m.portCount === null ? String(m.port) : `${m.port}/${m.portCount}`;
    add("m", [m.media, port, m.proto, ...m.formats].join(" "));
    if (m.information !== null) add("i", m.information);
    for (const c of m.connections) add("c", encodeConnection(c));
    for (const b of m.bandwidths) add("b", `${b.type}:${b.value}`);
    if (m.key !== null) add("k", m.key);
    for (const a of m.attributes) add("a", encodeAttribute(a));
  }
  return `${lines.join("\r\n")}\r\n`;
}

export function encodeSdpBytes(session: SdpSession): Uint8Array {
  return new TextEncoder().encode(encodeSdp(session));
}

function encodeConnection(c: SdpConnection): string {
  let text = `${c.netType} ${c.addrType} ${c.address}`;
  if (c.ttl !== null) text += `/${c.ttl}`;
  if (c.count !== null) text += `/${c.count}`;
  return text;
}

function encodeAttribute(a: SdpAttribute): string {
  return a.value === null ? a.name : `${a.name}:${a.value}`;
}

/** Values of attribute `name` (null entries for property attributes). */
export function sdpAttributeValues(attributes: readonly SdpAttribute[], name: string): Array<string | null> {
  return attributes.filter((a) => a.name === name).map((a) => a.value);
}

export interface SdpRtpMap {
  payloadType: number;
  encoding: string;
  clockRate: number;
  channels: number | null;
  /** a=fmtp parameters for this payload type, or null. */
  fmtp: string | null;
}

/** a=rtpmap entries of a media section (plus their a=fmtp), by payload type. */
export function sdpRtpMaps(media: SdpMedia): SdpRtpMap[] {
  const fmtp = new Map<number, string>();
  for (const value of sdpAttributeValues(media.attributes, "fmtp")) {
    const match = value ? /^(\d{1,3}) (.*)$/.exec(value) : null;
    if (match) fmtp.set(Number(match[1]), match[2]!);
  }
  const out: SdpRtpMap[] = [];
  for (const value of sdpAttributeValues(media.attributes, "rtpmap")) {
    const match = value ? /^(\d{1,3}) ([^/\s]+)\/(\d+)(?:\/(\d+))?/.exec(value) : null;
    if (!match) continue;
    const payloadType = Number(match[1]);
    out.push({
      payloadType,
      encoding: match[2]!,
      clockRate: Number(match[3]),
      channels: match[4] === undefined ? null : Number(match[4]),
      fmtp: fmtp.get(payloadType) ?? null,
    });
  }
  return out;
}

export type SdpDirection = "sendrecv" | "sendonly" | "recvonly" | "inactive";

/** The media's direction attribute, else the session's, else sendrecv (RFC 8866 §6.7). */
export function sdpDirection(media: SdpMedia, session: SdpSession): SdpDirection {
  for (const attributes of [media.attributes, session.attributes]) {
    for (const a of attributes) {
      if (a.value === null && (a.name === "sendrecv" || a.name === "sendonly" || a.name === "recvonly")) return a.name;
      if (a.value === null && a.name === "inactive") return "inactive";
    }
  }
  return "sendrecv";
}

export interface SdpMediaEndpoint {
  media: string;
  /** Connection address of the media (its own c= or the session's), or null when none. */
  address: string | null;
  port: number;
  proto: string;
  /** Formats that are numbers (RTP payload types), in preference order. */
  payloadTypes: number[];
  /** Codec of each payload type: a=rtpmap, or the static RFC 3551 assignment. */
  rtpmap: Record<number, SdpRtpMap>;
  /** RTCP port: a=rtcp, the RTP port with a=rtcp-mux, else port + 1. */
  rtcpPort: number;
  direction: SdpDirection;
  /** a=ptime in milliseconds, or null. */
  ptime: number | null;
}

/** Where each media stream of a session expects its RTP: used to find RTP flows from signalling. */
export function sdpMediaEndpoints(sdp: SdpSession): SdpMediaEndpoint[] {
  return sdp.media.map((m) => {
    const payloadTypes = m.formats.filter((f) => /^\d{1,3}$/.test(f) && Number(f) <= 127).map(Number);
    const rtpmap: Record<number, SdpRtpMap> = {};
    for (const pt of payloadTypes) {
      const known = staticPayloadType(pt);
      if (known) {
        rtpmap[pt] = {
          payloadType: pt,
          encoding: known.encoding,
          clockRate: known.clockRate,
          channels: known.channels ?? null,
          fmtp: null,
        };
      }
    }
    for (const entry of sdpRtpMaps(m)) rtpmap[entry.payloadType] = entry;
    const rtcpValue = sdpAttributeValues(m.attributes, "rtcp")[0];
    const rtcpMatch = rtcpValue ? /^(\d{1,5})/.exec(rtcpValue) : null;
    const mux = m.attributes.some((a) => a.name === "rtcp-mux");
    const ptimeValue = sdpAttributeValues(m.attributes, "ptime")[0];
    const ptime = ptimeValue && /^\d+(\.\d+)?$/.test(ptimeValue) ? Number(ptimeValue) : null;
    return {
      media: m.media,
      address: m.connections[0]?.address ?? sdp.connection?.address ?? null,
      port: m.port,
      proto: m.proto,
      payloadTypes,
      rtpmap,
      rtcpPort: rtcpMatch ? Number(rtcpMatch[1]) : mux ? m.port : m.port + 1,
      direction: sdpDirection(m, sdp),
      ptime,
    };
  });
}

/** SDP is decoded as a SIP body (sip.ts), so it has no decode of its own here. */
export const sdpLayer = defineLayer({
  type: "SDP",
  info: { title: "SDP", tcpip: "application", osi: 7 },
  encode: (layer, payload) => concatBytes(encodeSdpBytes(layer.fields), payload),
  size: (layer) => encodeSdpBytes(layer.fields).length,
  rows({ fields: f }) {
    const rows: ShowRow[] = [["v", String(f.version)]];
    if (f.origin) {
      const o = f.origin;
      rows.push(["o", `${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`]);
    }
    rows.push(["s", f.sessionName]);
    if (f.connection) rows.push(["c", `${f.connection.netType} ${f.connection.addrType} ${f.connection.address}`]);
    for (const t of f.timing) rows.push(["t", `${t.start} ${t.stop}`]);
    for (const a of f.attributes) rows.push(["a", a.value === null ? a.name : `${a.name}:${a.value}`]);
    for (const m of f.media) {
      rows.push(["m", `${m.media} ${m.port} ${m.proto} ${m.formats.join(" ")}`]);
      for (const c of m.connections) rows.push(["  c", `${c.netType} ${c.addrType} ${c.address}`]);
      for (const a of m.attributes) rows.push(["  a", a.value === null ? a.name : `${a.name}:${a.value}`]);
    }
    return rows;
  },
  summary(layer) {
    const media = layer.fields.media.map((m) => `${m.media} ${m.port}`).join(", ");
    return `SDP${media ? ` ${media}` : ""}`;
  },
});
