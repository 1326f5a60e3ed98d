import { QoelabError } from "../../errors.ts";
import { type PesqMode, rateConfig } from "./config.ts";
import {
  alignmentFilter,
  applyGains,
  highPass100,
  IRS_RECEIVE,
  LEVEL_FILTER_WB,
  narrowbandLevelGains,
  signalSpectrum,
  tableGains,
} from "./input-filter.ts";
import { levelAlignGain } from "./level-align.ts";
import { mosLqoNarrowband, mosLqoWideband } from "./mos-mapping.ts";
import { perceptualModel } from "./perceptual-model.ts";
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
  /** Raw P.862 score (narrowband) or the raw wideband model output (-0.5 … 4.5). */
  raw: number;
  /** MOS-LQO: P.862.1 mapping (nb) or P.862.2 mapping (wb). */
  mosLqo: number;
  /** Symmetric and asymmetric disturbance after aggregation. */
  disturbance: number;
  asymmetricDisturbance: number;
  /** One entry per utterance: reference start/end in seconds and delay in ms. */
  utterances: Array<{ start: number; end: number; delayMs: number; confidence: number }>;
}

export const PESQ_VERSIONS: Record<PesqMode, string> = {
  nb: "ITU-T P.862 (2001) + P.862.1 (2003)",
  wb: "ITU-T P.862.2 (2005)",
  "wb-c2": "ITU-T P.862.2 Corrigendum 2 (2018)",
};

/** Raw score = 4.5 − 0.1·D − 0.0309·A (P.862 §10.2.11). */
const SYMMETRIC_WEIGHT = 0.1;
const ASYMMETRIC_WEIGHT = 0.0309;

/** Shortest accepted signal: a quarter of a second. */
const MIN_SECONDS = 0.25;

function prepare(samples: Float32Array | Float64Array, pad: number): Float64Array {
  const out = new Float64Array(samples.length + 2 * pad);
  for (let i = 0; i < samples.length; i++) out[pad + i] = samples[i]! * 32768;
  return out;
}

