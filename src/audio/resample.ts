import { QoelabError } from "../errors.ts";

/**
 * Rational-ratio resampling with a Kaiser-windowed sinc low-pass (polyphase, linear phase,
 * delay-compensated so output sample 0 lines up with input sample 0).
 */

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

/** Resamples `input` from `fromRate` to `toRate` (both whole Hz). */
export function resample(input: Float32Array, fromRate: number, toRate: number, halfTaps = 32): Float32Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate <= 0 || toRate <= 0) {
    throw new QoelabError("RESAMPLE_BAD_RATE", `resample: rates must be positive integers (${fromRate} → ${toRate})`);
  }
  if (fromRate === toRate) return input.slice();
  const g = gcd(fromRate, toRate);
  const up = toRate / g;
  const down = fromRate / g;
  // Cut-off at the lower Nyquist, slightly inside it; kernel spans `halfTaps` input samples each side.
  const cutoff = 0.95 * Math.min(1, up / down);
  const beta = 8.6;
  const kernelHalf = Math.ceil(halfTaps / Math.min(1, up / down));
  const outLength = Math.floor((input.length * up) / down);
  const out = new Float32Array(outLength);
  const i0beta = besselI0(beta);
  for (let n = 0; n < outLength; n++) {
    // Position of output sample n in input samples.
    const t = (n * down) / up;
    const centre = Math.floor(t);
    let acc = 0;
    for (let k = centre - kernelHalf + 1; k <= centre + kernelHalf; k++) {
      if (k < 0 || k >= input.length) continue;
      const x = t - k;
      const r = x / kernelHalf;
      if (r <= -1 || r >= 1) continue;
      const window = besselI0(beta * Math.sqrt(1 - r * r)) / i0beta;
      const arg = Math.PI * cutoff * x;
      const sinc = arg === 0 ? 1 : Math.sin(arg) / arg;
      acc += input[k]! * cutoff * sinc * window;
    }
    out[n] = acc;
  }
  return out;
}
