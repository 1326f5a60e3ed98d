import { QoelabError } from "../errors.ts";
import { decodeG711 } from "./g711.ts";

/**
 * RIFF/WAVE reading and writing.
 *
 * Samples are returned as float in [-1, 1), one array per channel. Integer PCM (8-bit unsigned,
 * 16/24/32-bit signed), IEEE float (32/64-bit) and G.711 A-law/µ-law are decoded; compressed formats
 * (ADPCM, GSM, MP3, …) are named in a coded error.
 */

export type WavEncoding = "pcm" | "float" | "alaw" | "mulaw";

export interface WavAudio {
  sampleRate: number;
  /** One array per channel, each of the same length, float in [-1, 1). */
  channels: Float32Array[];
  encoding: WavEncoding;
  bitsPerSample: number;
}

const FORMAT_PCM = 0x0001;
const FORMAT_FLOAT = 0x0003;
const FORMAT_ALAW = 0x0006;
const FORMAT_MULAW = 0x0007;
const FORMAT_EXTENSIBLE = 0xfffe;

function fourcc(view: DataView, offset: number): string {
  return String.fromCharCode(
    view.getUint8(offset),
    view.getUint8(offset + 1),
    view.getUint8(offset + 2),
    view.getUint8(offset + 3),
  );
}

/** True when the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return fourcc(view, 0) === "RIFF" && fourcc(view, 8) === "WAVE";
}

interface FmtChunk {
  formatTag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bitsPerSample: number;
}

function formatName(tag: number): string {
  const names: Record<number, string> = {
    2: "Microsoft ADPCM",
    17: "IMA ADPCM",
    49: "GSM 6.10",
    64: "G.721 ADPCM",
    85: "MPEG layer 3",
    100: "G.726 ADPCM",
    101: "G.722 ADPCM",
  };
  return names[tag] ?? `format tag 0x${tag.toString(16).padStart(4, "0")}`;
}

/** Parses a WAV file; `name` is used in error messages. */
export function readWav(bytes: Uint8Array, name = "input.wav"): WavAudio {
  if (bytes.length < 12) {
    throw new QoelabError("WAV_TRUNCATED", `${name}: too short for a WAV header (${bytes.length} bytes)`, {
      file: name,
      offset: 0,
    });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = fourcc(view, 0);
  if (riff !== "RIFF" || fourcc(view, 8) !== "WAVE") {
    const hint =
      riff === "RIFX" ? " (big-endian RIFX is not supported)" : riff === "RF64" ? " (RF64 is not supported)" : "";
    throw new QoelabError("WAV_BAD_HEADER", `${name}: not a RIFF/WAVE file${hint} at byte 0`, {
      file: name,
      offset: 0,
    });
  }
  let fmt: FmtChunk | undefined;
  let dataOffset = -1;
  let dataLength = 0;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = fourcc(view, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) {
        throw new QoelabError("WAV_BAD_FMT", `${name}: fmt chunk too short (${size} bytes) at byte ${offset}`, {
          file: name,
          offset,
        });
      }
      let formatTag = view.getUint16(body, true);
      if (formatTag === FORMAT_EXTENSIBLE && size >= 40 && body + 26 <= bytes.length) {
        // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the real format tag.
        formatTag = view.getUint16(body + 24, true);
      }
      fmt = {
        formatTag,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bitsPerSample: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      dataOffset = body;
      // A streamed WAV may carry 0 or 0xFFFFFFFF as size: take what is there.
      dataLength = size === 0 || size === 0xffffffff ? bytes.length - body : Math.min(size, bytes.length - body);
      break;
    }
    offset = body + size + (size & 1);
  }
  if (!fmt) throw new QoelabError("WAV_BAD_FMT", `${name}: no fmt chunk`, { file: name, offset: 12 });
  if (dataOffset < 0) throw new QoelabError("WAV_NO_DATA", `${name}: no data chunk`, { file: name, offset });
  const { formatTag, channels, sampleRate, bitsPerSample } = fmt;
  if (channels < 1 || sampleRate < 1) {
    throw new QoelabError("WAV_BAD_FMT", `${name}: ${channels} channels at ${sampleRate} Hz is not valid`, {
      file: name,
    });
  }
  if ((formatTag === FORMAT_ALAW || formatTag === FORMAT_MULAW) && bitsPerSample === 8) {
    // G.711: one byte per sample, expanded to 16-bit linear.
    const law = formatTag === FORMAT_ALAW ? "alaw" : "ulaw";
    const frames = Math.floor(dataLength / channels);
    const linear = decodeG711(law, bytes.subarray(dataOffset, dataOffset + frames * channels));
    const out: Float32Array[] = [];
    for (let c = 0; c < channels; c++) {
      const ch = new Float32Array(frames);
      for (let i = 0; i < frames; i++) ch[i] = linear[i * channels + c]! / 32768;
      out.push(ch);
    }
    return { sampleRate, channels: out, encoding: law === "alaw" ? "alaw" : "mulaw", bitsPerSample };
  }
  let encoding: WavEncoding;
  if (formatTag === FORMAT_PCM && [8, 16, 24, 32].includes(bitsPerSample)) encoding = "pcm";
  else if (formatTag === FORMAT_FLOAT && (bitsPerSample === 32 || bitsPerSample === 64)) encoding = "float";
  else {
    throw new QoelabError(
      "WAV_UNSUPPORTED_FORMAT",
      `${name}: ${formatName(formatTag)} with ${bitsPerSample} bits per sample is not linear PCM or float`,
      { file: name, formatTag, bitsPerSample },
    );
  }
  const bytesPerSample = bitsPerSample / 8;
  const frameBytes = bytesPerSample * channels;
  const frames = Math.floor(dataLength / frameBytes);
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) out.push(new Float32Array(frames));
  let p = dataOffset;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      let v: number;
      if (encoding === "float") v = bitsPerSample === 32 ? view.getFloat32(p, true) : view.getFloat64(p, true);
      else if (bitsPerSample === 16) v = view.getInt16(p, true) / 32768;
      else if (bitsPerSample === 8) v = (view.getUint8(p) - 128) / 128;
      else if (bitsPerSample === 24) {
        const raw = view.getUint8(p) | (view.getUint8(p + 1) << 8) | (view.getInt8(p + 2) << 16);
        v = raw / 8388608;
      } else v = view.getInt32(p, true) / 2147483648;
      out[c]![i] = v;
      p += bytesPerSample;
    }
  }
  return { sampleRate, channels: out, encoding, bitsPerSample };
}

