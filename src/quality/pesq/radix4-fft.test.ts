import assert from "node:assert/strict";
import { describe, it } from "node:test";
import FFT from "fft.js";
import { Radix4Fft } from "./radix4-fft.ts";

/** Deterministic test signal with varied magnitudes and signs. */
function signal(n: number): Float64Array {
  const x = new Float64Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    x[i] = (seed / 2147483648 - 0.5) * 10 ** ((i % 7) - 2);
  }
  return x;
}

function assertSameBits(actual: Float64Array | Float32Array, expected: ArrayLike<number>, what: string): void {
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${what}: index ${i}: ${actual[i]} ≠ ${expected[i]}`);
  }
}

describe("Radix4Fft", () => {
  it("gives fft.js 4.0.4's forward transform bit for bit (radix-2 and radix-4 first passes)", () => {
    for (let size = 2; size <= 8192; size *= 2) {
      const input = signal(2 * size);
      const expected = new Float64Array(2 * size);
      new FFT(size).transform(expected, input);
      const actual = new Float64Array(2 * size);
      new Radix4Fft(size).transform(actual, input);
      assertSameBits(actual, expected, `size ${size}`);
    }
  });
});
