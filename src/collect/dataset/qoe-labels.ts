/**
 * Labels of one session, computed from the player's application data only (they are what the
 * classifier learns to predict from network features; they never become features themselves).
 *
 *   startup_delay_s          time from loading the manifest to the first `playing`
 *   stall_count, stall_time_s, stall_ratio = stall_time / recorded duration
 *   mean_height              mean of per-second video heights (lines)
 *   time_weighted_height     heights weighted by time spent at each (from per-second samples)
 *   mean_bitrate_kbps        mean of the per-second level bitrates
 *   switch_count             level switches during recording
 *   qoe_score                q̄ − λ·Σ|Δq|/T − μ·stall_time/T − μs·startup/T, with q(R) = ln(R / 300 kbit/s),
 *                            λ = 1, μ = ln(4500/300) ≈ 2.708 (a stalled second costs as much as a second
 *                            at the top rendition), μs = μ/2 (after Yin et al., SIGCOMM 2015, per second)
 *   qoe_class                "poor": stall_ratio > 0.05 or stall_count ≥ 2; "good": no stall and
 *                            time_weighted_height ≥ 720; "fair": otherwise
 *   resolution_class         "low" < 480 ≤ "sd" < 720 ≤ "hd" (time-weighted height)
 *   stall_class              "none" (0), "mild" (0 < ratio ≤ 0.05), "severe" (> 0.05)
 *   stalled                  stall_count > 0
 */
export interface QoeLabels {
  startup_delay_s: number | null;
  stall_count: number;
  stall_time_s: number;
  stall_ratio: number;
  mean_height: number;
  time_weighted_height: number;
  mean_bitrate_kbps: number;
  switch_count: number;
  qoe_score: number;
  qoe_class: "good" | "fair" | "poor";
  resolution_class: "low" | "sd" | "hd";
  stall_class: "none" | "mild" | "severe";
  stalled: boolean;
}

interface AppSample {
  t?: number;
  height?: number;
  bitrate?: number;
}

export interface PlayerData {
  startupTime?: number | null;
  duration?: number;
  stalls?: Array<{ start: number; duration: number }>;
  levelSwitches?: Array<{ t: number | null; bitrate?: number }>;
  samples?: AppSample[];
}

const Q_REF_KBPS = 300;
const LAMBDA = 1;
const MU = Math.log(4500 / 300);
const MU_STARTUP = MU / 2;

function round(value: number, digits = 4): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function computeQoeLabels(data: PlayerData): QoeLabels {
  const samples = (data.samples ?? []).filter((s) => typeof s.height === "number");
  const duration = data.duration ?? samples.length;
  const stalls = (data.stalls ?? []).filter((s) => s.duration > 0);
  const stallTime = stalls.reduce((sum, s) => sum + s.duration, 0);
  const stallRatio = duration > 0 ? Math.min(1, stallTime / duration) : 0;
  const heights = samples.map((s) => s.height ?? 0);
  const meanHeight = heights.length ? heights.reduce((a, b) => a + b, 0) / heights.length : 0;
  // Samples are taken once a second, so each stands for the second before it.
  let weighted = 0;
  let weight = 0;
  let previousT = 0;
  for (const sample of samples) {
    const t = sample.t ?? previousT + 1;
    const span = Math.max(0, t - previousT);
    weighted += (sample.height ?? 0) * span;
    weight += span;
    previousT = t;
  }
  const timeWeightedHeight = weight > 0 ? weighted / weight : meanHeight;
  const bitrates = samples.map((s) => (s.bitrate ?? 0) / 1000).filter((b) => b > 0);
  const meanBitrate = bitrates.length ? bitrates.reduce((a, b) => a + b, 0) / bitrates.length : 0;
  const quality = bitrates.map((b) => Math.log(b / Q_REF_KBPS));
  const meanQuality = quality.length ? quality.reduce((a, b) => a + b, 0) / quality.length : 0;
  let variation = 0;
  for (let i = 1; i < quality.length; i++) variation += Math.abs(quality[i]! - quality[i - 1]!);
  const switches = (data.levelSwitches ?? []).filter((s) => s.t !== null && s.t !== undefined && s.t >= 0).length;
  const startup = typeof data.startupTime === "number" ? data.startupTime : null;
  const T = Math.max(1, duration);
  const score = meanQuality - (LAMBDA * variation) / T - MU * stallRatio - (MU_STARTUP * (startup ?? 0)) / T;
  const stallCount = stalls.length;
  // Classes from the rounded value, so 719.9999 (float sums) is 720p like the player showed.
  const height = round(timeWeightedHeight, 1);
  const qoeClass: QoeLabels["qoe_class"] =
    stallRatio > 0.05 || stallCount >= 2 ? "poor" : stallCount === 0 && height >= 720 ? "good" : "fair";
  return {
    startup_delay_s: startup === null ? null : round(startup, 3),
    stall_count: stallCount,
    stall_time_s: round(stallTime, 3),
    stall_ratio: round(stallRatio),
    mean_height: round(meanHeight, 1),
    time_weighted_height: round(timeWeightedHeight, 1),
    mean_bitrate_kbps: round(meanBitrate, 1),
    switch_count: switches,
    qoe_score: round(score),
    qoe_class: qoeClass,
    resolution_class: height >= 720 ? "hd" : height >= 480 ? "sd" : "low",
    stall_class: stallRatio === 0 ? "none" : stallRatio <= 0.05 ? "mild" : "severe",
    stalled: stallCount > 0,
  };
}

/** Labels of one window of the recorded timeline (seconds from the player's "start"). */
export interface WindowLabels {
  index: number;
  start_s: number;
  end_s: number;
  /** The recording ended inside this window (it is shorter than the others). */
  partial: boolean;
  stalled: boolean;
  stall_time_s: number;
  time_weighted_height: number;
  resolution_class: QoeLabels["resolution_class"];
}

/**
 * Per-window labels from the player's per-second timeline: a window [kW, (k+1)W) is stalled when a
 * stall overlaps it; its resolution is the time-weighted height of the samples taken in it (a sample
 * at t stands for the second before it), classed as the session's is.
 */
export function computeWindowLabels(data: PlayerData, windowSeconds: number): WindowLabels[] {
  const samples = (data.samples ?? []).filter((s) => typeof s.height === "number");
  const duration = data.duration ?? samples.length;
  if (!(windowSeconds > 0) || !(duration > 0)) return [];
  const stalls = (data.stalls ?? []).filter((s) => s.duration > 0);
  const windows: WindowLabels[] = [];
  for (let k = 0; k * windowSeconds < duration; k++) {
    const start = k * windowSeconds;
    const end = Math.min(duration, start + windowSeconds);
    let stallTime = 0;
    for (const s of stalls) stallTime += Math.max(0, Math.min(end, s.start + s.duration) - Math.max(start, s.start));
    let weighted = 0;
    let weight = 0;
    let previousT = 0;
    for (const sample of samples) {
      const t = sample.t ?? previousT + 1;
      const from = Math.max(previousT, start);
      const to = Math.min(t, end);
      if (to > from) {
        weighted += (sample.height ?? 0) * (to - from);
        weight += to - from;
      }
      previousT = t;
    }
    const height = round(weight > 0 ? weighted / weight : 0, 1);
    windows.push({
      index: k,
      start_s: start,
      end_s: end,
      partial: end - start < windowSeconds,
      stalled: stallTime > 0,
      stall_time_s: round(stallTime, 3),
      time_weighted_height: height,
      resolution_class: height >= 720 ? "hd" : height >= 480 ? "sd" : "low",
    });
  }
  return windows;
}