/** Writes mono or multi-channel audio as 16-bit PCM (default) or 32-bit float WAV. */
export function writeWav(
  channels: readonly Float32Array[],
  sampleRate: number,
  format: "pcm16" | "float32" = "pcm16",
): Uint8Array {
  const count = channels.length;
  if (count < 1) throw new QoelabError("WAV_NO_CHANNELS", "writeWav: no channels given");
  const frames = channels[0]!.length;
  for (const ch of channels) {
    if (ch.length !== frames) throw new QoelabError("WAV_CHANNEL_LENGTHS", "writeWav: channels differ in length");
  }
  const bytesPerSample = format === "pcm16" ? 2 : 4;
  const dataBytes = frames * count * bytesPerSample;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const put = (offset: number, text: string) => {
    for (let i = 0; i < 4; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  put(0, "RIFF");
  view.setUint32(4, 36 + dataBytes, true);
  put(8, "WAVE");
  put(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, format === "pcm16" ? FORMAT_PCM : FORMAT_FLOAT, true);
  view.setUint16(22, count, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * count * bytesPerSample, true);
  view.setUint16(32, count * bytesPerSample, true);
  view.setUint16(34, bytesPerSample * 8, true);
  put(36, "data");
  view.setUint32(40, dataBytes, true);
  let p = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < count; c++) {
      const v = channels[c]![i]!;
      if (format === "pcm16") {
        const s = Math.round(v * 32768);
        view.setInt16(p, s > 32767 ? 32767 : s < -32768 ? -32768 : s, true);
      } else view.setFloat32(p, v, true);
      p += bytesPerSample;
    }
  }
  return out;
}
