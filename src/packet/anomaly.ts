/**
 * Coded anomalies of the layer decoders (slow path). Malformed input is data: a decoder returns
 * what it could read plus these codes, and never throws. Callers count them by `code`.
 * (The fast path in dissect.ts keeps its own bit set, `Anomaly`.)
 */
export type AnomalyCode =
  /** The header (or a part the decoder needs) is cut short by the captured bytes. */
  | "truncated"
  /** A checksum does not verify (also Linux TX-offload captures, whose checksum is partial). */
  | "bad-checksum"
  /** A length field is impossible: shorter than the header, longer than the packet, not a multiple… */
  | "bad-length"
  /** The version field is not the one the enclosing layer announced. */
  | "bad-version"
  /** An option whose kind the decoder does not know; its bytes are kept verbatim. */
  | "unknown-option"
  /** An option whose length byte is impossible; the rest of the option area is kept verbatim. */
  | "bad-option"
  /** Too many stacked VLAN tags or IPv6 extension headers. */
  | "too-deep"
  /** Bytes after the end the headers announce (beyond Ethernet padding). */
  | "trailing-bytes"
  /** Application layers (app-anomaly.ts): an RTCP compound breaking RFC 3550 §6.1. */
  | "bad-compound"
  /** Application layers (app-anomaly.ts): SIP/SDP text not following its grammar. */
  | "bad-syntax";

export const ANOMALY_CODES: readonly AnomalyCode[] = [
  "truncated",
  "bad-checksum",
  "bad-length",
  "bad-version",
  "unknown-option",
  "bad-option",
  "too-deep",
  "trailing-bytes",
  "bad-compound",
  "bad-syntax",
];

/** One anomaly found by a layer decoder. */
export interface LayerAnomaly {
  code: AnomalyCode;
  /** Human text naming the field and the values, e.g. "total length 12 < header length 20". */
  message: string;
}

/** An anomaly of a decoded packet, with the layer it was found in. */
export interface PacketAnomaly extends LayerAnomaly {
  layer: string;
}

/**
 * How a checksum was checked, with tshark's meaning (`*.checksum.status`: 0 bad, 1 good,
 * 2 unverified, 3 not present). "unverified" when the bytes it covers were not all captured.
 */
export type ChecksumStatus = "bad" | "good" | "unverified" | "not-present";

export const CHECKSUM_STATUS_NUMBER: Readonly<Record<ChecksumStatus, number>> = {
  bad: 0,
  good: 1,
  unverified: 2,
  "not-present": 3,
};

/** Fields every layer decoder returns beside the header fields. */
export interface DecodeInfo {
  /** Bytes of this header (options included) as announced, bounded by what was captured. */
  headerLength: number;
  /** False when the header could not be read completely (then `anomalies` has "truncated"). */
  complete: boolean;
  anomalies: LayerAnomaly[];
}

export function anomaly(code: AnomalyCode, message: string): LayerAnomaly {
  return { code, message };
}
