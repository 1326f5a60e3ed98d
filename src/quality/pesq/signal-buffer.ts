import type { PesqRateConfig } from "./config.ts";

/**
 * A signal laid out as the model reads it (spec 01 §1.2 step 6): a margin of zeros, the L samples
 * in 16-bit units, then a margin plus the padding P of zeros. The nominal length N = L + 2·margin
 * covers [0, N); the buffer holds N + P samples.
 */
export interface SignalBuffer {
  samples: Float32Array;
  /** L: number of input samples. */
  length: number;
  /** N: nominal length. */
  nominal: number;
}

/** `input` is float in [-1, 1) (16-bit full scale). */
export function signalBuffer(input: Float32Array | Float64Array, cfg: PesqRateConfig): SignalBuffer {
  const nominal = input.length + 2 * cfg.margin;
  const samples = new Float32Array(nominal + cfg.padding);
  for (let i = 0; i < input.length; i++) samples[cfg.margin + i] = input[i]! * 32768;
  return { samples, length: input.length, nominal };
}

/** Extends a buffer with zeros to `nominal + P` samples (spec 01 §1.7). */
export function equalizeLength(buffer: Float32Array, nominal: number, cfg: PesqRateConfig): Float32Array {
  const size = nominal + cfg.padding;
  if (buffer.length >= size) return buffer;
  const out = new Float32Array(size);
  out.set(buffer);
  return out;
}
