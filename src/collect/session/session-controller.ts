import type { SessionRow } from "../training/training-store.ts";

/** What the player needs of a session: the row plus its training's warm-up and duration. */
export type PlayableSession = SessionRow & { warmup: number; session_duration: number };

/**
 * The seed's client protocol, server side: a player asks for the next video, says "start"
 * (the server shapes the link and starts capturing) and "finish" with its application data
 * (the server stops capturing, computes network data and stores both).
 */
export interface SessionController {
  /** Next session to play for this training (claimed for `worker`), or null when none is left. */
  next(trainingId: number, worker: string): Promise<{ session: PlayableSession; url: string } | null>;
  /** A session already claimed by the orchestrator, for the player it drives. */
  play(sessionId: number): Promise<{ session: PlayableSession; url: string }>;
  start(sessionId: number): Promise<void>;
  finish(sessionId: number, applicationData: Record<string, unknown>): Promise<SessionRow>;
  /**
   * Reports a failure seen by the player (the session is retried, the reason kept); with `attempt`
   * (the session's `attempts` when the player got it), only while that attempt is the current one.
   */
  fail(sessionId: number, reason: string, attempt?: number): Promise<void>;
}
