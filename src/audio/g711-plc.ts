/**
 * Packet loss concealment for G.711 after ITU-T G.711 Appendix I: during an erasure the last pitch
 * period(s) of the good signal are repeated, joined by overlap-adds (OLA) so that no clicks appear;
 * the repetition widens to two and then three periods (10 and 20 ms into the erasure) to avoid a
 * buzzy, too-periodic sound, is attenuated by 20 % per 10 ms from the second 10 ms on, and is
 * silent after 60 ms. At the first good sample after an erasure the synthetic signal is cross-faded
 * into the real one over a quarter pitch period plus 4 ms per additional 10 ms of erasure (≤ 10 ms).
 *
 * The output lags the input by `PLC_DELAY` samples (3.75 ms): the last quarter period before an
 * erasure must still be changeable when the erasure is detected. `concealLosses` hides that delay
 * for whole signals.
 *
 * Written from the Appendix's description (pitch range 66–200 Hz, 20 ms correlation window,
 * 2:1 decimated coarse search refined at full rate); not a port of its reference code.
 */

/** 10 ms at 8 kHz: the unit in which the erasure policy changes. */
const FRAME = 80;
/** Pitch period search range in samples (200 Hz … 66.7 Hz). */
const PITCH_MIN = 40;
const PITCH_MAX = 120;
/** Longest quarter-period overlap. */
const OVERLAP_MAX = PITCH_MAX >> 2;
/** Three periods of the longest pitch plus one overlap: all the repetition ever needs. */
const HISTORY = 3 * PITCH_MAX + OVERLAP_MAX;
/** Template length of the pitch correlation (20 ms). */
const CORR_LEN = 160;
/** Below this energy per sample a lag's correlation is not trusted (avoids dividing by ~0). */
const CORR_MIN_ENERGY_PER_SAMPLE = 250;
/** End-of-erasure overlap grows by 4 ms for each 10 ms of erasure beyond the first. */
const END_OVERLAP_STEP = 32;
/** Attenuation per sample from 10 ms on: 20 % per 10 ms, silent at 60 ms. */
const ATTENUATION_PER_SAMPLE = 0.2 / FRAME;

/** Samples of delay between input and output of `G711Plc`. */
export const PLC_DELAY = OVERLAP_MAX;

export class G711Plc {
  /** Newest sample at the end; the last PLC_DELAY samples are not yet output. */
  private readonly history = new Float32Array(HISTORY);
  /** Snapshot of `history` when the erasure began: the source of all repetition. */
  private readonly original = new Float32Array(HISTORY);
  /** The periods being repeated, tail smoothed into the head. */
  private readonly region = new Float32Array(3 * PITCH_MAX);
  /** Pending crossfade while the region widens. */
  private readonly previousRegion = new Float32Array(3 * PITCH_MAX);
  private previousRegionLength = 0;
  private regionLength = 0;
  private regionPos = 0;
  private widenFade = 0;
  private pitch = 0;
  private overlap = 0;
  /** Synthetic samples produced since the erasure began (drives widening and attenuation). */
  private erased = 0;
  private inErasure = false;
  /** Remaining samples of the end-of-erasure crossfade, and its total length. */
  private endFadeLeft = 0;
  private endFadeLength = 0;

  /** The pitch period (samples) chosen at the start of the last erasure (0 before any). */
  get lastPitch(): number {
    return this.pitch;
  }

