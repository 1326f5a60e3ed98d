/**
 * Static RTP payload types of the RTP/AVP profile (RFC 3551 §6, tables 4 and 5). Types 96–127 are
 * dynamic: their meaning comes from signalling (SDP a=rtpmap). G722's RTP clock rate is 8000 although
 * it samples at 16 kHz (RFC 3551 §4.5.2, an historical error kept for compatibility).
 */
export interface RtpPayloadTypeInfo {
  payloadType: number;
  /** Encoding name as in SDP rtpmap (RFC 3551 spelling). */
  encoding: string;
  media: "audio" | "video" | "audio/video";
  clockRate: number;
  /** Audio channels (undefined for video). */
  channels?: number;
}

const STATIC_TYPES: readonly RtpPayloadTypeInfo[] = [
  { payloadType: 0, encoding: "PCMU", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 3, encoding: "GSM", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 4, encoding: "G723", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 5, encoding: "DVI4", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 6, encoding: "DVI4", media: "audio", clockRate: 16000, channels: 1 },
  { payloadType: 7, encoding: "LPC", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 8, encoding: "PCMA", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 9, encoding: "G722", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 10, encoding: "L16", media: "audio", clockRate: 44100, channels: 2 },
  { payloadType: 11, encoding: "L16", media: "audio", clockRate: 44100, channels: 1 },
  { payloadType: 12, encoding: "QCELP", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 13, encoding: "CN", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 14, encoding: "MPA", media: "audio", clockRate: 90000 },
  { payloadType: 15, encoding: "G728", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 16, encoding: "DVI4", media: "audio", clockRate: 11025, channels: 1 },
  { payloadType: 17, encoding: "DVI4", media: "audio", clockRate: 22050, channels: 1 },
  { payloadType: 18, encoding: "G729", media: "audio", clockRate: 8000, channels: 1 },
  { payloadType: 25, encoding: "CelB", media: "video", clockRate: 90000 },
  { payloadType: 26, encoding: "JPEG", media: "video", clockRate: 90000 },
  { payloadType: 28, encoding: "nv", media: "video", clockRate: 90000 },
  { payloadType: 31, encoding: "H261", media: "video", clockRate: 90000 },
  { payloadType: 32, encoding: "MPV", media: "video", clockRate: 90000 },
  { payloadType: 33, encoding: "MP2T", media: "audio/video", clockRate: 90000 },
  { payloadType: 34, encoding: "H263", media: "video", clockRate: 90000 },
];

/** Indexed by payload type (0–127); undefined for unassigned, reserved and dynamic types. */
const BY_TYPE: ReadonlyArray<RtpPayloadTypeInfo | undefined> = (() => {
  const table: Array<RtpPayloadTypeInfo | undefined> = new Array(128).fill(undefined);
  for (const info of STATIC_TYPES) table[info.payloadType] = info;
  return table;
})();

export const RTP_STATIC_PAYLOAD_TYPES: readonly RtpPayloadTypeInfo[] = STATIC_TYPES;

/** The static assignment of `payloadType`, or undefined (dynamic, reserved, unassigned). */
export function staticPayloadType(payloadType: number): RtpPayloadTypeInfo | undefined {
  return BY_TYPE[payloadType];
}

/** 96–127: bound by signalling (RFC 3551 §3). */
export function isDynamicPayloadType(payloadType: number): boolean {
  return payloadType >= 96 && payloadType <= 127;
}

/** RTP clock rate of a static payload type, or 0 when it is not static. */
export function staticClockRate(payloadType: number): number {
  return BY_TYPE[payloadType]?.clockRate ?? 0;
}
