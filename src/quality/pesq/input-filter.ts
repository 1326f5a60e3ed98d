import { nextPow2, realFft } from "./fft.ts";

/**
 * Input filtering (ITU-T P.862 §10.1): the whole signal is filtered at once in the frequency domain
 * with a zero-phase response interpolated (linearly in hertz, in dB) between tabulated points.
 */

/** [frequency Hz, gain dB] points. */
export type FilterTable = ReadonlyArray<readonly [number, number]>;

/** Pass band 350–3250 Hz used only to measure speech power for level alignment (narrowband). */
export const LEVEL_FILTER_NB: FilterTable = [
  [0, -500],
  [50, -500],
  [100, -500],
  [125, -500],
  [160, -500],
  [200, -500],
  [250, -500],
  [300, -500],
  [350, 0],
  [400, 0],
  [500, 0],
  [600, 0],
  [630, 0],
  [800, 0],
  [1000, 0],
  [1250, 0],
  [1600, 0],
  [2000, 0],
  [2500, 0],
  [3000, 0],
  [3250, 0],
  [3500, -500],
  [4000, -500],
  [5000, -500],
  [6300, -500],
  [8000, -500],
];

/** Level-measurement band for wideband (P.862.2): 100 Hz to 8 kHz. */
export const LEVEL_FILTER_WB: FilterTable = [
  [0, -500],
  [50, -500],
  [100, 0],
  [8000, 0],
];

/** Modified IRS receive characteristic: the handset the listener is assumed to use (narrowband). */
export const IRS_RECEIVE: FilterTable = [
  [0, -200],
  [50, -40],
  [100, -20],
  [125, -12],
  [160, -6],
  [200, 0],
  [250, 4],
  [300, 6],
  [350, 8],
  [400, 10],
  [500, 11],
  [600, 12],
  [700, 12],
  [800, 12],
  [1000, 12],
  [1300, 12],
  [1600, 12],
  [2000, 12],
  [2500, 12],
  [3000, 12],
  [3250, 12],
  [3500, 4],
  [4000, -200],
  [5000, -200],
  [6300, -200],
  [8000, -200],
];

const gainCache = new WeakMap<FilterTable, Map<number, Float64Array>>();

/** Linear amplitude gain per FFT bin 0..size/2 for a table, at the given sample rate (memoised; do not modify). */
export function tableGains(table: FilterTable, size: number, sampleRate: number): Float64Array {
  let bySize = gainCache.get(table);
  if (!bySize) {
    bySize = new Map();
    gainCache.set(table, bySize);
  }
  const key = size * 100000 + sampleRate;
  let gains = bySize.get(key);
  if (!gains) {
    gains = computeGains(table, size, sampleRate);
    bySize.set(key, gains);
  }
  return gains;
}

const productCache = new Map<number, Float64Array>();

/** Level-measurement band × IRS receive response: the narrowband level is measured as heard (memoised). */
export function narrowbandLevelGains(size: number, sampleRate: number): Float64Array {
  const key = size * 100000 + sampleRate;
  let gains = productCache.get(key);
  if (!gains) {
    const band = tableGains(LEVEL_FILTER_NB, size, sampleRate);
    const irs = tableGains(IRS_RECEIVE, size, sampleRate);
    gains = new Float64Array(band.length);
    for (let k = 0; k < band.length; k++) gains[k] = band[k]! * irs[k]!;
    productCache.set(key, gains);
  }
  return gains;
}

function computeGains(table: FilterTable, size: number, sampleRate: number): Float64Array {
  const gains = new Float64Array(size / 2 + 1);
  let seg = 0;
  for (let k = 0; k <= size / 2; k++) {
    const f = (k * sampleRate) / size;
    while (seg < table.length - 2 && f > table[seg + 1]![0]) seg++;
    const [f0, g0] = table[seg]!;
    const [f1, g1] = table[Math.min(seg + 1, table.length - 1)]!;
    let db: number;
    if (f <= f0) db = g0;
    else if (f >= f1) db = g1;
    else db = g0 + ((f - f0) / (f1 - f0)) * (g1 - g0);
    gains[k] = 10 ** (db / 20);
  }
  return gains;
}

/** The spectrum of a whole (zero-padded) signal, kept to filter it several ways. */
export interface SignalSpectrum {
  size: number;
  spectrum: Float64Array;
}

export function signalSpectrum(signal: Float64Array): SignalSpectrum {
  const size = nextPow2(signal.length);
  const fft = realFft(size);
  const input = new Float64Array(size);
  input.set(signal);
  const spectrum = fft.createSpectrum();
  fft.forward(input, spectrum);
  return { size, spectrum };
}

/** Energy Σ y² of the signal filtered by `gains` (Parseval; no inverse transform needed). */
export function filteredEnergy(s: SignalSpectrum, gains: Float64Array): number {
  const { size, spectrum } = s;
  let sum = 0;
  for (let k = 0; k <= size / 2; k++) {
    const re = spectrum[2 * k]!;
    const im = spectrum[2 * k + 1]!;
    const p = (re * re + im * im) * gains[k]! * gains[k]!;
    sum += k === 0 || k === size / 2 ? p : 2 * p;
  }
  return sum / size;
}