/**
 * PESQ of a degraded signal against its reference. Samples are float in [-1, 1) (16-bit full
 * scale), mono, at 8000 or 16000 Hz (wideband modes need 16000 Hz).
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
      "the P.862.2 Corrigendum 2 (2018) wideband variant is not implemented yet; use --mode wb (P.862.2 2005)",
      { mode },
    );
  }
  if (sampleRate !== 8000 && sampleRate !== 16000) {
    throw new QoelabError("PESQ_RATE_UNSUPPORTED", `PESQ runs at 8000 or 16000 Hz, not ${sampleRate} Hz`, {
      sampleRate,
    });
  }
  if (mode !== "nb" && sampleRate !== 16000) {
    throw new QoelabError("PESQ_WB_NEEDS_16K", `wideband PESQ (P.862.2) needs 16000 Hz input, got ${sampleRate} Hz`, {
      sampleRate,
      mode,
    });
  }
  const minSamples = Math.ceil(MIN_SECONDS * sampleRate);
  for (const [name, s] of [
    ["reference", reference],
    ["degraded", degraded],
  ] as const) {
    if (s.length < minSamples) {
      throw new QoelabError(
        "PESQ_TOO_SHORT",
        `${name} signal is ${(s.length / sampleRate).toFixed(3)} s long; PESQ needs at least ${MIN_SECONDS} s`,
        { signal: name, samples: s.length },
      );
    }
    let nonZero = false;
    for (let i = 0; i < s.length; i++) {
      if (s[i] !== 0) {
        nonZero = true;
        break;
      }
      if (Number.isNaN(s[i])) break;
    }
    if (!nonZero) throw new QoelabError("PESQ_SILENT", `${name} signal is silent (all samples zero)`, { signal: name });
    for (let i = 0; i < s.length; i++) {
      if (!Number.isFinite(s[i]!)) {
        throw new QoelabError("PESQ_BAD_SAMPLE", `${name} signal has a non-finite sample at index ${i}`, {
          signal: name,
          index: i,
        });
      }
    }
  }
  const longer = Math.max(reference.length, degraded.length);
  const shorter = Math.min(reference.length, degraded.length);
  if (longer > 2 * shorter) {
    throw new QoelabError(
      "PESQ_LENGTH_MISMATCH",
      `reference (${(reference.length / sampleRate).toFixed(2)} s) and degraded (${(degraded.length / sampleRate).toFixed(2)} s) lengths are too far apart for PESQ`,
      { referenceSamples: reference.length, degradedSamples: degraded.length },
    );
  }

  const wideband = mode !== "nb";
  const cfg = rateConfig(sampleRate);
  const D = cfg.envelopeFrame;
  const pad = cfg.searchFrames * D;
  const refPadded = prepare(reference, pad);
  const degPadded = prepare(degraded, pad);

  // Level alignment and input filter.
  const filtered: Float64Array[] = [];
  for (const [signal, length] of [
    [refPadded, reference.length],
    [degPadded, degraded.length],
  ] as const) {
    const spectrum = signalSpectrum(signal);
    // The level is measured on the signal as heard through the input filter.
    const gain = wideband
      ? levelAlignGain(spectrum, tableGains(LEVEL_FILTER_WB, spectrum.size, sampleRate), length)
      : levelAlignGain(spectrum, narrowbandLevelGains(spectrum.size, sampleRate), length);
    if (gain === 0) {
      throw new QoelabError("PESQ_SILENT", "a signal has no power in the speech band", {});
    }
    filtered.push(
      wideband
        ? highPass100(signal, sampleRate, gain)
        : applyGains(spectrum, tableGains(IRS_RECEIVE, spectrum.size, sampleRate), gain, signal.length),
    );
  }
  const ref = filtered[0]!;
  const deg = filtered[1]!;

  // Voice activity and time alignment.
  const alignRef = alignmentFilter(ref, sampleRate);
  const alignDeg = alignmentFilter(deg, sampleRate);
  const refVad = voiceActivity(alignRef, D, cfg.searchFrames, cfg.searchFrames + Math.floor(reference.length / D));
  const degVad = voiceActivity(alignDeg, D, cfg.searchFrames, cfg.searchFrames + Math.floor(degraded.length / D));
  const { utterances } = alignUtterances(ref, deg, refVad.envelope, degVad.envelope, {
    locateRef: alignRef,
    locateDeg: alignDeg,
    envelopeFrame: D,
    searchFrames: cfg.searchFrames,
    alignFrame: cfg.alignFrame,
    sampleRate,
  });
  if (utterances.length === 0) {
    throw new QoelabError("PESQ_NO_SPEECH", "no speech activity found in the reference signal", {
      signal: "reference",
    });
  }

  const scored = perceptualModel(ref, deg, reference.length, pad, utterances, cfg);
  const raw = 4.5 - SYMMETRIC_WEIGHT * scored.disturbance - ASYMMETRIC_WEIGHT * scored.asymmetric;
  if (!Number.isFinite(raw)) {
    throw new QoelabError("PESQ_NUMERIC", "PESQ produced a non-finite score (internal error)", {
      disturbance: scored.disturbance,
      asymmetric: scored.asymmetric,
    });
  }
  const mosLqo = wideband ? mosLqoWideband(raw) : mosLqoNarrowband(raw);
  return {
    mode,
    version: PESQ_VERSIONS[mode],
    sampleRate,
    raw,
    mosLqo,
    disturbance: scored.disturbance,
    asymmetricDisturbance: scored.asymmetric,
    utterances: utterances.map((u) => ({
      start: (u.start * D - pad) / sampleRate,
      end: (u.end * D - pad) / sampleRate,
      delayMs: (1000 * u.delay) / sampleRate,
      confidence: u.confidence,
    })),
  };
}
