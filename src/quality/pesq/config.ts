import { BARK_BANDS_8K, BARK_BANDS_16K, type BarkBands } from "./bark-bands.ts";
import { IIR_CASCADE_8K, IIR_CASCADE_16K, type IirSection } from "./filters.ts";

/** Which recommendation the score follows. */
export type PesqMode = "nb" | "wb" | "wb-c2";

/**
 * Sample-rate dependent constants (spec 01 §1.1 at 8 kHz, spec 06 §6.4 at 16 kHz). Narrowband at
 * 16 kHz shares every one of them with wideband.
 */
export interface PesqRateConfig {
  sampleRate: 8000 | 16000;
  /** W: VAD window, 4 ms. */
  window: number;
  /** Margin of silence before and after the signal: 75 windows. */
  margin: number;
  /** P: data padding after the nominal length, 320 ms. */
  padding: number;
  /** A: fine-alignment FFT length. */
  alignLength: number;
  /** F: perceptual-model frame (32 ms), Q: its hop (16 ms). */
  frameLength: number;
  hop: number;
  bands: BarkBands;
  /** Sp: pitch power density scale; Sl: loudness scale. */
  powerScale: number;
  loudnessScale: number;
  /** Input IIR cascade applied before VAD and alignment (spec 02 §2.7, 06 §6.4.2). */
  cascade: readonly IirSection[];
  /** Shortest accepted signal: f/4 samples (spec 01 §1.2 step 5). */
  minSamples: number;
}

/** Margin in VAD windows (M). */
export const MARGIN_WINDOWS = 75;

export function rateConfig(sampleRate: 8000 | 16000): PesqRateConfig {
  const k = sampleRate / 8000;
  return {
    sampleRate,
    window: 32 * k,
    margin: MARGIN_WINDOWS * 32 * k,
    padding: 2560 * k,
    alignLength: 512 * k,
    frameLength: 256 * k,
    hop: 128 * k,
    bands: sampleRate === 16000 ? BARK_BANDS_16K : BARK_BANDS_8K,
    powerScale: sampleRate === 8000 ? 2.764344e-5 : 6.910853e-6,
    loudnessScale: 1.866055e-1,
    cascade: sampleRate === 8000 ? IIR_CASCADE_8K : IIR_CASCADE_16K,
    minSamples: sampleRate / 4,
  };
}

/** Target power of the level-aligned, band-limited signals (spec 01 §1.3 step 4). */
export const TARGET_POWER = 1e7;
