import type { SessionRow } from "./training-store.ts";

/**
 * The seed's client protocol, server side: a player asks for the next video, says "start"
 * (the server shapes the link and starts capturing) and "finish" with its application data
 * (the server stops capturing, computes network data and stores both).
 */
export interface SessionController {
  /** Next session to play for this training (claimed for `worker`), or null when none is left. */
  next(trainingId: number, worker: string): Promise<{ session: SessionRow; url: string } | null>;
  start(sessionId: number): Promise<void>;
  finish(sessionId: number, applicationData: Record<string, unknown>): Promise<SessionRow>;
  /** Reports a failure seen by the player (the session is retried, the reason kept). */
  fail(sessionId: number, reason: string): Promise<void>;
}
