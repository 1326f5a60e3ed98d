/**
 * Forward complex FFT of `size` points (a power of two ≥ 2) over interleaved Float64Arrays: radix-4
 * decimation in time after a radix-2 or radix-4 first pass that reads the input in digit-reversed
 * order. Every butterfly performs the operations of fft.js 4.0.4 (the transform the PESQ figures
 * were first measured with) in the same order, so spectra are bit for bit the same; what differs is
 * the bookkeeping: each stage's twiddles are stored in the order it reads them and the forward
 * direction needs no sign multiplies.
 */
export class Radix4Fft {
  readonly size: number;
  /** Input offset (in doubles) of each first-pass group, and the distance between its inputs. */
  private readonly groupOffsets: Int32Array;
  private readonly inputStride: number;
  private readonly radix4First: boolean;
  /** Group length (in doubles) and twiddles (cos, −sin of k, 2k and 3k per butterfly) of each stage. */
  private readonly stageLengths: number[] = [];
  private readonly stageTwiddles: Float64Array[] = [];

  constructor(size: number) {
    if (size < 2 || (size & (size - 1)) !== 0) throw new RangeError("FFT size must be a power of two ≥ 2");
    this.size = size;
    const doubles = 2 * size;
    let power = 0;
    while (1 << power < size) power++;
    const width = power % 2 === 0 ? power - 1 : power;
    let step = 1 << width;
    const firstLength = (doubles / step) << 1;
    this.radix4First = firstLength === 8;
    this.inputStride = step;
    const groups = doubles / firstLength;
    this.groupOffsets = new Int32Array(groups);
    for (let t = 0; t < groups; t++) {
      let reversed = 0;
      for (let shift = 0; shift < width; shift += 2) {
        const revShift = width - shift - 2;
        // fft.js shifts by −1 (that is, 31) for the top pair; those bits are zero for every group used.
        if (revShift >= 0) reversed |= ((t >>> shift) & 3) << revShift;
      }
      this.groupOffsets[t] = reversed;
    }
    const angle = (i: number) => (Math.PI * i) / size;
    for (step >>= 2; step >= 2; step >>= 2) {
      const length = (doubles / step) << 1;
      const quarter = length >>> 2;
      const twiddles = new Float64Array(3 * quarter);
      for (let j = 0, k = 0; j < quarter / 2; j++, k += step) {
        twiddles[6 * j] = Math.cos(angle(k));
        twiddles[6 * j + 1] = -Math.sin(angle(k));
        twiddles[6 * j + 2] = Math.cos(angle(2 * k));
        twiddles[6 * j + 3] = -Math.sin(angle(2 * k));
        twiddles[6 * j + 4] = Math.cos(angle(3 * k));
        twiddles[6 * j + 5] = -Math.sin(angle(3 * k));
      }
      this.stageLengths.push(length);
      this.stageTwiddles.push(twiddles);
    }
  }

  /** out = DFT(input), both interleaved complex of `size` points; `out` must not be `input`. */
  transform(out: Float64Array, input: Float64Array): void {
    this.firstPass(out, input);
    this.stages(out);
  }

  /**
   * The first pass: digit-reversed inputs through radix-2 or radix-4 butterflies without twiddles.
   * Written out without helper calls: an optimized caller that does not inline a helper passes it
   * boxed doubles.
   */
  private firstPass(out: Float64Array, input: Float64Array): void {
    const offsets = this.groupOffsets;
    const stride = this.inputStride;
    if (this.radix4First) {
      for (let t = 0, o = 0; t < offsets.length; t++, o += 8) {
        const a = offsets[t]!;
        const b = a + stride;
        const c = b + stride;
        const d = c + stride;
        const Ar = input[a]!;
        const Ai = input[a + 1]!;
        const Br = input[b]!;
        const Bi = input[b + 1]!;
        const Cr = input[c]!;
        const Ci = input[c + 1]!;
        const Dr = input[d]!;
        const Di = input[d + 1]!;
        const T0r = Ar + Cr;
        const T0i = Ai + Ci;
        const T1r = Ar - Cr;
        const T1i = Ai - Ci;
        const T2r = Br + Dr;
        const T2i = Bi + Di;
        const T3r = Br - Dr;
        const T3i = Bi - Di;
        out[o] = T0r + T2r;
        out[o + 1] = T0i + T2i;
        out[o + 2] = T1r + T3i;
        out[o + 3] = T1i - T3r;
        out[o + 4] = T0r - T2r;
        out[o + 5] = T0i - T2i;
        out[o + 6] = T1r - T3i;
        out[o + 7] = T1i + T3r;
      }
    } else {
      for (let t = 0, o = 0; t < offsets.length; t++, o += 4) {
        const e = offsets[t]!;
        const f = e + stride;
        const Er = input[e]!;
        const Ei = input[e + 1]!;
        const Or = input[f]!;
        const Oi = input[f + 1]!;
        out[o] = Er + Or;
        out[o + 1] = Ei + Oi;
        out[o + 2] = Er - Or;
        out[o + 3] = Ei - Oi;
      }
    }
  }

  private stages(out: Float64Array): void {
    const doubles = 2 * this.size;
    for (let s = 0; s < this.stageLengths.length; s++) {
      const length = this.stageLengths[s]!;
      const tw = this.stageTwiddles[s]!;
      const quarter = length >>> 2;
      for (let o = 0; o < doubles; o += length) {
        for (let a = o, w = 0; a < o + quarter; a += 2, w += 6) {
          const b = a + quarter;
          const c = b + quarter;
          const d = c + quarter;
          const Ar = out[a]!;
          const Ai = out[a + 1]!;
          const Br = out[b]!;
          const Bi = out[b + 1]!;
          const Cr = out[c]!;
          const Ci = out[c + 1]!;
          const Dr = out[d]!;
          const Di = out[d + 1]!;
          const tBr = tw[w]!;
          const tBi = tw[w + 1]!;
          const tCr = tw[w + 2]!;
          const tCi = tw[w + 3]!;
          const tDr = tw[w + 4]!;
          const tDi = tw[w + 5]!;
          const MBr = Br * tBr - Bi * tBi;
          const MBi = Br * tBi + Bi * tBr;
          const MCr = Cr * tCr - Ci * tCi;
          const MCi = Cr * tCi + Ci * tCr;
          const MDr = Dr * tDr - Di * tDi;
          const MDi = Dr * tDi + Di * tDr;
          const T0r = Ar + MCr;
          const T0i = Ai + MCi;
          const T1r = Ar - MCr;
          const T1i = Ai - MCi;
          const T2r = MBr + MDr;
          const T2i = MBi + MDi;
          const T3r = MBr - MDr;
          const T3i = MBi - MDi;
          out[a] = T0r + T2r;
          out[a + 1] = T0i + T2i;
          out[b] = T1r + T3i;
          out[b + 1] = T1i - T3r;
          out[c] = T0r - T2r;
          out[c + 1] = T0i - T2i;
          out[d] = T1r - T3i;
          out[d + 1] = T1i + T3r;
        }
      }
    }
  }
}
