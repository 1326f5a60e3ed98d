import type { PesqMode } from "./config.ts";
import { type PesqResult, pesq } from "./pesq.ts";
import { checkPair, readPesqFile } from "./pesq-input.ts";

export interface PesqFileResult extends PesqResult {
  reference: string;
  degraded: string;
  /** Conversions applied to the files (channels, rate, encoding). */
  conversions: string[];
}

/** PESQ of two files (WAV, or raw PCM16 LE with `rate`). */
export async function pesqFiles(
  reference: string,
  degraded: string,
  options: { mode?: PesqMode; rate?: number } = {},
): Promise<PesqFileResult> {
  const ref = await readPesqFile(reference, options);
  const deg = await readPesqFile(degraded, options);
  checkPair(ref, deg, reference, degraded);
  const result = pesq(ref.samples, deg.samples, ref.sampleRate, { mode: options.mode ?? "nb" });
  return { reference, degraded, conversions: [...ref.conversions, ...deg.conversions], ...result };
}
