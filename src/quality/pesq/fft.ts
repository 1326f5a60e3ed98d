import { perSize } from "./per-size.ts";
import { Radix4Fft } from "./radix4-fft.ts";

/**
 * Real FFT helpers over a half-size complex radix-4 transform (`radix4-fft.ts`). Spectra are
 * interleaved complex Float64Arrays of length 2·size; forward transforms fill bins 0..size/2 only
 * (the rest is the mirror image).
 */
export class RealFft {
  readonly size: number;
  private readonly scratch: Float64Array;
  /** The windowed frame `forwardFrame` transforms. */
  private readonly frame: Float64Array;

  private readonly half: Radix4Fft;
  private readonly packed: Float64Array;
  private readonly inverseScale: number;
  private readonly twiddleCos: Float64Array;
  private readonly twiddleSin: Float64Array;

  constructor(size: number) {
    if (size < 4) throw new RangeError("RealFft size must be a power of two ≥ 4");
    this.size = size;
    this.half = new Radix4Fft(size / 2);
    this.scratch = new Float64Array(size);
    this.frame = new Float64Array(size);
    this.packed = new Float64Array(size);
    this.inverseScale = 2 / size;
    this.twiddleCos = new Float64Array(size / 2);
    this.twiddleSin = new Float64Array(size / 2);
    for (let k = 0; k < size / 2; k++) {
      this.twiddleCos[k] = Math.cos((2 * Math.PI * k) / size);
      this.twiddleSin[k] = Math.sin((2 * Math.PI * k) / size);
    }
  }

  createSpectrum(): Float64Array {
    return new Float64Array(2 * this.size);
  }

  /** `forward` of the frame fround(signal[at + n]·window[n]), n < size (a windowed analysis frame). */
  forwardFrame(signal: Float32Array, at: number, window: Float32Array, out: Float64Array): void {
    const frame = this.frame;
    for (let n = 0; n < this.size; n++) frame[n] = Math.fround(signal[at + n]! * window[n]!);
    this.forward(frame, out);
  }

  /**
   * Forward transform of `size` real samples into `out` (bins 0..size/2 valid). The samples, read
   * as size/2 complex values z[m] = x[2m] + i·x[2m+1], go through one half-size complex transform Z;
   * then X[k] = E[k] + e^{−2πik/N}·O[k] with E[k] = (Z[k] + conj Z[M−k])/2 and
   * O[k] = (Z[k] − conj Z[M−k])/2i, the spectra of the even and odd samples (about half the work
   * of a full-size transform).
   */
  forward(input: Float64Array, out: Float64Array): void {
    this.half.transform(this.scratch, input);
    const M = this.size / 2;
    const Z = this.scratch;
    const cos = this.twiddleCos;
    const sin = this.twiddleSin;
    const z0r = Z[0]!;
    const z0i = Z[1]!;
    out[0] = z0r + z0i;
    out[1] = 0;
    out[2 * M] = z0r - z0i;
    out[2 * M + 1] = 0;
    // Bins k and M − k read the same two values of Z: E and O are formed once for both, doubled
    // (halving commutes with rounding, so halving the result is exact and gives the same bits).
    for (let k = 1; k <= M >> 1; k++) {
      const m = M - k;
      const ar = Z[2 * k]!;
      const ai = Z[2 * k + 1]!;
      const br = Z[2 * m]!;
      const bi = Z[2 * m + 1]!;
      const er = ar + br;
      const ei = ai - bi;
      const or = ai + bi;
      const oi = br - ar;
      const c = cos[k]!;
      const s = sin[k]!;
      out[2 * k] = 0.5 * (er + or * c + oi * s);
      out[2 * k + 1] = 0.5 * (ei + oi * c - or * s);
      if (m !== k) {
        // E[M − k] = conj E[k], O[M − k] = −conj O[k].
        const cm = cos[m]!;
        const sm = sin[m]!;
        out[2 * m] = 0.5 * (er + or * cm - oi * sm);
        out[2 * m + 1] = -0.5 * (ei + oi * cm + or * sm);
      }
    }
  }

