// The JSON the training page polls (/api/trainings/:id/live): rendered on the server by
// training-live-view.ts and redrawn in the page by web/training-live.browser.ts, which imports these
// types. A page-data file holds only interfaces and types and imports nothing (scripts/check-arch.ts
// rule d), so browser code can share it without pulling server code into its bundle or type-check.

/** Everything the training page shows that changes while the training runs. */
export interface TrainingLive {
  training: { id: number; name: string; state: string; has_finished: boolean };
  progress: LiveProgress;
  current: string | null;
  /** Percent of all sessions, per bar segment. */
  bar: Record<BarSegment, number>;
  estimate: Estimate;
  sessions: LiveSession[];
  /** The built-in origin's first build while it runs ("origin: encoding sport (2/6) 40 %, 75 s"), else null. */
  origin: string | null;
}

/** Session counts by state (collect's TrainingProgress without its estimate and current session). */
export interface LiveProgress {
  total: number;
  notCaptured: number;
  capturing: number;
  captured: number;
  failed: number;
}

export type BarSegment = "captured" | "capturing" | "failed";

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
