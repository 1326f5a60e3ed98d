import { buildLocalOrigin, DEFAULT_LADDER, type LocalOrigin } from "../../collect/index.ts";

/** A built-in origin given as data (it crosses to the process of nobody as JSON). */
export interface SmallOriginSpec {
  channels: string[];
  durationSeconds: number;
  /** How many renditions of the default ladder, from the lowest. */
  renditions: number;
}

/**
 * The origin the person and uplink tests play: the testcard channel, 10 s, the ladder's two
 * lowest renditions. Small, so the one-time ffmpeg build stays short; it is cached like the full one.
 */
export const SMALL_ORIGIN: SmallOriginSpec = { channels: ["testcard"], durationSeconds: 10, renditions: 2 };

export function buildSmallOrigin(spec: SmallOriginSpec = SMALL_ORIGIN): Promise<LocalOrigin> {
  return buildLocalOrigin({
    channels: spec.channels,
    durationSeconds: spec.durationSeconds,
    ladder: DEFAULT_LADDER.slice(0, spec.renditions),
  });
}
