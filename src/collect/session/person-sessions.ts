import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { startCapture } from "../../capture/index.ts";
import type { Db } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { clearUplinkShape, type Lab, type LabUplink, shapeUplink } from "../../netlab/index.ts";
import type { LabOperator, OperatorCapture, PersonPathOperator } from "../operator/lab-operator.ts";
import {
  claimNextSession,
  failSession,
  getTraining,
  heartbeatSession,
  type SessionRow,
  type TrainingRow,
} from "../training/training-store.ts";
import { watchedCapture } from "./watched-capture.ts";

/*
 * The seed's person-driven loop: someone opens /player?training=ID in a browser on this host and
 * plays the sessions one after another. That browser lives in the root namespace, so each person's
 * session gets a lab slot with an uplink used in reverse: the browser reaches the lab's server (the
 * built-in origin) through the router, the router's side of the uplink is shaped to the session's
 * limit with tbf, and the capture runs on the host's side of the uplink, filtered to the lab's
 * addresses. Only the video crosses it: the page and the API come from qoelab over loopback.
 */

function uplinkOf(lab: Lab): LabUplink {
  if (!lab.uplink)
    throw new QoelabError("LAB_NO_UPLINK", `lab "${lab.name}" has no uplink; a person's sessions need one`, {
      lab: lab.name,
    });
  return lab.uplink;
}

/** The person path of a process that runs as root. */
export const directPersonPath: PersonPathOperator = {
  async shape(lab, mbps, training) {
    const limit = (training.impairment as { limit?: unknown }).limit;
    return shapeUplink(uplinkOf(lab), {
      rate: Math.round(mbps * 1_000_000),
      ...(typeof limit === "number" ? { limit } : {}),
    });
  },
  clear: (lab) => clearUplinkShape(uplinkOf(lab)),
  async startCapture(lab, options) {
    const uplink = uplinkOf(lab);
    mkdirSync(dirname(options.file), { recursive: true });
    const capture = await startCapture({
      iface: uplink.hostIface,
      file: options.file,
      snaplen: options.snaplen,
      filter: `tcp and net ${uplink.labSubnet}`,
    });
    return watchedCapture(capture);
  },
};

export interface PersonSessionsOptions {
  db: Db;
  /** The orchestrator's worker id; a person's sessions are claimed as `<worker>/<person>`. */
  worker: string;
  labPrefix: string;
  operator: LabOperator;
  path: PersonPathOperator;
  /** Starts the built-in origin in the lab and names the session's video. */
  prepareSource(lab: Lab, training: TrainingRow, session: SessionRow): Promise<{ url: string; channel: string }>;
  /** The session is no longer this process's (finished, failed or expired). */
  forget(sessionId: number): void;
  /** People playing at once (each a lab slot `<prefix>p<n>`); default 4. */
  maxSlots?: number;
  staleAfterSeconds?: number;
  log?: (message: string) => void;
}

/** A person's session while it is open. */
export interface PersonSession {
  session: SessionRow;
  training: TrainingRow;
  lab: Lab;
  url: string;
  channel: string;
  startCapture(options: { file: string; snaplen: number }): Promise<OperatorCapture>;
  /** Clears the shaping, stops what still runs and gives the slot back (once). */
  release(): Promise<void>;
}

const PERSON_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Open sessions of people: one lab slot each, kept alive by heartbeats while open and failed when
 * the person's player neither finishes nor fails in time (the seed's warm-up + duration + 90 s).
 */
export class PersonSessions {
  private readonly open = new Map<number, PersonSession & { person: string }>();
  private readonly slotsBusy = new Set<number>();
  private readonly cleanedLabs = new Set<string>();

  constructor(private readonly options: PersonSessionsOptions) {}

