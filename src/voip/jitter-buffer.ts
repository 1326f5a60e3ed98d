import { QoelabError } from "../errors.ts";

/**
 * Playout (de-jitter) buffers that decide, packet by packet, whether an RTP packet arrives in time
 * to be played. Times are milliseconds: `arrivalMs` on the capture clock, `mediaMs` the packet's
 * RTP timestamp converted to ms (extended, relative to any origin). A packet is late, and is
 * discarded as a real receiver would, when it arrives after its playout instant.
 *
 * - fixed:D — the first packet fixes the playout clock: playout = arrival₀ + D + (media − media₀).
 *   This is what Wireshark's RTP Player does in "jitter buffer" mode.
 * - adaptive — playout = media + offset, with the offset re-planned at each talkspurt (marker bit)
 *   from running estimates of the network delay n = arrival − media: d ← α·d + (1 − α)·n,
 *   v ← α·v + (1 − α)·|d − n|, offset = d + 4·v (Ramjee et al. 1994, algorithm 1, α = 0.998002).
 *   Streams without silence suppression have no talkspurts, so a late packet also raises the offset
 *   at once to d + 4·v (at least that packet's own delay): the buffer grows under jitter and shrinks
 *   again at the next talkspurt. Starts with `initialMs` of buffering.
 * - none — every packet is played at its timestamp (Wireshark's "RTP timestamp" mode).
 */
export type JitterBufferSpec =
  | { kind: "none" }
  | { kind: "fixed"; delayMs: number }
  | { kind: "adaptive"; initialMs: number; minMs: number; maxMs: number };

export interface JitterBuffer {
  readonly spec: JitterBufferSpec;
  /** True when the packet is in time (played), false when it is late (discarded). */
  offer(arrivalMs: number, mediaMs: number, marker: boolean): boolean;
  /** Packets discarded as late. */
  readonly late: number;
  /**
   * Mean time a played packet's media waited beyond the fastest packet's network delay: the delay
   * the buffer adds to the mouth-to-ear path (ms).
   */
  meanBufferDelayMs(): number;
}

const ALPHA = 0.998002;

/** Parses `none`, `fixed:60ms` (or `fixed:60`), `adaptive`, `adaptive:40ms` (initial delay). */
export function parseJitterBuffer(text: string): JitterBufferSpec {
  const t = text.trim().toLowerCase();
  if (t === "none" || t === "off") return { kind: "none" };
  const m = /^(fixed|adaptive)(?::(\d+(?:\.\d+)?)\s*(ms|s)?)?$/.exec(t);
  if (!m) {
    throw new QoelabError(
      "VOIP_BAD_JITTER_BUFFER",
      `jitter buffer "${text}": expected none, fixed:<delay>ms or adaptive[:<initial>ms]`,
      { value: text },
    );
  }
  const value = m[2] === undefined ? undefined : Number(m[2]) * (m[3] === "s" ? 1000 : 1);
  if (m[1] === "fixed") {
    if (value === undefined || value <= 0 || value > 10_000) {
      throw new QoelabError("VOIP_BAD_JITTER_BUFFER", `jitter buffer "${text}": fixed needs a delay in (0, 10000] ms`, {
        value: text,
      });
    }
    return { kind: "fixed", delayMs: value };
  }
  return { kind: "adaptive", initialMs: value ?? 20, minMs: 0, maxMs: 1000 };
}

export function formatJitterBuffer(spec: JitterBufferSpec): string {
  if (spec.kind === "none") return "none";
  if (spec.kind === "fixed") return `fixed:${spec.delayMs}ms`;
  return `adaptive:${spec.initialMs}ms`;
}

export function createJitterBuffer(spec: JitterBufferSpec): JitterBuffer {
  let started = false;
  let offset = 0; // playout = media + offset
  let minDelay = Number.POSITIVE_INFINITY;
  let playedCount = 0;
  let sumPlayoutMinusMedia = 0;
  let late = 0;
  let d = 0;
  let v = 0;
  return {
    spec,
    get late() {
      return late;
    },
    offer(arrivalMs, mediaMs, marker) {
      const n = arrivalMs - mediaMs;
      if (n < minDelay) minDelay = n;
      if (spec.kind === "none") {
        if (!started) {
          started = true;
          offset = n;
        }
        playedCount++;
        sumPlayoutMinusMedia += offset;
        return true;
      }
      if (spec.kind === "fixed") {
        if (!started) {
          started = true;
          offset = n + spec.delayMs;
        }
      } else {
        if (!started) {
          started = true;
          d = n;
          v = spec.initialMs / 4;
          offset = n + spec.initialMs;
        } else {
          d = ALPHA * d + (1 - ALPHA) * n;
          v = ALPHA * v + (1 - ALPHA) * Math.abs(d - n);
          if (marker) offset = clampOffset(d + 4 * v, minDelay, spec);
        }
      }
      if (n > offset) {
        late++;
        if (spec.kind === "adaptive") offset = clampOffset(Math.max(d + 4 * v, n), minDelay, spec);
        return false;
      }
      playedCount++;
      sumPlayoutMinusMedia += offset;
      return true;
    },
    meanBufferDelayMs() {
      if (playedCount === 0) return 0;
      return sumPlayoutMinusMedia / playedCount - minDelay;
    },
  };
}

function clampOffset(offset: number, minDelay: number, spec: { minMs: number; maxMs: number }): number {
  return Math.min(minDelay + spec.maxMs, Math.max(minDelay + spec.minMs, offset));
}
