/** Signal levels of float audio in [-1, 1) (full scale = 1.0). */

const FLOOR_DB = -200;

/** RMS level in dBFS (a full-scale square wave is 0 dBFS); silence gives -200. */
export function rmsDbfs(samples: Float32Array): number {
  if (samples.length === 0) return FLOOR_DB;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  const ms = sum / samples.length;
  return ms > 0 ? Math.max(FLOOR_DB, 10 * Math.log10(ms)) : FLOOR_DB;
}

/** Peak absolute sample in dBFS; silence gives -200. */
export function peakDbfs(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const a = Math.abs(samples[i]!);
    if (a > peak) peak = a;
  }
  return peak > 0 ? Math.max(FLOOR_DB, 20 * Math.log10(peak)) : FLOOR_DB;
}

/** True when every sample of each channel equals the first channel's. */
export function channelsIdentical(channels: readonly Float32Array[]): boolean {
  const first = channels[0];
  if (!first) return true;
  for (let c = 1; c < channels.length; c++) {
    const ch = channels[c]!;
    if (ch.length !== first.length) return false;
    for (let i = 0; i < first.length; i++) if (ch[i] !== first[i]) return false;
  }
  return true;
}
