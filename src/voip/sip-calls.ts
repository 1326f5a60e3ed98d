import { QoelabError } from "../errors.ts";
import {
  type Dissection,
  decodeSip,
  forEachPacket,
  IpProto,
  type PacketRecord,
  type SipMessage,
  sipBodyText,
  sipCallId,
  sipContentType,
  sipCSeq,
  sipFrom,
  sipTo,
} from "../packet/index.ts";
import { parseSdpMedia } from "./sdp-media.ts";
import { SipTcpStreams } from "./sip-tcp-streams.ts";
import { UdpDatagrams } from "./udp-datagrams.ts";

/**
 * SIP dialogs (RFC 3261) of a capture, grouped by Call-ID: who called whom, how the INVITE
 * transaction ended, setup time (INVITE → first 2xx), talk time (2xx → BYE), and the media each
 * side announced in SDP. SIP over UDP (IP fragments reassembled) and over TCP (segments reassembled
 * into messages, sip-tcp-streams.ts), as tshark reads them.
 */

export type SipCallState = "CALLING" | "RINGING" | "IN CALL" | "COMPLETED" | "CANCELLED" | "REJECTED" | "UNKNOWN";

export interface SipEvent {
  frame: number;
  /** Seconds relative to the capture's first packet. */
  time: number;
  src: string;
  dst: string;
  /** "INVITE", "180 Ringing", …; " (SDP)" appended when it carries SDP. */
  label: string;
  request: boolean;
}

export interface SipMediaOffer {
  /** Who announced it: the endpoint that sent the message. */
  from: string;
  address: string;
  port: number;
  media: string;
  codecs: string[];
}

export interface SipCall {
  callId: string;
  from: string;
  to: string;
  state: SipCallState;
  /** Final response to the INVITE (0 while none). */
  finalStatus: number;
  startTime: number;
  /** INVITE → first 2xx (ms); null without an answer. */
  setupTimeMs: number | null;
  /** 2xx → BYE (s); to the end of the capture while still in call; null if never answered. */
  durationS: number | null;
  endTime: number;
  media: SipMediaOffer[];
  events: SipEvent[];
}

interface CallBuilder extends SipCall {
  inviteTime: number | null;
  answerTime: number | null;
  byeTime: number | null;
}

export async function analyzeSipCalls(path: string): Promise<SipCall[]> {
  const datagrams = new UdpDatagrams();
  const overTcp = new SipTcpStreams();
  const d = datagrams.d;
  const calls = new Map<string, CallBuilder>();
  let firstSec = -1;
  let firstNsec = 0;
  let lastTime = 0;
  let packets = 0;
  await forEachPacket(path, (record) => {
    packets++;
    if (firstSec < 0) {
      firstSec = record.tsSec;
      firstNsec = record.tsNsec;
    }
    const time = record.tsSec - firstSec + (record.tsNsec - firstNsec) / 1e9;
    lastTime = time;
    // SIP with a large SDP body is often fragmented: reassembled as tshark does.
    const bytes = datagrams.readTransport(record);
    if (bytes === null) return;
    if (d.ipProto === IpProto.TCP) {
      overTcp.segment(d, bytes, (whole) => {
        const message = decodeSip(whole, 0, whole.length, { transport: "stream" }).message;
        if (message) onMessage(message, record, time);
      });
      return;
    }
    if (d.ipProto !== IpProto.UDP || d.capturedPayloadLength < 8) return;
    const b0 = bytes[d.payloadOffset]!;
    if (b0 < 0x41 || b0 > 0x5a) return;
    const decoded = decodeSip(bytes, d.payloadOffset, d.capturedPayloadLength);
    // A header line that is not "name: value" (e.g. cut by the capture): tshark stops on the
    // malformed message and leaves it out of its statistics; so do we.
    if (decoded.message && !decoded.anomalies.some((a) => a.code === "bad-syntax")) {
      onMessage(decoded.message, record, time);
    }
  });
  function onMessage(message: SipMessage, record: PacketRecord, time: number): void {
    const callId = sipCallId(message);
    if (!callId) return;
    const src = endpoint(d, true);
    const dst = endpoint(d, false);
    let call = calls.get(callId);
    if (!call) {
      call = {
        callId,
        from: sipFrom(message)?.uri ?? "",
        to: sipTo(message)?.uri ?? "",
        state: "UNKNOWN",
        finalStatus: 0,
        startTime: time,
        setupTimeMs: null,
        durationS: null,
        endTime: time,
        media: [],
        events: [],
        inviteTime: null,
        answerTime: null,
        byeTime: null,
      };
      calls.set(callId, call);
    }
    const hasSdp = message.body.length > 0 && (sipContentType(message) ?? "").toLowerCase().includes("application/sdp");
    call.events.push({
      frame: record.index + 1,
      time,
      src,
      dst,
      label: label(message) + (hasSdp ? " (SDP)" : ""),
      request: message.kind === "request",
    });
    call.endTime = time;
    if (hasSdp) {
      for (const m of parseSdpMedia(sipBodyText(message))) {
        const codecs = m.formats.map((pt) => m.rtpmap.get(pt)?.encoding ?? staticName(pt));
        call.media.push({ from: src, address: m.address, port: m.port, media: m.media, codecs });
      }
    }
    update(call, message, time);
  }
  if (packets === 0)
    throw new QoelabError("VOIP_EMPTY_CAPTURE", `${path}: the capture holds no packets`, { file: path });
  const out: SipCall[] = [];
  for (const c of calls.values()) {
    if (c.state === "IN CALL" && c.answerTime !== null) c.durationS = lastTime - c.answerTime;
    const { inviteTime: _i, answerTime: _a, byeTime: _b, ...call } = c;
    out.push(call);
  }
  return out;
}