  /** Feeds good samples; writes as many (delayed) samples to `output[outputOffset…]`. */
  good(input: Int16Array, inputOffset: number, count: number, output: Int16Array, outputOffset: number): void {
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, HISTORY - PLC_DELAY);
      if (this.inErasure) this.beginEndFade();
      this.shift(n);
      const base = HISTORY - n;
      for (let i = 0; i < n; i++) {
        let x = input[inputOffset + done + i]!;
        if (this.endFadeLeft > 0) {
          // Cross-fade synthetic → real; the weight of the real signal rises linearly.
          const w = (this.endFadeLength - this.endFadeLeft + 1) / (this.endFadeLength + 1);
          x = this.nextSynthetic() * (1 - w) + x * w;
          if (--this.endFadeLeft === 0) this.erased = 0;
        }
        this.history[base + i] = x;
      }
      this.emit(n, output, outputOffset + done);
      done += n;
    }
  }

  /** Conceals `count` lost samples; writes as many (delayed) samples to `output[outputOffset…]`. */
  lost(count: number, output: Int16Array, outputOffset: number): void {
    for (let done = 0; done < count; ) {
      const n = Math.min(count - done, HISTORY - PLC_DELAY);
      if (!this.inErasure) this.beginErasure();
      this.shift(n);
      const base = HISTORY - n;
      for (let i = 0; i < n; i++) this.history[base + i] = this.nextSynthetic();
      this.emit(n, output, outputOffset + done);
      done += n;
    }
  }

  /** Writes the PLC_DELAY samples still held back (end of signal). */
  flush(output: Int16Array, outputOffset: number): void {
    for (let i = 0; i < PLC_DELAY; i++) output[outputOffset + i] = clamp16(this.history[HISTORY - PLC_DELAY + i]!);
  }

  private shift(n: number): void {
    this.history.copyWithin(0, n);
  }

  private emit(n: number, output: Int16Array, outputOffset: number): void {
    const from = HISTORY - PLC_DELAY - n;
    for (let i = 0; i < n; i++) output[outputOffset + i] = clamp16(this.history[from + i]!);
  }

  private beginErasure(): void {
    this.inErasure = true;
    this.erased = 0;
    this.endFadeLeft = 0;
    this.original.set(this.history);
    this.pitch = findPitch(this.original);
    this.overlap = this.pitch >> 2;
    this.buildRegion(1);
    // The not-yet-output tail becomes the smoothed tail of the one-period region, so the real
    // signal runs into the repetition without a step.
    const tail = HISTORY - this.overlap;
    for (let i = 0; i < this.overlap; i++) this.history[tail + i] = this.region[this.pitch - this.overlap + i]!;
    this.regionPos = 0;
    this.widenFade = 0;
  }

  /** Region of `periods` pitch periods ending at the erasure start, tail blended into its head. */
  private buildRegion(periods: number): void {
    const length = periods * this.pitch;
    const start = HISTORY - length;
    const o = this.overlap;
    for (let i = 0; i < length; i++) this.region[i] = this.original[start + i]!;
    for (let i = 0; i < o; i++) {
      const w = (i + 1) / (o + 1);
      // What precedes the region's head one region-length earlier continues smoothly into it.
      this.region[length - o + i] =
        this.original[start + length - o + i]! * (1 - w) + this.original[start - o + i]! * w;
    }
    this.regionLength = length;
  }

  private nextSynthetic(): number {
    const t = this.erased;
    if (t === FRAME || t === 2 * FRAME) {
      // Widen the repetition; keep the phase (position mod pitch) and cross-fade over a quarter period.
      this.previousRegion.set(this.region.subarray(0, this.regionLength));
      this.previousRegionLength = this.regionLength;
      this.buildRegion(t === FRAME ? 2 : 3);
      this.widenFade = this.overlap;
    }
    let value = this.region[this.regionPos % this.regionLength]!;
    if (this.widenFade > 0) {
      const w = (this.overlap - this.widenFade + 1) / (this.overlap + 1);
      const old = this.previousRegion[this.regionPos % this.previousRegionLength]!;
      value = old * (1 - w) + value * w;
      this.widenFade--;
    }
    this.regionPos = (this.regionPos + 1) % this.regionLength;
    this.erased++;
    const gain = t < FRAME ? 1 : Math.max(0, 1 - (t - FRAME) * ATTENUATION_PER_SAMPLE);
    return value * gain;
  }

  private beginEndFade(): void {
    const extraFrames = Math.max(0, Math.ceil(this.erased / FRAME) - 1);
    this.endFadeLength = Math.min(FRAME, this.overlap + END_OVERLAP_STEP * extraFrames);
    this.endFadeLeft = this.endFadeLength;
    this.inErasure = false;
  }
}

function clamp16(x: number): number {
  const r = Math.round(x);
  return Math.min(32767, Math.max(-32768, r));
}

/**
 * Pitch period (samples) of the signal ending at `h[h.length]`: the lag maximising the normalised
 * cross-correlation between the last 20 ms and the 20 ms one lag earlier; coarse on every second
 * sample and lag, then refined at full resolution around the best coarse lag.
 */
export function findPitch(h: Float32Array): number {
  const end = h.length;
  const templateStart = end - CORR_LEN;
  let best = PITCH_MIN;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let lag = PITCH_MIN; lag <= PITCH_MAX; lag += 2) {
    const score = correlationScore(h, templateStart, lag, 2);
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  const coarse = best;
  bestScore = Number.NEGATIVE_INFINITY;
  for (let lag = Math.max(PITCH_MIN, coarse - 1); lag <= Math.min(PITCH_MAX, coarse + 1); lag++) {
    const score = correlationScore(h, templateStart, lag, 1);
    if (score > bestScore) {
      bestScore = score;
      best = lag;
    }
  }
  return best;
}

function correlationScore(h: Float32Array, templateStart: number, lag: number, step: number): number {
  let corr = 0;
  let energy = 0;
  for (let i = 0; i < CORR_LEN; i += step) {
    const lagged = h[templateStart - lag + i]!;
    corr += h[templateStart + i]! * lagged;
    energy += lagged * lagged;
  }
  const floor = (CORR_MIN_ENERGY_PER_SAMPLE * CORR_LEN) / step;
  return corr / Math.sqrt(Math.max(energy, floor));
}

/**
 * Conceals the samples whose `present` flag is 0 in a whole 8 kHz signal, returning a new signal
 * of the same length aligned with the input (the PLC delay is compensated).
 */
export function concealLosses(samples: Int16Array, present: Uint8Array): Int16Array {
  const plc = new G711Plc();
  const delayed = new Int16Array(samples.length + PLC_DELAY);
  let i = 0;
  while (i < samples.length) {
    const flag = present[i]!;
    let j = i + 1;
    while (j < samples.length && present[j] === flag) j++;
    if (flag) plc.good(samples, i, j - i, delayed, i);
    else plc.lost(j - i, delayed, i);
    i = j;
  }
  plc.flush(delayed, samples.length);
  return delayed.slice(PLC_DELAY);
}