  /**
   * Inverse of a Hermitian spectrum whose bins 0..size/2 are given; writes size real samples.
   * Runs one half-size complex transform: even samples come out as the real part, odd ones as the
   * imaginary part of z = IDFT(E + iO), with E, O the spectra of the even and odd samples. The
   * inverse runs as a forward transform of conj(z)/M (M = size/2, a power of two, so the scaling is
   * exact), whose output is conj(IDFT(z)): the odd samples come out negated.
   */
  inverse(spectrum: Float64Array, out: Float64Array): void {
    this.inverseOddNegated(spectrum, out);
    for (let m = 1; m < this.size; m += 2) out[m] = -out[m]!;
  }

  /**
   * `inverseOddNegated` of the cross spectrum C[k] = fround(conj(X[k])·Y[k]) of two float spectra
   * (bins 0..size/2), without storing C: bins k and M − k are formed once each and feed both packed
   * values that read them. Bit for bit the result of storing C first.
   */
  crossInverseOddNegated(X: Float32Array, Y: Float32Array, out: Float64Array): void {
    const M = this.size / 2;
    const halfScale = 0.5 / M;
    const z = this.packed;
    const cos = this.twiddleCos;
    const sin = this.twiddleSin;
    for (let k = 0; k <= M >> 1; k++) {
      const m = k === 0 ? M : M - k;
      const ar = X[2 * k]!;
      const ai = X[2 * k + 1]!;
      const br = Y[2 * k]!;
      const bi = Y[2 * k + 1]!;
      const pr = Math.fround(ar * br + ai * bi);
      const pi = Math.fround(ar * bi - ai * br);
      const cr = X[2 * m]!;
      const ci = X[2 * m + 1]!;
      const dr = Y[2 * m]!;
      const di = Y[2 * m + 1]!;
      const qr = Math.fround(cr * dr + ci * di);
      const qi = Math.fround(cr * di - ci * dr);
      // Packed values k and m from C[k] = p and C[m] = q, with E and O doubled as in `forward`:
      // sums and differences of p and conj q serve both.
      const er = pr + qr;
      const ei = pi - qi;
      const dr2 = pr - qr;
      const di2 = pi + qi;
      const c = cos[k]!;
      const s = sin[k]!;
      const or = dr2 * c - di2 * s;
      const oi = dr2 * s + di2 * c;
      z[2 * k] = (er - oi) * halfScale;
      z[2 * k + 1] = -(ei + or) * halfScale;
      if (k !== 0 && m !== k) {
        const cm = cos[m]!;
        const sm = sin[m]!;
        z[2 * m] = (er - (di2 * cm - dr2 * sm)) * halfScale;
        z[2 * m + 1] = (ei + (dr2 * cm + di2 * sm)) * halfScale;
      }
    }
    this.half.transform(out, z);
  }

  /**
   * As `inverse`, but odd samples keep a negated sign (enough where only |x| is read). Written out
   * without helper calls: an optimized caller that does not inline a helper passes it boxed doubles.
   */
  inverseOddNegated(spectrum: Float64Array, out: Float64Array): void {
    const M = this.size / 2;
    const scale = this.inverseScale;
    const z = this.packed;
    const cos = this.twiddleCos;
    const sin = this.twiddleSin;
    for (let k = 0; k < M; k++) {
      const xr = spectrum[2 * k]!;
      const xi = spectrum[2 * k + 1]!;
      // X[k + M] = conj(X[M − k])
      const yr = spectrum[2 * (M - k)]!;
      const yi = -spectrum[2 * (M - k) + 1]!;
      const er = 0.5 * (xr + yr);
      const ei = 0.5 * (xi + yi);
      // O[k] = (X[k] − X[k + M]) · e^{+2πik/N} / 2
      const dr = 0.5 * (xr - yr);
      const di = 0.5 * (xi - yi);
      const or = dr * cos[k]! - di * sin[k]!;
      const oi = dr * sin[k]! + di * cos[k]!;
      z[2 * k] = (er - oi) * scale;
      z[2 * k + 1] = -(ei + or) * scale;
    }
    this.half.transform(out, z);
  }
}

/** A shared transform of the given power-of-two size. */
export const realFft: (size: number) => RealFft = perSize((size) => new RealFft(size));

/** Smallest power of two ≥ n. */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}
