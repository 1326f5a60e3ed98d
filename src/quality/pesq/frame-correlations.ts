import { realFft } from "./fft.ts";
import { perSize } from "./per-size.ts";

/**
 * The frame cross-correlations of the fine alignment (spec 01 §1.10) and of the split search
 * (§1.13), remembered for one signal pair. Both only read, of |xcorr| between the windowed reference
 * frame at r and the windowed degraded frame at d, its peak v = 0.99·max and the lags whose value
 * exceeds v; the split search visits the same frames (and often the same (r, d) pairs) again and
 * again across candidates, passes and searches, and the utterances' fine delays visit some of them
 * first. So each frame spectrum is computed once, kept rounded to float (as the correlation reads
 * it), and each (r, d) result once, all for one window: when §1.13.1 changes the window, everything
 * is forgotten. Every value is the one a fresh computation gives, bit for bit.
 */
export class FrameCorrelations {
  readonly size: number;
  /** After `correlate`: v, v^(1/8), and the lags above v, ascending, in peaks[peakFrom, peakTo). */
  v = 0;
  weight = 0;
  peakFrom = 0;
  peakTo = 0;
  peaks: Int32Array;

  private ref: Float32Array = new Float32Array(0);
  private deg: Float32Array = new Float32Array(0);
  private readonly window: Float32Array;
  private windowSet = false;
  private readonly refSpectra = new Map<number, Float32Array>();
  private readonly degSpectra = new Map<number, Float32Array>();
  private readonly pool: Float32Array[] = [];
  /** (r, d) → index into v/weight/peak-range columns. */
  private readonly results = new Map<number, number>();
  private resultV = new Float64Array(1024);
  private resultWeight = new Float64Array(1024);
  private resultFrom = new Int32Array(1024);
  private resultTo = new Int32Array(1024);
  private peakCount = 0;

  private readonly spectrum: Float64Array;
  private readonly xcorr: Float64Array;

  constructor(size: number) {
    this.size = size;
    this.window = new Float32Array(size);
    this.spectrum = realFft(size).createSpectrum();
    this.xcorr = new Float64Array(size);
    this.peaks = new Int32Array(4096);
  }

  /** Starts a signal pair: forgets everything. */
  begin(ref: Float32Array, deg: Float32Array): void {
    this.ref = ref;
    this.deg = deg;
    this.forget();
    this.windowSet = false;
  }

  /** Sets the analysis window; a window that differs in any value forgets what was computed. */
  useWindow(window: Float32Array): void {
    const own = this.window;
    if (this.windowSet) {
      let same = true;
      for (let n = 0; n < this.size; n++) {
        if (!Object.is(own[n], window[n])) {
          same = false;
          break;
        }
      }
      if (same) return;
      this.forget();
    }
    own.set(window.subarray(0, this.size));
    this.windowSet = true;
  }

  /** Correlates the reference frame at r with the degraded frame at d (see the public fields). */
  correlate(r: number, d: number): void {
    const key = r * 4294967296 + d;
    let index = this.results.get(key);
    if (index === undefined) {
      index = this.compute(r, d);
      this.results.set(key, index);
    }
    this.v = this.resultV[index]!;
    this.weight = this.resultWeight[index]!;
    this.peakFrom = this.resultFrom[index]!;
    this.peakTo = this.resultTo[index]!;
  }

  private forget(): void {
    for (const map of [this.refSpectra, this.degSpectra]) {
      for (const s of map.values()) if (this.pool.length < 8192) this.pool.push(s);
      map.clear();
    }
    this.results.clear();
    this.peakCount = 0;
  }

  private frameSpectrum(signal: Float32Array, at: number, cache: Map<number, Float32Array>): Float32Array {
    let stored = cache.get(at);
    if (stored) return stored;
    const { size, spectrum, window } = this;
    realFft(size).forwardFrame(signal, at, window, spectrum);
    stored = this.pool.pop() ?? new Float32Array(size + 2);
    // Bins 0..size/2, rounded to float on store.
    for (let k = 0; k < size + 2; k++) stored[k] = spectrum[k]!;
    cache.set(at, stored);
    return stored;
  }

  private compute(r: number, d: number): number {
    const X = this.frameSpectrum(this.ref, r, this.refSpectra);
    const Y = this.frameSpectrum(this.deg, d, this.degSpectra);
    const { size, xcorr } = this;
    // Only |xcorr| is read, so the odd samples may keep their negated sign.
    realFft(size).crossInverseOddNegated(X, Y, xcorr);
    // |xcorr| is read as float; rounding is monotonic, so the largest float is the float of the
    // largest double, and the floats need not be stored.
    let largest = 0;
    for (let n = 0; n < size; n++) {
      const a = Math.abs(xcorr[n]!);
      if (a > largest) largest = a;
    }
    const v = Math.fround(0.99 * Math.fround(largest));
    const from = this.peakCount;
    for (let p = 0; p < size; p++) {
      if (Math.fround(Math.abs(xcorr[p]!)) > v) {
        if (this.peakCount === this.peaks.length) {
          const grown = new Int32Array(2 * this.peaks.length);
          grown.set(this.peaks);
          this.peaks = grown;
        }
        this.peaks[this.peakCount++] = p;
      }
    }
    const index = this.results.size;
    if (index === this.resultV.length) this.growResults();
    this.resultV[index] = v;
    this.resultWeight[index] = Math.fround(v ** 0.125);
    this.resultFrom[index] = from;
    this.resultTo[index] = this.peakCount;
    return index;
  }

  private growResults(): void {
    const n = 2 * this.resultV.length;
    const grow = <T extends Float64Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.resultV = grow(this.resultV, (m) => new Float64Array(m));
    this.resultWeight = grow(this.resultWeight, (m) => new Float64Array(m));
    this.resultFrom = grow(this.resultFrom, (m) => new Int32Array(m));
    this.resultTo = grow(this.resultTo, (m) => new Int32Array(m));
  }
}

/** The store of one frame size, shared by the fine alignment and the split search. */
export const frameCorrelations: (size: number) => FrameCorrelations = perSize((size) => new FrameCorrelations(size));
