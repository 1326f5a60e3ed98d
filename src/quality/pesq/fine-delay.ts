import { realFft } from "./fft.ts";

/**
 * Fine time alignment per utterance (spec 01 §1.10): a histogram of the cross-correlation peaks of
 * Hann-windowed frames of A samples (75 % overlap), smoothed, normalized and read at its peak.
 */

export function hannWindow(size: number): Float32Array {
  const w = new Float32Array(size);
  for (let n = 0; n < size; n++) w[n] = 0.5 * (1 - Math.cos((2 * Math.PI * n) / size));
  return w;
}

/** |cross-correlation| of one windowed reference frame against one windowed degraded frame. */
export class FrameCorrelator {
  readonly size: number;
  readonly magnitude: Float32Array;
  private readonly a: Float64Array;
  private readonly A: Float64Array;
  private readonly B: Float64Array;
  private readonly C: Float64Array;

  constructor(size: number) {
    this.size = size;
    const fft = realFft(size);
    this.magnitude = new Float32Array(size);
    this.a = new Float64Array(size);
    this.A = fft.createSpectrum();
    this.B = fft.createSpectrum();
    this.C = fft.createSpectrum();
  }

  /** Fills `magnitude` and returns its maximum. */
  correlate(ref: Float32Array, refAt: number, deg: Float32Array, degAt: number, window: Float32Array): number {
    this.transform(ref, refAt, window, this.A);
    this.transform(deg, degAt, window, this.B);
    return this.cross(this.A, this.B);
  }

  /**
   * The same with frame spectra kept in `cache` by signal and position (the split search visits
   * the same frames with one window many times).
   */
  correlateCached(
    ref: Float32Array,
    refAt: number,
    deg: Float32Array,
    degAt: number,
    window: Float32Array,
    cache: SpectrumCache,
  ): number {
    return this.cross(
      this.cached(ref, refAt, window, cache.ref, cache),
      this.cached(deg, degAt, window, cache.deg, cache),
    );
  }

  private cached(
    signal: Float32Array,
    at: number,
    window: Float32Array,
    cache: Map<number, Float64Array>,
    store: SpectrumCache,
  ) {
    let spectrum = cache.get(at);
    if (!spectrum) {
      // Bins 0..size/2 fill size + 2 values; they are kept rounded to float.
      spectrum = store.take(this.size + 2);
      this.transform(signal, at, window, spectrum);
      for (let k = 0; k < this.size + 2; k++) spectrum[k] = Math.fround(spectrum[k]!);
      cache.set(at, spectrum);
    }
    return spectrum;
  }

  private transform(signal: Float32Array, at: number, window: Float32Array, out: Float64Array): void {
    const { size, a } = this;
    for (let n = 0; n < size; n++) a[n] = Math.fround(signal[at + n]! * window[n]!);
    realFft(size).forward(a, out);
  }

  /** |inverse of conj(X)·Y| into `magnitude`; returns its maximum. */
  private cross(X: Float64Array, Y: Float64Array): number {
    const { size, a, C } = this;
    for (let k = 0; k <= size / 2; k++) {
      const ar = Math.fround(X[2 * k]!);
      const ai = Math.fround(X[2 * k + 1]!);
      const br = Math.fround(Y[2 * k]!);
      const bi = Math.fround(Y[2 * k + 1]!);
      C[2 * k] = Math.fround(ar * br + ai * bi);
      C[2 * k + 1] = Math.fround(ar * bi - ai * br);
    }
    realFft(size).inverseOddNegated(C, a);
    let max = 0;
    const mag = this.magnitude;
    for (let n = 0; n < size; n++) {
      mag[n] = Math.abs(a[n]!);
      if (mag[n]! > max) max = mag[n]!;
    }
    return max;
  }
}

/**
 * Frame spectra by position, for the reference and the degraded signal. `clear` keeps the arrays
 * for reuse (up to a bound), so a long run does not allocate one array per frame.
 */
export class SpectrumCache {
  readonly ref = new Map<number, Float64Array>();
  readonly deg = new Map<number, Float64Array>();
  private readonly pool: Float64Array[] = [];

  /** An array of `length` values (contents undefined). */
  take(length: number): Float64Array {
    const spare = this.pool.pop();
    return spare && spare.length === length ? spare : new Float64Array(length);
  }

  /** Forgets every spectrum, keeping at most `keep` arrays for reuse. */
  clear(keep = 4096): void {
    for (const map of [this.ref, this.deg]) {
      for (const spectrum of map.values()) if (this.pool.length < keep) this.pool.push(spectrum);
      map.clear();
    }
  }
}

/** Lag of the first maximum of `h`, folded to negative above A/2. */
export function peakLag(h: Float32Array | Float64Array): number {
  let best = 0;
  let max = h[0]!;
  for (let p = 1; p < h.length; p++) {
    if (h[p]! > max) {
      max = h[p]!;
      best = p;
    }
  }
  return best >= h.length / 2 ? best - h.length : best;
}

export interface FineDelay {
  delay: number;
  confidence: number;
}

/** Fine delay of the reference windows [s0, s1) from the initial estimate `d0` (spec 01 §1.10). */
export function fineDelay(
  ref: Float32Array,
  deg: Float32Array,
  degNominal: number,
  s0: number,
  s1: number,
  d0: number,
  W: number,
  A: number,
): FineDelay {
  const window = hannWindow(A);
  const correlator = new FrameCorrelator(A);
  const h = new Float64Array(A);
  let r = s0 * W;
  let d = r + d0;
  if (d < 0) {
    r = -d0;
    d = 0;
  }
  while (d + A <= degNominal && r + A <= s1 * W) {
    const v = Math.fround(0.99 * correlator.correlate(ref, r, deg, d, window));
    const weight = Math.fround(v ** 0.125);
    const mag = correlator.magnitude;
    for (let p = 0; p < A; p++) if (mag[p]! > v) h[p] = Math.fround(h[p]! + weight);
    r += A / 4;
    d += A / 4;
  }
  let sum = 0;
  for (let p = 0; p < A; p++) sum += h[p]!;
  const radius = A / 64;
  const smooth = new Float32Array(A);
  if (sum > 0) {
    for (let p = 0; p < A; p++) {
      let s = h[p]!;
      for (let k = 1; k < radius; k++) {
        const kw = 1 - k / radius;
        s += kw * (h[(p + k) % A]! + h[(p - k + A) % A]!);
      }
      smooth[p] = Math.abs(s / sum);
    }
  }
  const lag = peakLag(smooth);
  const at = lag < 0 ? lag + A : lag;
  return { delay: d0 + lag, confidence: smooth[at]! };
}
