export type { BarSegment, Estimate, LiveProgress, LiveSession, TrainingLive } from "./training-live-data.ts";

/** How the training page names a session status (-1, 0, 1), on the server and in the live JSON. */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  [-1]: "not captured",
  0: "under capturing",
  1: "captured",
};
