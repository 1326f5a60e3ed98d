import type { AnomalyCode } from "./anomaly.ts";

/**
 * Anomalies of the application-layer codecs (RTP, RTCP, SIP, SDP): the layer codes plus two that
 * only these protocols have. Same shape as `LayerAnomaly`, so callers count them by `code` alike.
 */
export type AppAnomalyCode =
  | AnomalyCode
  /** An RTCP compound packet that breaks RFC 3550 §6.1 (first not SR/RR, padding before the last). */
  | "bad-compound"
  /** Text that does not follow the grammar (SIP start line, header line, SDP line). */
  | "bad-syntax";

export interface AppAnomaly {
  code: AppAnomalyCode;
  message: string;
}

/** Like `DecodeInfo`, with the application-layer codes. */
export interface AppDecodeInfo {
  /** Header bytes read (RTP: fixed header, CSRCs, extension; RTCP: the whole compound; SIP: start line to blank line). */
  headerLength: number;
  complete: boolean;
  anomalies: AppAnomaly[];
}

export function appAnomaly(code: AppAnomalyCode, message: string): AppAnomaly {
  return { code, message };
}
