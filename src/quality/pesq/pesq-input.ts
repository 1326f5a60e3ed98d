import { readFile } from "node:fs/promises";
import { channelsIdentical, isWav, readPcm16le, readWav, resample } from "../../audio/index.ts";
import { QoelabError, unreadableFile } from "../../errors.ts";
import type { PesqMode } from "./config.ts";

/**
 * Turning files into PESQ input. PESQ scores mono speech at 8 or 16 kHz; anything else is converted
 * only when the conversion is unambiguous, and every conversion is reported:
 * - channels: identical channels are taken as mono; different channels are refused (which one?);
 * - rate: 8000/16000 Hz are used as they are; another rate is resampled to 16000 Hz when it is
 *   higher (8000 Hz in narrowband mode when it is below 16000 Hz).
 */
export interface PesqSignal {
  samples: Float32Array;
  sampleRate: number;
  /** What was done to the file to make it PESQ input. */
  conversions: string[];
}

export interface PesqFileOptions {
  /** Sample rate of a headerless PCM16 LE file (required for raw input). */
  rate?: number;
  mode?: PesqMode;
}

function targetRate(rate: number, mode: PesqMode, name: string): number {
  if (mode !== "nb" && rate < 16000) {
    // Spec 06 §6.2: wideband needs 16 kHz input; up-sampling would add no band above 4 kHz.
    throw new QoelabError(
      "PESQ_WB_NEEDS_16K",
      `${name}: ${rate} Hz; wideband PESQ (P.862.2) needs 16000 Hz input (or higher, resampled down)`,
      { file: name, sampleRate: rate, mode },
    );
  }
  if (rate === 8000 || rate === 16000) return rate;
  if (mode !== "nb") return 16000;
  return rate > 16000 ? 16000 : 8000;
}

/** Mono 8/16 kHz PESQ input from decoded channels. */
export function pesqSignal(
  channels: Float32Array[],
  sampleRate: number,
  name: string,
  mode: PesqMode = "nb",
): PesqSignal {
  const conversions: string[] = [];
  let samples: Float32Array;
  if (channels.length === 1) samples = channels[0]!;
  else if (channelsIdentical(channels)) {
    samples = channels[0]!;
    conversions.push(`${name}: ${channels.length} identical channels taken as mono`);
  } else {
    throw new QoelabError(
      "PESQ_AMBIGUOUS_CHANNELS",
      `${name}: ${channels.length} channels that differ; PESQ scores one channel — extract the one to score first`,
      { file: name, channels: channels.length },
    );
  }
  const rate = targetRate(sampleRate, mode, name);
  if (rate !== sampleRate) {
    samples = resample(samples, sampleRate, rate);
    conversions.push(`${name}: resampled ${sampleRate} Hz → ${rate} Hz`);
  }
  return { samples, sampleRate: rate, conversions };
}

/** Reads a WAV (any linear PCM/float/G.711 layout) or a headerless PCM16 LE file (needs `rate`). */
export async function readPesqFile(path: string, options: PesqFileOptions = {}): Promise<PesqSignal> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    throw unreadableFile("PESQ_FILE_UNREADABLE", path, error);
  }
  const mode = options.mode ?? "nb";
  if (isWav(bytes)) {
    const wav = readWav(bytes, path);
    if (wav.encoding !== "pcm") {
      // Spec 01 §1.2: PESQ input is linear PCM; a coded or float signal is refused, not guessed at.
      throw new QoelabError(
        "PESQ_NOT_PCM",
        `${path}: ${wav.encoding} WAV, not linear PCM; PESQ takes 16-bit linear PCM (convert it first, e.g. sox IN -e signed -b 16 OUT.wav)`,
        { file: path, encoding: wav.encoding },
      );
    }
    const signal = pesqSignal(wav.channels, wav.sampleRate, path, mode);
    if (wav.bitsPerSample !== 16) {
      signal.conversions.unshift(`${path}: ${wav.bitsPerSample}-bit PCM converted to 16-bit linear`);
    }
    return signal;
  }
  if (options.rate === undefined) {
    throw new QoelabError(
      "PESQ_RAW_NEEDS_RATE",
      `${path}: not a WAV file; for headerless 16-bit little-endian PCM give its sample rate (--rate)`,
      { file: path },
    );
  }
  return pesqSignal([readPcm16le(bytes, path)], options.rate, path, mode);
}

/** Checks that two signals can be compared: same sample rate. */
export function checkPair(reference: PesqSignal, degraded: PesqSignal, referenceName: string, degradedName: string) {
  if (reference.sampleRate !== degraded.sampleRate) {
    throw new QoelabError(
      "PESQ_RATE_MISMATCH",
      `${referenceName} is ${reference.sampleRate} Hz but ${degradedName} is ${degraded.sampleRate} Hz; PESQ compares signals at one rate`,
      { reference: reference.sampleRate, degraded: degraded.sampleRate },
    );
  }
}

export interface PesqPair {
  reference: string;
  degraded: string;
  /** Sample rate for raw files, from a third column when present. */
  rate?: number;
}

/**
 * Pairs from a TSV: `reference<TAB>degraded[<TAB>rate[<TAB>…]]` per line; a first line whose rate
 * column is not a number is a header; `#` lines are comments. Relative paths are resolved against
 * `baseDir`.
 */
export function parsePairsTsv(text: string, baseDir: string, name = "pairs.tsv"): PesqPair[] {
  const pairs: PesqPair[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === "" || line.startsWith("#")) return;
    const cols = line.split("\t");
    if (cols.length < 2) {
      throw new QoelabError("PESQ_BAD_PAIRS", `${name}:${i + 1}: expected reference<TAB>degraded`, {
        file: name,
        line: i + 1,
      });
    }
    const rate = cols[2] === undefined || cols[2].trim() === "" ? undefined : Number(cols[2]);
    if (i === 0 && (rate === undefined ? /^ref/i.test(cols[0]!) : Number.isNaN(rate))) return;
    if (rate !== undefined && !(Number.isInteger(rate) && rate > 0)) {
      throw new QoelabError("PESQ_BAD_PAIRS", `${name}:${i + 1}: rate "${cols[2]}" is not a positive integer`, {
        file: name,
        line: i + 1,
      });
    }
    const resolve = (p: string) => (p.startsWith("/") ? p : `${baseDir.replace(/\/$/, "")}/${p}`);
    pairs.push({ reference: resolve(cols[0]!.trim()), degraded: resolve(cols[1]!.trim()), rate });
  });
  return pairs;
}