/** The signal filtered by `gains` and multiplied by `scale`, `length` samples long. */
export function applyGains(s: SignalSpectrum, gains: Float64Array, scale: number, length: number): Float64Array {
  const { size, spectrum } = s;
  const fft = realFft(size);
  const work = fft.createSpectrum();
  for (let k = 0; k <= size / 2; k++) {
    const g = gains[k]! * scale;
    work[2 * k] = spectrum[2 * k]! * g;
    work[2 * k + 1] = spectrum[2 * k + 1]! * g;
  }
  const out = new Float64Array(size);
  fft.inverse(work, out);
  return length === size ? out : out.slice(0, length);
}

/**
 * The wideband input filter of P.862.2: a second-order Butterworth high-pass at 100 Hz (bilinear
 * transform), run forward in time, replacing the IRS receive filter.
 */
export function highPass100(signal: Float64Array, sampleRate: number, scale: number): Float64Array {
  const w = Math.tan((Math.PI * 100) / sampleRate);
  const q = Math.SQRT1_2;
  const norm = 1 / (1 + w / q + w * w);
  const b0 = norm;
  const b1 = -2 * norm;
  const b2 = norm;
  const a1 = 2 * (w * w - 1) * norm;
  const a2 = (1 - w / q + w * w) * norm;
  const out = new Float64Array(signal.length);
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < signal.length; i++) {
    const x = signal[i]! * scale;
    const y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
    out[i] = y;
    x2 = x1;
    x1 = x;
    y2 = y1;
    y1 = y;
  }
  return out;
}

/**
 * The input filter of the time-alignment path (P.862 §10.1.2): cascaded second-order sections
 * [b0, b1, b2, a1, a2] (y = b0·x + b1·x₁ + b2·x₂ − a1·y₁ − a2·y₂), the recommendation's coefficients.
 * Voice activity and the utterance delays are measured on the filtered copy; the perceptual model
 * keeps the IRS-filtered signal.
 */
const ALIGNMENT_SECTIONS_8K: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [0.885535424, -0.885535424, 0, -0.771070709, 0],
  [0.895092588, 1.292907193, 0.449260174, 1.268869037, 0.442025372],
  [4.04952794, -7.865190042, 3.815662102, -1.746859852, 0.786305963],
  [0.500002353, -0.500002353, 0, 0, 0],
  [0.565002834, -0.241585934, -0.306009671, 0.259688659, 0.249979657],
  [2.115237288, 0.919935084, 1.141240051, -1.587313419, 0.665935315],
  [0.912224584, -0.224397719, -0.641121413, -0.246029464, -0.55672059],
  [0.444617727, -0.307589321, 0.141638062, -0.996391149, 0.502251622],
];

const ALIGNMENT_SECTIONS_16K: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [0.325631521, -0.08678286, -0.238848661, -1.07941649, 0.434583902],
  [0.403961804, -0.556985881, 0.153024077, -0.415115835, 0.696590244],
  [4.736162769, 3.287251046, 1.753289019, -1.859599046, 0.876284034],
  [0.365373469, 0, 0, -0.634626531, 0],
  [0.884811506, 0, 0, -0.256725271, 0.141536777],
  [0.723593055, -1.447186099, 0.723593044, -1.129587469, 0.657232737],
  [1.644910855, -1.817280902, 1.249658063, -1.778403899, 0.801724355],
  [0.633692689, -0.284644314, -0.319789663, 0, 0],
  [1.032763031, 0.268428979, 0.602913323, 0, 0],
  [1.001616361, -0.823749013, 0.439731942, -0.885778255, 0],
  [0.752472096, -0.37538899, 0.188977609, -0.077258216, 0.247230734],
  [1.023700575, 0.001661628, 0.52128424, -0.183867259, 0.354324187],
];

/** DC-free copy of `signal` run through the alignment path's input filter. */
export function alignmentFilter(signal: Float64Array, sampleRate: 8000 | 16000): Float64Array {
  const out = new Float64Array(signal.length);
  let mean = 0;
  for (let i = 0; i < signal.length; i++) mean += signal[i]!;
  mean /= signal.length || 1;
  for (let i = 0; i < signal.length; i++) out[i] = signal[i]! - mean;
  for (const [b0, b1, b2, a1, a2] of sampleRate === 8000 ? ALIGNMENT_SECTIONS_8K : ALIGNMENT_SECTIONS_16K) {
    let x1 = 0;
    let x2 = 0;
    let y1 = 0;
    let y2 = 0;
    for (let i = 0; i < out.length; i++) {
      const x = out[i]!;
      const y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
      x2 = x1;
      x1 = x;
      y2 = y1;
      y1 = y;
      out[i] = y;
    }
  }
  return out;
}
