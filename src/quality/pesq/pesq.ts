import { QoelabError } from "../../errors.ts";
import { aggregateDisturbance } from "./aggregation.ts";
import { type PesqMode, rateConfig } from "./config.ts";
import { ANNEX_A_TEST_2 } from "./conformance.ts";
import { segmentSpectrum } from "./filters.ts";
import { alignmentCopy, irsReceiveFilter, widebandFilter } from "./input-filter.ts";
import { levelAlign, levelSpan } from "./level-align.ts";
import { frameDisturbances } from "./model.ts";
import { mosLqoNarrowband, mosLqoWideband } from "./mos-mapping.ts";
import { equalizeLength, signalBuffer } from "./signal-buffer.ts";
import { alignUtterances } from "./time-align.ts";
import { voiceActivity } from "./vad.ts";

export interface PesqOptions {
  mode?: PesqMode;
}

export interface PesqResult {
  mode: PesqMode;
  /** The recommendation(s) the figures follow. */
  version: string;
  sampleRate: number;
  /** Raw P.862 score (−0.5 … 4.5); in wideband mode computed but not a P.862.2 output. */
  raw: number;
  /** "P.862 raw" in narrowband; null in wideband, where P.862.2 reports MOS-LQO only. */
  rawLabel: "P.862 raw" | null;
  /** MOS-LQO: P.862.1 mapping (nb) or P.862.2 mapping (wb). */
  mosLqo: number;
  mosLqoLabel: "P.862.1 MOS-LQO" | "P.862.2 MOS-LQO";
  /** "conformant to P.862 Annex A test 2" when the conformance suite proves it for this mode and rate. */
  conformance: string | null;
  /** Symmetric and asymmetric disturbance after aggregation. */
  disturbance: number;
  asymmetricDisturbance: number;
  /** One entry per utterance: reference start/end in seconds and delay in ms. */
  utterances: Array<{ start: number; end: number; delayMs: number; confidence: number }>;
}

export const PESQ_VERSIONS: Record<PesqMode, string> = {
  nb: "ITU-T P.862 (2001) + P.862.1 (2003)",
  wb: "ITU-T P.862.2 (2005)",
  "wb-c2": "ITU-T P.862.2 Corrigendum 2",
};

/** Raw score = 4.5 − 0.1·D − 0.0309·A (spec 05 §5.1). */
const SYMMETRIC_WEIGHT = 0.1;
const ASYMMETRIC_WEIGHT = 0.0309;

function checkSignal(name: string, s: Float32Array | Float64Array, minSamples: number, sampleRate: number): void {
  if (s.length < minSamples) {
    throw new QoelabError(
      "PESQ_TOO_SHORT",
      `${name} signal is ${(s.length / sampleRate).toFixed(3)} s long (${s.length} samples); PESQ needs at least 0.25 s (${minSamples} samples at ${sampleRate} Hz)`,
      { signal: name, samples: s.length, minSamples },
    );
  }
  let nonZero = false;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    if (!Number.isFinite(v)) {
      throw new QoelabError("PESQ_BAD_SAMPLE", `${name} signal has a non-finite sample at index ${i}`, {
        signal: name,
        index: i,
      });
    }
    if (v !== 0) nonZero = true;
  }
  if (!nonZero) throw new QoelabError("PESQ_SILENT", `${name} signal is silent (all samples zero)`, { signal: name });
}

/**
 * PESQ of a degraded signal against its reference. Samples are float in [-1, 1) (16-bit full
 * scale), mono, at 8000 or 16000 Hz (wideband needs 16000 Hz).
 */
