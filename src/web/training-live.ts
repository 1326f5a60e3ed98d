import { originBuildStatus, type SessionRow, type TrainingProgress, type TrainingRow } from "../collect/index.ts";
import { type Estimate, STATUS_TEXT, type TrainingLive } from "../render/index.ts";

/* The training page's live part (render's TrainingLive), computed from the stored rows. */

/** A timestamp column as milliseconds (the drivers give Date objects, the types say string). */
function ms(value: string | Date | null): number {
  return value === null ? Number.NaN : new Date(value).getTime();
}

function seconds(from: string | null, to: string | null): number | null {
  if (!from || !to) return null;
  const s = (ms(to) - ms(from)) / 1000;
  return Number.isFinite(s) && s >= 0 ? s : null;
}

export function durationText(s: number): string {
  const whole = Math.max(0, Math.round(s));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  if (h > 0) return `${h} h ${m} min`;
  return m > 0 ? `${m} min ${whole % 60} s` : `${whole} s`;
}

/**
 * Time left from measured session times: the mean wall time of the captured sessions (start to
 * finish, warm-up and storing included), or the planned duration + warm-up before any finished;
 * a running session counts only what is left of it, so the estimate moves while it plays.
 */
export function estimate(training: TrainingRow, sessions: readonly SessionRow[], nowMs: number): Estimate {
  const times = sessions
    .filter((s) => s.status === 1)
    .map((s) => seconds(s.started_at, s.finished_at))
    .filter((s): s is number => s !== null);
  const measured = times.length;
  const perSession =
    measured > 0 ? times.reduce((a, b) => a + b, 0) / measured : training.session_duration + training.warmup + 2;
  if (training.has_finished) return { seconds: 0, perSession, measured, text: "done", basis: "" };
  const pending = sessions.filter((s) => s.status === -1 && s.attempts < training.max_attempts).length;
  const running = sessions
    .filter((s) => s.status === 0)
    .map((s) => {
      const elapsed = s.started_at ? (nowMs - ms(s.started_at)) / 1000 : 0;
      return Math.max(0, perSession - (Number.isFinite(elapsed) ? elapsed : 0));
    });
  const slots = Math.max(1, training.slots);
  const work = pending * perSession + running.reduce((a, b) => a + b, 0);
  const left = Math.max(Math.max(0, ...running), work / slots);
  const basis =
    measured > 0
      ? `at ${durationText(perSession)} per session, measured on ${measured}`
      : `planned (${durationText(perSession)} per session; none finished yet)`;
  return { seconds: Math.round(left), perSession, measured, text: durationText(left), basis };
}

export function trainingLive(
  training: TrainingRow,
  progress: TrainingProgress,
  sessions: readonly SessionRow[],
  nowMs = Date.now(),
): TrainingLive {
  const pct = (n: number) => (progress.total ? Math.round((1000 * n) / progress.total) / 10 : 0);
  const { etaSeconds: _eta, current, ...counts } = progress;
  const origin = originBuildStatus();
  return {
    origin: origin.state === "building" ? origin.message : null,
    training: { id: training.id, name: training.name, state: training.state, has_finished: training.has_finished },
    progress: counts,
    current: current ? `${current.name} (${current.bw_limitation} Mbit/s)` : null,
    bar: { captured: pct(progress.captured), capturing: pct(progress.capturing), failed: pct(progress.failed) },
    estimate: estimate(training, sessions, nowMs),
    sessions: sessions.map((s) => {
      const stalls = (s.labels as { stall_count?: unknown } | null)?.stall_count;
      return {
        id: s.id,
        name: s.name,
        bw_limitation: Number(s.bw_limitation),
        status: s.status,
        status_text: STATUS_TEXT[s.status] ?? String(s.status),
        attempts: s.attempts,
        stalls: typeof stalls === "number" ? stalls : null,
        capture_mb: s.capture_size ? Math.round(s.capture_size / 1e4) / 100 : null,
        error: s.error_reason,
      };
    }),
  };
}