  /**
   * Claims the next session of `trainingId` for `person` and prepares its path (lab slot, origin,
   * shaping); null when the training has nothing left. A session the same person still holds was
   * abandoned (the page was reloaded) and is failed first.
   */
  async claim(trainingId: number, person: string): Promise<PersonSession | null> {
    if (!PERSON_ID.test(person)) {
      throw new QoelabError(
        "PLAYER_BAD_WORKER",
        `player: worker "${person}" must be 1–64 letters, digits, "_", "-" or "."`,
        {
          fields: { worker: "1–64 of [A-Za-z0-9_.-]" },
        },
      );
    }
    const training = await getTraining(this.options.db, trainingId);
    if (training.source !== "local") {
      throw new QoelabError(
        "COLLECTION_PERSON_SOURCE_INVALID",
        `training ${trainingId}: a person's browser plays the built-in origin only (this training's source is "${training.source}")`,
        { training: trainingId },
      );
    }
    for (const held of this.open.values()) {
      if (held.person === person && held.training.id === trainingId)
        await this.fail(held.session.id, "abandoned: the person's player asked for the next session");
    }
    const slot = this.freeSlot();
    const maxSlots = this.options.maxSlots ?? 4;
    if (slot >= maxSlots) {
      throw new QoelabError(
        "COLLECTION_PERSON_BUSY",
        `all ${maxSlots} lab slots for people are in use; try again when a session ends`,
        { slots: maxSlots },
      );
    }
    this.slotsBusy.add(slot);
    let session: SessionRow | null = null;
    try {
      session = await claimNextSession(this.options.db, `${this.options.worker}/${person}`, {
        trainingId,
        driver: "person",
        ...(this.options.staleAfterSeconds !== undefined ? { staleAfterSeconds: this.options.staleAfterSeconds } : {}),
      });
      if (!session) {
        this.slotsBusy.delete(slot);
        return null;
      }
      return await this.prepare(slot, person, training, session);
    } catch (error) {
      this.slotsBusy.delete(slot);
      if (session) await failSession(this.options.db, session.id, (error as Error).message).catch(() => undefined);
      throw error;
    }
  }

  private freeSlot(): number {
    for (let i = 0; ; i++) if (!this.slotsBusy.has(i)) return i;
  }

  private async prepare(
    slot: number,
    person: string,
    training: TrainingRow,
    session: SessionRow,
  ): Promise<PersonSession> {
    const { operator, path, db } = this.options;
    // Host-only uplink: the browser on this host reaches the lab; nothing is forwarded beyond it.
    const lab = await operator.labUp({
      name: `${this.options.labPrefix}p${slot}`,
      router: true,
      uplink: { forward: false },
    });
    if (!this.cleanedLabs.has(lab.name)) {
      this.cleanedLabs.add(lab.name);
      for (const pid of await operator.cleanSlot(lab))
        this.options.log?.(`collect: ended leftover process ${pid} in lab ${lab.name}`);
    }
    const { url, channel } = await this.options.prepareSource(lab, training, session);
    const shaped = await path.shape(lab, session.bw_limitation, training);
    this.options.log?.(
      `collect: ${person} plays session ${session.name} at ${session.bw_limitation} Mbit/s (${shaped}), ${channel}`,
    );
    const worker = `${this.options.worker}/${person}`;
    const heartbeat = setInterval(() => void heartbeatSession(db, session.id, worker).catch(() => undefined), 10_000);
    const expiry = setTimeout(
      () => {
        const seconds = training.warmup + training.session_duration + 90;
        void this.fail(session.id, `the person's player did not finish within ${seconds} s`);
      },
      (training.warmup + training.session_duration + 90) * 1000,
    );
    expiry.unref();
    heartbeat.unref();
    let capture: OperatorCapture | undefined;
    let released: Promise<void> | undefined;
    const open: PersonSession & { person: string } = {
      session,
      training,
      lab,
      url,
      channel,
      person,
      async startCapture(options) {
        const started = await path.startCapture(lab, options);
        // Stopped once: by "finish", or by the release of a session that failed or expired.
        let stopped: ReturnType<OperatorCapture["stop"]> | undefined;
        capture = { file: started.file, pid: started.pid, stop: () => (stopped ??= started.stop()) };
        return capture;
      },
      release: () => {
        released ??= (async () => {
          clearInterval(heartbeat);
          clearTimeout(expiry);
          this.open.delete(session.id);
          this.options.forget(session.id);
          // A capture "finish" did not stop (the session failed or expired) must not run on.
          await capture?.stop().catch(() => undefined);
          await path.clear(lab).catch(() => undefined);
          this.slotsBusy.delete(slot);
        })();
        return released;
      },
    };
    this.open.set(session.id, open);
    return open;
  }

  get(sessionId: number): PersonSession | undefined {
    return this.open.get(sessionId);
  }

  /** Puts an open session back for a retry with its reason, and releases its slot. */
  async fail(sessionId: number, reason: string, attempt?: number): Promise<void> {
    const open = this.open.get(sessionId);
    if (!open || (attempt !== undefined && attempt !== open.session.attempts)) return;
    this.options.log?.(`collect: ${open.person}'s session ${open.session.name} failed: ${reason}`);
    await failSession(this.options.db, sessionId, reason, open.session.attempts).catch(() => undefined);
    await open.release();
  }

  /** Fails every open session (the server stops). */
  async close(reason = "the server stopped during the session"): Promise<void> {
    for (const id of [...this.open.keys()]) await this.fail(id, reason);
  }
}