export function pesq(
  reference: Float32Array | Float64Array,
  degraded: Float32Array | Float64Array,
  sampleRate: number,
  options: PesqOptions = {},
): PesqResult {
  const mode = options.mode ?? "nb";
  if (!(mode in PESQ_VERSIONS)) {
    throw new QoelabError("PESQ_BAD_MODE", `PESQ mode "${String(mode)}" is not one of nb, wb, wb-c2`, { mode });
  }
  if (mode === "wb-c2") {
    throw new QoelabError(
      "PESQ_MODE_UNAVAILABLE",
      "the P.862.2 Corrigendum 2 wideband variant is not implemented: its difference from P.862.2 (2005) is not stated in the published sources qoelab follows; use --mode wb",
      { mode },
    );
  }
  if (sampleRate !== 8000 && sampleRate !== 16000) {
    throw new QoelabError("PESQ_RATE_UNSUPPORTED", `PESQ runs at 8000 or 16000 Hz, not ${sampleRate} Hz`, {
      sampleRate,
    });
  }
  if (mode === "wb" && sampleRate !== 16000) {
    throw new QoelabError("PESQ_WB_NEEDS_16K", `wideband PESQ (P.862.2) needs 16000 Hz input, got ${sampleRate} Hz`, {
      sampleRate,
      mode,
    });
  }
  const cfg = rateConfig(sampleRate);
  checkSignal("reference", reference, cfg.minSamples, sampleRate);
  checkSignal("degraded", degraded, cfg.minSamples, sampleRate);
  const longer = Math.max(reference.length, degraded.length);
  const shorter = Math.min(reference.length, degraded.length);
  if (longer > 2 * shorter) {
    throw new QoelabError(
      "PESQ_LENGTH_MISMATCH",
      `reference (${(reference.length / sampleRate).toFixed(2)} s) and degraded (${(degraded.length / sampleRate).toFixed(2)} s) lengths are too far apart for PESQ`,
      { referenceSamples: reference.length, degradedSamples: degraded.length },
    );
  }

  // Spec 01 §1.2–1.6: buffers, level, listening filter (model copies), working copies.
  const ref = signalBuffer(reference, cfg);
  const deg = signalBuffer(degraded, cfg);
  const nominalMax = Math.max(ref.nominal, deg.nominal);
  for (const [name, s] of [
    ["reference", ref],
    ["degraded", deg],
  ] as const) {
    const span = levelSpan(s.nominal, cfg);
    const spectrum = segmentSpectrum(s.samples, span.start, span.length);
    const scale = levelAlign(s.samples, spectrum, s.nominal, nominalMax, cfg);
    if (scale === 0) {
      throw new QoelabError("PESQ_SILENT", `${name} signal has no power in the 350–3250 Hz band`, { signal: name });
    }
    if (mode === "wb") widebandFilter(s.samples, s.nominal, cfg);
    else irsReceiveFilter(s.samples, spectrum, scale, cfg);
  }
  const refWork = alignmentCopy(ref.samples, ref.nominal, cfg);
  const degWork = alignmentCopy(deg.samples, deg.nominal, cfg);

  // Spec 01 §1.8–1.13: VAD and time alignment.
  const refVad = voiceActivity(refWork, ref.nominal, cfg.window);
  const degVad = voiceActivity(degWork, deg.nominal, cfg.window);
  const utterances = alignUtterances(refWork, degWork, refVad, degVad, deg.nominal, cfg);
  if (utterances.length === 0) {
    throw new QoelabError("PESQ_NO_SPEECH", "no utterance of speech found in the reference signal", {
      signal: "reference",
    });
  }

  // Spec 01 §1.7, 03, 04: the model on the saved copies.
  const refModel = equalizeLength(ref.samples, nominalMax, cfg);
  const degModel = equalizeLength(deg.samples, nominalMax, cfg);
  const frames = frameDisturbances(refModel, degModel, nominalMax, utterances, cfg);
  const aggregate = (values: Float32Array) =>
    aggregateDisturbance(values, frames.frameStart, frames.frameStop, nominalMax, cfg.margin, cfg.hop);
  const disturbance = aggregate(frames.symmetric);
  const asymmetric = aggregate(frames.asymmetric);
  const raw = Math.fround(4.5 - SYMMETRIC_WEIGHT * disturbance - ASYMMETRIC_WEIGHT * asymmetric);
  if (!Number.isFinite(raw)) {
    throw new QoelabError("PESQ_NUMERIC", "PESQ produced a non-finite score (internal error)", {
      disturbance,
      asymmetric,
    });
  }
  const wideband = mode === "wb";
  const W = cfg.window;
  return {
    mode,
    version: PESQ_VERSIONS[mode],
    sampleRate,
    raw,
    rawLabel: wideband ? null : "P.862 raw",
    mosLqo: wideband ? mosLqoWideband(raw) : mosLqoNarrowband(raw),
    mosLqoLabel: wideband ? "P.862.2 MOS-LQO" : "P.862.1 MOS-LQO",
    conformance: wideband ? null : ANNEX_A_TEST_2[sampleRate],
    disturbance,
    asymmetricDisturbance: asymmetric,
    utterances: utterances.map((u) => ({
      start: (u.start * W - cfg.margin) / sampleRate,
      end: (u.end * W - cfg.margin) / sampleRate,
      delayMs: (1000 * u.delay) / sampleRate,
      confidence: u.confidence,
    })),
  };
}

/**
 * One line naming what a result is: "ITU-T P.862 (2001) + P.862.1 (2003): P.862 raw, P.862.1 MOS-LQO;
 * conformant to P.862 Annex A test 2" (the claim only where the conformance suite proves it).
 */
export function pesqVersionLabel(r: Pick<PesqResult, "version" | "rawLabel" | "mosLqoLabel" | "conformance">): string {
  const scores = [r.rawLabel, r.mosLqoLabel].filter((s) => s !== null).join(", ");
  return `${r.version}: ${scores}${r.conformance ? `; ${r.conformance}` : ""}`;
}