function update(call: CallBuilder, message: SipMessage, time: number): void {
  const cseq = sipCSeq(message);
  if (message.kind === "request") {
    if (message.method === "INVITE" && call.inviteTime === null) {
      call.inviteTime = time;
      call.startTime = time;
      call.from = sipFrom(message)?.uri ?? call.from;
      call.to = sipTo(message)?.uri ?? call.to;
      call.state = "CALLING";
    } else if (message.method === "CANCEL" && call.answerTime === null) {
      call.state = "CANCELLED";
    } else if (message.method === "BYE" && call.byeTime === null) {
      call.byeTime = time;
      call.state = "COMPLETED";
      if (call.answerTime !== null) call.durationS = time - call.answerTime;
    }
    return;
  }
  if (cseq?.method !== "INVITE") return;
  const status = message.statusCode;
  if (status >= 100 && status < 200) {
    if (status !== 100 && call.state === "CALLING") call.state = "RINGING";
  } else if (status >= 200 && status < 300) {
    if (call.answerTime === null) {
      call.answerTime = time;
      call.finalStatus = status;
      if (call.inviteTime !== null) call.setupTimeMs = (time - call.inviteTime) * 1000;
      if (call.state !== "COMPLETED") call.state = "IN CALL";
    }
  } else if (status >= 300 && call.answerTime === null) {
    call.finalStatus = status;
    if (call.state !== "CANCELLED") call.state = status === 487 ? "CANCELLED" : "REJECTED";
  }
}

function label(message: SipMessage): string {
  return message.kind === "request" ? message.method : `${message.statusCode} ${message.reasonPhrase}`.trim();
}

function staticName(pt: number): string {
  return pt === 0 ? "PCMU" : pt === 8 ? "PCMA" : pt === 9 ? "G722" : pt === 18 ? "G729" : pt === 13 ? "CN" : `PT${pt}`;
}

function endpoint(d: Dissection, source: boolean): string {
  const port = source ? d.srcPort : d.dstPort;
  if (d.ipVersion === 4) {
    const a = source ? d.src4 : d.dst4;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
  }
  const w = source ? d.src6 : d.dst6;
  const groups: string[] = [];
  for (let i = 0; i < 4; i++) groups.push((w[i]! >>> 16).toString(16), (w[i]! & 0xffff).toString(16));
  return `[${groups.join(":")}]:${port}`;
}
