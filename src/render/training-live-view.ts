import type { TrainingProgress } from "../collect/index.ts";

/**
 * Everything the training page shows that changes while the training runs, as one JSON object:
 * the page renders it first on the server and then polls it (`/api/trainings/:id/live`) to
 * redraw counters, the bar and the session table without reloading.
 */
export interface TrainingLive {
  training: { id: number; name: string; state: string; has_finished: boolean };
  progress: Omit<TrainingProgress, "etaSeconds" | "current">;
  current: string | null;
  /** Percent of all sessions, per bar segment. */
  bar: { captured: number; capturing: number; failed: number };
  estimate: Estimate;
  sessions: LiveSession[];
  /** The built-in origin's first build while it runs ("origin: encoding sport (2/6) 40 %, 75 s"), else null. */
  origin: string | null;
}

export interface Estimate {
  /** Seconds left; 0 when finished. */
  seconds: number;
  /** The mean measured session time it uses, s (or the planned one). */
  perSession: number;
  /** Sessions whose times were measured (0: planned from duration + warm-up). */
  measured: number;
  /** "3 min 20 s" (or "done"). */
  text: string;
  /** What it rests on: "at 1 min 5 s per session, measured on 4". */
  basis: string;
}

export interface LiveSession {
  id: number;
  name: string;
  bw_limitation: number;
  status: number;
  status_text: string;
  attempts: number;
  stalls: number | null;
  capture_mb: number | null;
  error: string | null;
}

export const STATUS_TEXT: Readonly<Record<number, string>> = {
  [-1]: "not captured",
  0: "under capturing",
  1: "captured",
};
