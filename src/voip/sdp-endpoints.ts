import { parseIpv4Number, parseIpv6Groups, sameIpv6Words } from "../common/index.ts";
import { decodeSip, sipBodyText, sipContentType } from "../packet/index.ts";
import { parseSdpMedia } from "./sdp-media.ts";

/** What SDP's rtpmap says a dynamic payload type carries. */
export interface DynamicPayload {
  encoding: string;
  clockRate: number;
}

/**
 * What the latest SDP said an endpoint carries: its RTP payload map, or `NOT_RTP` when it moved the
 * endpoint to T.38 (m=image … udptl), after which tshark decodes that endpoint's packets as T.38.
 */
export type EndpointMedia = Map<number, DynamicPayload> | typeof NOT_RTP;
export const NOT_RTP = null;

/**
 * Media endpoints announced in SDP, keyed by a number (IPv4: address·65536 + port). The SDP is
 * sniffed from SIP messages, MGCP commands and responses, and text MEGACO (H.248) messages among
 * the UDP payloads. The latest announcement of an endpoint wins, as tshark's conversations do.
 */
export class SdpEndpoints {
  private readonly v4 = new Map<number, EndpointMedia>();
  private readonly v6 = new Map<number, { words: Uint32Array; port: number; media: EndpointMedia }[]>();
  size = 0;
  /** True once an SDP body announced an RTP stream. */
  sdpSeen = false;

  /** A UDP payload that is not RTP: SIP, MGCP or MEGACO carrying SDP adds its media endpoints. */
  sniff(bytes: Uint8Array, offset: number, length: number): void {
    const b0 = bytes[offset]!;
    if (isSipStart(b0) && this.sip(bytes, offset, length)) return;
    // H.248 text encoding: "MEGACO/1 …" or its compact "!/1 …" (H.248.1 Annex B).
    if (b0 === 0x21 || b0 === 0x4d || b0 === 0x6d) {
      if (this.megaco(bytes, offset, length)) return;
    }
    // MGCP (RFC 3435) commands (CRCX, MDCX, …) and responses ("200 …") carry SDP too.
    if (isSipStart(b0) || (b0 >= 0x30 && b0 <= 0x39)) this.mgcp(bytes, offset, length);
  }

  add(address: string, port: number, media: EndpointMedia): void {
    if (port <= 0) return;
    const v4 = parseV4(address);
    if (v4 !== null) {
      this.v4.set(v4 * 65536 + port, media);
      this.size++;
      return;
    }
    const words = parseV6Words(address);
    if (!words) return;
    const key = v6Key(words, port);
    const list = this.v6.get(key) ?? [];
    const known = list.find((e) => e.port === port && sameIpv6Words(e.words, words));
    if (known) known.media = media;
    else list.push({ words, port, media });
    this.v6.set(key, list);
    this.size++;
  }

  /** What SDP last said of this endpoint; undefined when no SDP named it. */
  lookup4(address: number, port: number): EndpointMedia | undefined {
    return this.v4.get(address * 65536 + port);
  }

  lookup6(words: Uint32Array, port: number): EndpointMedia | undefined {
    const list = this.v6.get(v6Key(words, port));
    if (!list) return undefined;
    for (const e of list) if (e.port === port && sameIpv6Words(e.words, words)) return e.media;
    return undefined;
  }

  /** True when the payload was a SIP message (its SDP, if any, recorded). */
  private sip(bytes: Uint8Array, offset: number, length: number): boolean {
    const decoded = decodeSip(bytes, offset, length);
    const message = decoded.message;
    if (!message) return false;
    if (message.body.length === 0) return true;
    if (!(sipContentType(message) ?? "").toLowerCase().includes("application/sdp")) return true;
    this.sdpBody(sipBodyText(message));
    return true;
  }

  /** An MGCP command or response: its SDP follows the first empty line (RFC 3435 §3.1). */
  private mgcp(bytes: Uint8Array, offset: number, length: number): void {
    const text = latin1.decode(bytes.subarray(offset, offset + Math.min(length, 4096)));
    if (!/^(?:[A-Z][A-Z0-9]{3} \d+ \S+ MGCP \d|\d{3} \d+)/.test(text)) return;
    const blank = /\r?\n\r?\n/.exec(text);
    if (!blank) return;
    const body = text.slice(blank.index + blank[0].length);
    if (!/^v=0/m.test(body)) return;
    this.sdpBody(body);
  }

  /**
   * A text MEGACO message: the SDP of its Local and Remote descriptors (`Local{…}`/`L{…}`,
   * `Remote{…}`/`R{…}`; H.248.1 Annex B, tokens case-insensitive). True when it was MEGACO.
   */
  private megaco(bytes: Uint8Array, offset: number, length: number): boolean {
    const text = latin1.decode(bytes.subarray(offset, offset + Math.min(length, 8192)));
    if (!/^(?:MEGACO|!)\/\d/i.test(text)) return false;
    for (const m of text.matchAll(/(?:^|[\s,{])(?:Local|Remote|L|R)\s*\{([^{}]*)\}/gi)) {
      if (/^\s*v=/.test(m[1]!)) this.sdpBody(m[1]!);
    }
    return true;
  }

  private sdpBody(body: string): void {
    for (const media of parseSdpMedia(body)) {
      if (media.port === 0) continue;
      if (media.protocol.toLowerCase() === "udptl") {
        this.add(media.address, media.port, NOT_RTP);
        continue;
      }
      if (!media.protocol.toUpperCase().startsWith("RTP")) continue;
      const map = new Map<number, DynamicPayload>();
      for (const [pt, info] of media.rtpmap) map.set(pt, { encoding: info.encoding, clockRate: info.clockRate });
      this.add(media.address, media.port, map);
      this.sdpSeen = true;
    }
  }
}

function v6Key(w: Uint32Array, port: number): number {
  return ((w[0]! ^ w[1]! ^ w[2]! ^ w[3]!) >>> 0) * 65536 + port;
}

function parseV4(text: string): number | null {
  return parseIpv4Number(text) ?? null;
}

function parseV6Words(text: string): Uint32Array | null {
  const groups = parseIpv6Groups(text);
  if (!groups) return null;
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

const latin1 = new TextDecoder("latin1");

/** First byte of a SIP request method or "SIP/2.0" (uppercase ASCII letters). */
function isSipStart(b0: number): boolean {
  return b0 >= 0x41 && b0 <= 0x5a;
}
