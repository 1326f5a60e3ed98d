import { QoelabError } from "../errors.ts";

/** Headerless 16-bit little-endian PCM (mono) to float in [-1, 1). */
export function readPcm16le(bytes: Uint8Array, name = "input.raw"): Float32Array {
  if (bytes.length % 2 !== 0) {
    throw new QoelabError("PCM_ODD_LENGTH", `${name}: ${bytes.length} bytes is not a whole number of 16-bit samples`, {
      file: name,
      offset: bytes.length - 1,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt16(2 * i, true) / 32768;
  return out;
}

/** Float in [-1, 1) to headerless 16-bit little-endian PCM, rounding and clipping. */
export function writePcm16le(samples: Float32Array): Uint8Array {
  const out = new Uint8Array(samples.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.round(samples[i]! * 32768);
    view.setInt16(2 * i, s > 32767 ? 32767 : s < -32768 ? -32768 : s, true);
  }
  return out;
}
