import { QoelabError } from "../errors.ts";

/**
 * ITU-T G.711 companding: µ-law (PCMU, RTP PT 0) and A-law (PCMA, RTP PT 8) between 8-bit codes
 * and 16-bit linear PCM. Table driven: decoding is one lookup in a 256-entry table; encoding is one
 * lookup in a table indexed by the quantised linear value (µ-law works on 14 bits, A-law on 13),
 * so the per-sample hot path is a shift and a load.
 *
 * Linear values follow G.711's decision/reconstruction levels scaled to 16 bits (µ-law ±32124,
 * A-law ±32256), the convention every G.711 implementation and sox use.
 */

/** µ-law: 14-bit magnitude plus bias 33 is split into 8 segments of 16 steps, bits inverted. */
function ulawDecodeCode(code: number): number {
  const inverted = ~code & 0xff;
  const exponent = (inverted >> 4) & 0x07;
  const mantissa = inverted & 0x0f;
  // Reconstruction level in 14-bit units: ((2·mantissa + 33) · 2^exponent) − 33, then ×4 → 16 bits.
  const magnitude = (((mantissa << 1) + 33) << exponent) - 33;
  return (inverted & 0x80) !== 0 ? -(magnitude << 2) : magnitude << 2;
}

function ulawEncode14(value14: number): number {
  const negative = value14 < 0;
  let magnitude = negative ? -value14 : value14;
  // 8158 + 33 = 8191 is the top of the last segment.
  if (magnitude > 8158) magnitude = 8158;
  magnitude += 33;
  let exponent = 7;
  while (exponent > 0 && (magnitude & (0x20 << exponent)) === 0) exponent--;
  const mantissa = (magnitude >> (exponent + 1)) & 0x0f;
  // Transmitted inverted; the sign bit is 1 for positive values.
  return ((exponent << 4) | mantissa) ^ (negative ? 0x7f : 0xff);
}

/** A-law: 13-bit magnitude; segment 0 and 1 share a step size, even bits inverted (XOR 0x55). */
function alawDecodeCode(code: number): number {
  const value = code ^ 0x55;
  const segment = (value >> 4) & 0x07;
  const mantissa = value & 0x0f;
  // Mid-points of the quantisation intervals, already in 16-bit units.
  const magnitude = segment === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (segment - 1);
  return (value & 0x80) !== 0 ? magnitude : -magnitude;
}

function alawEncode13(value13: number): number {
  let sign = 0x80;
  let magnitude = value13;
  if (magnitude < 0) {
    sign = 0;
    magnitude = -magnitude - 1;
  }
  if (magnitude > 4095) magnitude = 4095;
  let segment = 7;
  while (segment > 0 && (magnitude & (0x10 << segment)) === 0) segment--;
  const mantissa = segment === 0 ? (magnitude >> 1) & 0x0f : (magnitude >> segment) & 0x0f;
  return (sign | (segment << 4) | mantissa) ^ 0x55;
}

const ULAW_TO_LINEAR = new Int16Array(256);
const ALAW_TO_LINEAR = new Int16Array(256);
/** Indexed by (sample >> 2) + 8192. */
const LINEAR14_TO_ULAW = new Uint8Array(16384);
/** Indexed by (sample >> 3) + 4096. */
const LINEAR13_TO_ALAW = new Uint8Array(8192);

for (let code = 0; code < 256; code++) {
  ULAW_TO_LINEAR[code] = ulawDecodeCode(code);
  ALAW_TO_LINEAR[code] = alawDecodeCode(code);
}
for (let i = 0; i < 16384; i++) LINEAR14_TO_ULAW[i] = ulawEncode14(i - 8192);
for (let i = 0; i < 8192; i++) LINEAR13_TO_ALAW[i] = alawEncode13(i - 4096);

export function ulawToLinear(code: number): number {
  return ULAW_TO_LINEAR[code & 0xff]!;
}

export function alawToLinear(code: number): number {
  return ALAW_TO_LINEAR[code & 0xff]!;
}

/** `sample` is a 16-bit signed integer (values outside are clamped). */
export function linearToUlaw(sample: number): number {
  const s = sample > 32767 ? 32767 : sample < -32768 ? -32768 : sample | 0;
  return LINEAR14_TO_ULAW[(s >> 2) + 8192]!;
}

export function linearToAlaw(sample: number): number {
  const s = sample > 32767 ? 32767 : sample < -32768 ? -32768 : sample | 0;
  return LINEAR13_TO_ALAW[(s >> 3) + 4096]!;
}

export type G711Law = "ulaw" | "alaw";

/**
 * Decodes `count` codes from `input[inputOffset…]` into `output[outputOffset…]`. No allocation:
 * RTP payloads can be decoded straight from the capture buffer.
 */
export function decodeG711Into(
  law: G711Law,
  input: Uint8Array,
  inputOffset: number,
  count: number,
  output: Int16Array,
  outputOffset: number,
): void {
  const table = law === "ulaw" ? ULAW_TO_LINEAR : ALAW_TO_LINEAR;
  for (let i = 0; i < count; i++) output[outputOffset + i] = table[input[inputOffset + i]!]!;
}

export function decodeG711(law: G711Law, codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes.length);
  decodeG711Into(law, codes, 0, codes.length, out, 0);
  return out;
}

export function encodeG711(law: G711Law, samples: Int16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  if (law === "ulaw") for (let i = 0; i < samples.length; i++) out[i] = LINEAR14_TO_ULAW[(samples[i]! >> 2) + 8192]!;
  else for (let i = 0; i < samples.length; i++) out[i] = LINEAR13_TO_ALAW[(samples[i]! >> 3) + 4096]!;
  return out;
}

/** The code G.711 sends for digital silence (µ-law 0xFF, A-law 0xD5). */
export function g711SilenceCode(law: G711Law): number {
  return law === "ulaw" ? 0xff : 0xd5;
}

/**
 * Telephone-band PCM from a decoded WAV (see wav.ts): G.711 carries 8 kHz mono, so anything else
 * is refused with a coded error rather than silently resampled or mixed down.
 */
export function telephonePcm(audio: { sampleRate: number; channels: Float32Array[] }, name = "input.wav"): Int16Array {
  if (audio.channels.length !== 1) {
    throw new QoelabError(
      "AUDIO_NOT_MONO",
      `${name}: ${audio.channels.length} channels; G.711 needs mono (convert with: sox ${name} -c 1 out.wav)`,
      { file: name, channels: audio.channels.length },
    );
  }
  if (audio.sampleRate !== 8000) {
    throw new QoelabError(
      "AUDIO_NOT_8KHZ",
      `${name}: ${audio.sampleRate} Hz; G.711 needs 8000 Hz (convert with: sox ${name} -r 8000 out.wav)`,
      { file: name, sampleRate: audio.sampleRate },
    );
  }
  const ch = audio.channels[0]!;
  const out = new Int16Array(ch.length);
  for (let i = 0; i < ch.length; i++) out[i] = Math.max(-32768, Math.min(32767, Math.round(ch[i]! * 32768)));
  return out;
}
