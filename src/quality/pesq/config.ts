import { BARK_BANDS_8K, BARK_BANDS_16K, type BarkBands } from "./bark-bands.ts";

/** Which recommendation the score follows. */
export type PesqMode = "nb" | "wb" | "wb-c2";

/** Sample-rate dependent constants of the model (ITU-T P.862 §10). */
export interface PesqRateConfig {
  sampleRate: 8000 | 16000;
  /** Perceptual-model frame: 32 ms Hann window, 50 % overlap. */
  frameLength: number;
  /** Envelope (VAD / crude alignment) frame: 4 ms. */
  envelopeFrame: number;
  /** Fine alignment frame: 64 ms, 75 % overlap. */
  alignFrame: number;
  /** Silence added before and after each signal, and the delay search range: 75 envelope frames (300 ms). */
  searchFrames: number;
  bands: BarkBands;
  /** Power (Sp) and loudness (Sl) calibration factors of the auditory transform. */
  powerScale: number;
  loudnessScale: number;
}

/**
 * The band layout follows the sample rate (P.862 §10.2: 42 Bark bands at 8 kHz, 49 at 16 kHz), for
 * narrowband and wideband scoring alike; at 16 kHz the bands above 4 kHz carry nothing audible
 * after the narrowband input filter.
 */
export function rateConfig(sampleRate: 8000 | 16000): PesqRateConfig {
  const k = sampleRate / 8000;
  return {
    sampleRate,
    frameLength: 256 * k,
    envelopeFrame: 32 * k,
    alignFrame: 512 * k,
    searchFrames: 75,
    bands: sampleRate === 16000 ? BARK_BANDS_16K : BARK_BANDS_8K,
    powerScale: sampleRate === 8000 ? 2.764344e-5 : 6.910853e-6,
    loudnessScale: 1.866055e-1,
  };
}

/** Target power of the level-aligned, band-limited signals (16-bit sample units). */
export const TARGET_POWER = 1e7;
