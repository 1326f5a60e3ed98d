import { nextPow2, realFft } from "./fft.ts";

/**
 * Filter tables and their application (spec 02 §2.4–2.7, spec 01 §1.3.1, spec 06 §6.3/6.4.2).
 */

/** [frequency Hz, gain dB] points of a filter curve. */
export type FilterCurve = ReadonlyArray<readonly [number, number]>;

const ZERO_BAND = [0, 50, 100, 125, 160, 200, 250, 300] as const;

/** Alignment (level calibration) band-pass, flat 350–3250 Hz (spec 02 §2.5). */
export const ALIGNMENT_CURVE: FilterCurve = [
  ...ZERO_BAND.map((f) => [f, -500] as const),
  ...[350, 400, 500, 600, 630, 800, 1000, 1250, 1600, 2000, 2500, 3000, 3250].map((f) => [f, 0] as const),
  ...[3500, 4000, 5000, 6300, 8000].map((f) => [f, -500] as const),
];

/** IRS receive characteristic (spec 02 §2.6). */
export const IRS_RECEIVE_CURVE: FilterCurve = [
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

/** One second-order section: b0, b1, b2, a1, a2 (spec 02 §2.7). */
export type IirSection = readonly [number, number, number, number, number];

/** Input IIR cascade at 8 kHz (spec 02 §2.7). */
export const IIR_CASCADE_8K: readonly IirSection[] = [
  [0.885535424, -0.885535424, 0.0, -0.771070709, 0.0],
  [0.895092588, 1.292907193, 0.449260174, 1.268869037, 0.442025372],
  [4.04952794, -7.865190042, 3.815662102, -1.746859852, 0.786305963],
  [0.500002353, -0.500002353, 0.0, 0.0, 0.0],
  [0.565002834, -0.241585934, -0.306009671, 0.259688659, 0.249979657],
  [2.115237288, 0.919935084, 1.141240051, -1.587313419, 0.665935315],
  [0.912224584, -0.224397719, -0.641121413, -0.246029464, -0.55672059],
  [0.444617727, -0.307589321, 0.141638062, -0.996391149, 0.502251622],
];

/** Input IIR cascade at 16 kHz (spec 06 §6.4.2). */
export const IIR_CASCADE_16K: readonly IirSection[] = [
  [0.325631521, -0.08678286, -0.238848661, -1.07941649, 0.434583902],
  [0.403961804, -0.556985881, 0.153024077, -0.415115835, 0.696590244],
  [4.736162769, 3.287251046, 1.753289019, -1.859599046, 0.876284034],
  [0.365373469, 0.0, 0.0, -0.634626531, 0.0],
  [0.884811506, 0.0, 0.0, -0.256725271, 0.141536777],
  [0.723593055, -1.447186099, 0.723593044, -1.129587469, 0.657232737],
  [1.644910855, -1.817280902, 1.249658063, -1.778403899, 0.801724355],
  [0.633692689, -0.284644314, -0.319789663, 0.0, 0.0],
  [1.032763031, 0.268428979, 0.602913323, 0.0, 0.0],
  [1.001616361, -0.823749013, 0.439731942, -0.885778255, 0.0],
  [0.752472096, -0.37538899, 0.188977609, -0.077258216, 0.247230734],
  [1.023700575, 0.001661628, 0.52128424, -0.183867259, 0.354324187],
];

/** P.862.2 wideband input filter at 16 kHz: 100 Hz high-pass section (spec 06 §6.3). */
export const WIDEBAND_SECTION_16K: IirSection = [2.740826, -5.4816519, 2.740826, -1.9444777, 0.94597794];

/** Curve value at `hz`: linear in Hz, extrapolating the end segments (spec 02 §2.4). */
export function curveAt(curve: FilterCurve, hz: number): number {
  const last = curve.length - 1;
  let i = 0;
  if (hz <= curve[0]![0]) i = 0;
  else if (hz >= curve[last]![0]) i = last - 1;
  else while (i < last - 1 && hz > curve[i + 1]![0]) i++;
  const [f0, g0] = curve[i]!;
  const [f1, g1] = curve[i + 1]!;
  return g0 + ((hz - f0) * (g1 - g0)) / (f1 - f0);
}

const gainCache = new WeakMap<FilterCurve, Map<string, Float32Array>>();

/** Linear gain per bin 0..size/2 relative to 1000 Hz, rounded once to f32 (cached). */
function binGains(curve: FilterCurve, size: number, sampleRate: number): Float32Array {
  let bySize = gainCache.get(curve);
  if (!bySize) {
    bySize = new Map();
    gainCache.set(curve, bySize);
  }
  const key = `${size}/${sampleRate}`;
  let gains = bySize.get(key);
  if (!gains) {
    gains = new Float32Array(size / 2 + 1);
    const reference = curveAt(curve, 1000);
    for (let k = 0; k <= size / 2; k++) gains[k] = 10 ** ((curveAt(curve, (k * sampleRate) / size) - reference) / 20);
    bySize.set(key, gains);
  }
  return gains;
}

/**
 * The spectrum of a signal segment zero-padded to a power of two, ready to be filtered by several
 * curves (the level alignment's band-pass, then the IRS receive filter of the scaled signal).
 */
export interface SegmentSpectrum {
  length: number;
  size: number;
  /** Bins 0..size/2, interleaved. */
  bins: Float64Array;
}

interface FilterScratch {
  x: Float64Array;
  spectrum: SegmentSpectrum;
  filtered: Float64Array;
}

let scratch: FilterScratch | null = null;

/** Buffers of the last size used, kept (signals of one run share their size). */
function filterScratch(size: number): FilterScratch {
  if (scratch?.x.length !== size) {
    const fft = realFft(size);
    scratch = {
      x: new Float64Array(size),
      spectrum: { length: 0, size, bins: fft.createSpectrum() },
      filtered: fft.createSpectrum(),
    };
  }
  return scratch;
}

/**
 * Spectrum of `buffer[start, start + length)` (spec 01 §1.3.1), in shared scratch: valid until the
 * next call.
 */
export function segmentSpectrum(buffer: Float32Array, start: number, length: number): SegmentSpectrum {
  const size = nextPow2(length);
  const { x, spectrum } = filterScratch(size);
  for (let i = 0; i < length; i++) x[i] = buffer[start + i]!;
  x.fill(0, length);
  realFft(size).forward(x, spectrum.bins);
  spectrum.length = length;
  return spectrum;
}

/**
 * Zero-phase FFT-domain filter of a segment scaled by `scale` (spec 01 §1.3.1): each bin, rounded
 * to float, is scaled by the curve's gain relative to its value at 1000 Hz. The spectrum of the
 * scaled segment is taken as `scale` times the segment's (the FFT is linear), so one forward
 * transform serves the level alignment and the filter after it. Returns a shared scratch array
 * whose first `length` values are the filtered samples (before rounding to float) with the odd ones
 * negated (callers that read |x| or x² need no sign pass), valid until the next filter call; the
 * spectrum is left as it is.
 */
export function filteredSegment(
  spectrum: SegmentSpectrum,
  curve: FilterCurve,
  sampleRate: number,
  scale = 1,
): Float64Array {
  const { size, bins } = spectrum;
  const { x, filtered } = filterScratch(size);
  const gains = binGains(curve, size, sampleRate);
  for (let k = 0; k <= size / 2; k++) {
    const gain = gains[k]!;
    filtered[2 * k] = Math.fround(scale * bins[2 * k]!) * gain;
    filtered[2 * k + 1] = Math.fround(scale * bins[2 * k + 1]!) * gain;
  }
  realFft(size).inverseOddNegated(filtered, x);
  return x;
}

/** `filteredSegment` written back into `buffer[start, start + length)`, rounded to float. */
export function filterSegmentInPlace(
  buffer: Float32Array,
  start: number,
  spectrum: SegmentSpectrum,
  curve: FilterCurve,
  sampleRate: number,
  scale = 1,
): void {
  const x = filteredSegment(spectrum, curve, sampleRate, scale);
  // The odd samples come negated; the sign is restored in the copy (negation is exact).
  const { length } = spectrum;
  for (let i = 0; i < length; i += 2) buffer[start + i] = x[i]!;
  for (let i = 1; i < length; i += 2) buffer[start + i] = -x[i]!;
}

/** One IIR section over `buffer[start, end)` in place, zero initial state, f32 state (spec 02 §2.7). */
export function iirSection(buffer: Float32Array, section: IirSection, start = 0, end = buffer.length): void {
  const [b0, b1, b2, a1, a2] = section.map(Math.fround) as unknown as IirSection;
  let w1 = 0;
  let w2 = 0;
  for (let n = start; n < end; n++) {
    const w = Math.fround(buffer[n]! - a1 * w1 - a2 * w2);
    buffer[n] = b0 * w + b1 * w1 + b2 * w2;
    w2 = w1;
    w1 = w;
  }
}

/**
 * Two sections in one pass, the second one sample behind the first: each computes exactly what it
 * computes alone (the second reads sample n − 1 after the first wrote it), but the two recursions,
 * each latency-bound, now overlap. One loop also covers the first section's first and the second's
 * last sample: code after the loop would lack type feedback in the loop's on-stack-replaced code,
 * which deoptimized there on every call and left the next call's loop to the interpreter.
 */
function iirSectionPair(buffer: Float32Array, first: IirSection, second: IirSection): void {
  // Indexed, not destructured: the destructuring deoptimized the optimized code on other tables.
  const b0 = Math.fround(first[0]);
  const b1 = Math.fround(first[1]);
  const b2 = Math.fround(first[2]);
  const a1 = Math.fround(first[3]);
  const a2 = Math.fround(first[4]);
  const c0 = Math.fround(second[0]);
  const c1 = Math.fround(second[1]);
  const c2 = Math.fround(second[2]);
  const e1 = Math.fround(second[3]);
  const e2 = Math.fround(second[4]);
  const N = buffer.length;
  let w1 = 0;
  let w2 = 0;
  let v1 = 0;
  let v2 = 0;
  for (let n = 0; n <= N; n++) {
    if (n < N) {
      const w = Math.fround(buffer[n]! - a1 * w1 - a2 * w2);
      buffer[n] = b0 * w + b1 * w1 + b2 * w2;
      w2 = w1;
      w1 = w;
    }
    if (n > 0) {
      const v = Math.fround(buffer[n - 1]! - e1 * v1 - e2 * v2);
      buffer[n - 1] = c0 * v + c1 * v1 + c2 * v2;
      v2 = v1;
      v1 = v;
    }
  }
}

/** The cascade of sections, each over the whole buffer in table order (run two at a time). */
export function iirCascade(buffer: Float32Array, sections: readonly IirSection[]): void {
  let s = 0;
  for (; s + 1 < sections.length; s += 2) iirSectionPair(buffer, sections[s]!, sections[s + 1]!);
  if (s < sections.length) iirSection(buffer, sections[s]!);
}
