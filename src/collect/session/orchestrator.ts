import { statSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { Db } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import type { Lab, LabOptions } from "../../netlab/index.ts";
import { computeQoeLabels } from "../dataset/qoe-labels.ts";
import { sessionNetworkData } from "../dataset/session-features.ts";
import type {
  LabOperator,
  OperatorCapture,
  PersonPathOperator,
  RunningTraceLink,
  TraceLinkResult,
} from "../operator/lab-operator.ts";
import { buildLocalOrigin, DEFAULT_ORIGIN_SECONDS, type LocalOrigin } from "../origin/local-origin.ts";
import { loadTraceByName } from "../origin/trace-library.ts";
import {
  type TwitchChannel,
  twitchConfigFromEnv,
  twitchPlaylistUrl,
  twitchTopChannels,
} from "../origin/twitch-source.ts";
import type { PlayerBrowser } from "../player/player-browser.ts";
import {
  claimNextSession,
  completeSession,
  failSession,
  getSession,
  getTraining,
  heartbeatSession,
  type SessionRow,
  type TrainingRow,
} from "../training/training-store.ts";
import { type PersonSession, PersonSessions } from "./person-sessions.ts";
import type { PlayableSession, SessionController } from "./session-controller.ts";

export interface OrchestratorOptions {
  db: Db;
  /**
   * Every privileged step (lab slots, shaping, origin, capture, the player's browser): done by this
   * process as root (`directLabOperator`) or by `qoelab shaperd` (`ShaperdLabOperator`).
   */
  operator: LabOperator;
  /** Where captures go: <dir>/training-<id>/session-<id>.pcap (inside the operator's own directory, if it has one). */
  captureDir?: string;
  /** Lab slots run sessions in parallel (each its own namespaces). */
  maxSlots?: number;
  /** Snap length of session captures (headers are what flow statistics need). */
  snaplen?: number;
  origin?: LocalOrigin;
  /** Content seconds per channel of the built-in origin. */
  originDuration?: number;
  /** Contents of the built-in origin (default DEFAULT_CONTENTS: talk, sport, game, noise, cuts, animation). */
  originChannels?: readonly string[];
  log?: (message: string) => void;
  worker?: string;
  /** Lab slot names are `<prefix><slot>` (default "qc": namespaces qoelab-qc0-client, …). */
  labPrefix?: string;
  /** A session under capturing whose worker sent no heartbeat for this long is resumed (s). */
  staleAfterSeconds?: number;
  /** Progress events (tests and monitoring): the browser or the capture of a session started. */
  onEvent?: (event: OrchestratorEvent) => void;
  /**
   * Destinations (IPv4 prefixes) the lab of an external source (Twitch, URLs) may reach through its
   * router's uplink; default any.
   */
  uplinkAllow?: string[];
  /** Shaping and capture of a person's sessions (person-sessions.ts); default: the operator's. */
  personPath?: PersonPathOperator;
  /** People playing at once from /player?training=ID (a lab slot each); default 4. */
  maxPersonSlots?: number;
}

export type OrchestratorEvent =
  | { kind: "browser-started"; sessionId: number; pid: number | undefined }
  | { kind: "capture-started"; sessionId: number; pid: number };

interface RunningSession {
  session: SessionRow;
  training: TrainingRow;
  lab: Lab;
  url: string;
  channel: string;
  capture?: OperatorCapture;
  captureFile: string;
  /** The player's "start" (end of the warm-up), ms since 1970: the recorded window begins here. */
  recordStartUnixMs?: number;
  /** A trace session's emulator on the downstream. */
  traceLink?: RunningTraceLink;
  finished?: SessionRow;
  /** Set when a person's browser plays the session (see person-sessions.ts). */
  person?: PersonSession;
}

const ORIGIN_PORT = 8080;

/**
 * Runs collection sessions: for each, shape the client's link in a lab slot (client — router —
 * server namespaces), drive Debian's chromium on the player page inside the client host, capture
 * on the client's interface from "start" to "finish", compute the network data with the flow
 * engine and store it beside the player's application data and the labels derived from it.
 * It is also the SessionController the player talks to.
 */
export class CollectionOrchestrator implements SessionController {
  readonly worker: string;
  private readonly running = new Map<number, RunningSession>();
  private readonly slotsBusy = new Set<number>();
  /** Lab names (a slot has one lab per kind: built-in origin, uplink) already cleaned by this process. */
  private readonly cleanedSlots = new Set<string>();
  private origin: LocalOrigin | undefined;
  private originBuild: Promise<LocalOrigin> | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  private readonly persons: PersonSessions;

  constructor(private readonly options: OrchestratorOptions) {
    this.worker = options.worker ?? `${hostname()}:${process.pid}`;
    this.origin = options.origin;
    this.persons = new PersonSessions({
      db: options.db,
      worker: this.worker,
      labPrefix: options.labPrefix ?? "qc",
      operator: options.operator,
      path: options.personPath ?? options.operator.personPath,
      prepareSource: async (lab, training, session) => {
        await this.ensureOrigin(lab);
        return this.sourceFor(training, session, lab);
      },
      forget: (sessionId) => this.running.delete(sessionId),
      ...(options.maxPersonSlots !== undefined ? { maxSlots: options.maxPersonSlots } : {}),
      ...(options.staleAfterSeconds !== undefined ? { staleAfterSeconds: options.staleAfterSeconds } : {}),
      ...(options.log ? { log: options.log } : {}),
    });
  }

  private log(message: string): void {
    this.options.log?.(message);
  }

  private get maxSlots(): number {
    return this.options.maxSlots ?? 1;
  }

  /** Runs every claimable session of one training (or of all trainings) until none is left. */
  async runUntilIdle(trainingId?: number): Promise<void> {
    const active = new Set<Promise<void>>();
    for (;;) {
      while (!this.stopped && this.slotsBusy.size < this.maxSlots) {
        const slot = this.freeSlot();
        const session = await claimNextSession(this.options.db, this.worker, {
          ...(trainingId !== undefined ? { trainingId } : {}),
          ...(this.options.staleAfterSeconds !== undefined
            ? { staleAfterSeconds: this.options.staleAfterSeconds }
            : {}),
        });
        if (!session) break;
        this.slotsBusy.add(slot);
        const job = this.runSession(slot, session).finally(() => {
          this.slotsBusy.delete(slot);
          active.delete(job);
        });
        active.add(job);
      }
      if (active.size === 0) return;
      await Promise.race(active);
    }
  }

  /** Background worker for `qoelab serve`: polls for sessions every `intervalMs`. */
  startWorker(intervalMs = 2000): void {
    if (this.loop) return;
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          await this.runUntilIdle();
        } catch (error) {
          this.log(`collect: ${(error as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, intervalMs));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop?.catch(() => undefined);
    await this.persons.close();
    await this.options.operator.close();
  }

  /**
   * The first time this process uses a slot, it ends whatever still runs in the slot's hosts: a
   * crashed worker leaves its chromium playing (it would share the shaped link), its tcpdump and its
   * origin server (holding the port).
   */
  private async cleanSlot(lab: Lab): Promise<void> {
    if (this.cleanedSlots.has(lab.name)) return;
    this.cleanedSlots.add(lab.name);
    for (const pid of await this.options.operator.cleanSlot(lab))
      this.log(`collect: ended leftover process ${pid} in lab ${lab.name}`);
  }

  private freeSlot(): number {
    for (let i = 0; ; i++) if (!this.slotsBusy.has(i)) return i;
  }

  private async ensureOrigin(lab: Lab): Promise<void> {
    // One build, however many slots ask for it at once.
    this.originBuild ??= this.origin
      ? Promise.resolve(this.origin)
      : buildLocalOrigin({
          durationSeconds: this.options.originDuration ?? DEFAULT_ORIGIN_SECONDS,
          ...(this.options.originChannels ? { channels: this.options.originChannels } : {}),
          onProgress: (m) => this.log(m),
          // The first build takes minutes: its position shows in the log, not only on the page.
          tickSeconds: 10,
        });
    this.origin = await this.originBuild;
    await this.options.operator.startOrigin(lab, this.origin.root, ORIGIN_PORT);
  }

  private readonly twitchChannels = new Map<number, Promise<TwitchChannel[]>>();

  private async sourceFor(
    training: TrainingRow,
    session: SessionRow,
    lab: Lab,
  ): Promise<{ url: string; channel: string }> {
    if (training.source === "twitch") {
      // The lab's client reaches Twitch only where the router has an uplink to the Internet.
      const config = twitchConfigFromEnv();
      let channels = this.twitchChannels.get(training.id);
      if (!channels) {
        channels = twitchTopChannels(config, Math.min(20, training.number_of_videos));
        this.twitchChannels.set(training.id, channels);
      }
      const list = await channels;
      const channel = list[session.position % Math.max(1, list.length)];
      if (!channel) throw new QoelabError("TWITCH_NO_CHANNEL", "twitch: no live channel was listed");
      return { url: await twitchPlaylistUrl(config, channel.login), channel: channel.login };
    }
    if (training.source === "urls") {
      const urls = (training.source_config.urls as string[] | undefined) ?? [];
      const url = urls[session.position % Math.max(1, urls.length)];
      if (!url) throw new QoelabError("SOURCE_NO_URLS", `training ${training.id}: source "urls" has no URL`);
      return { url, channel: url };
    }
    if (training.source === "local") {
      const channels = this.origin?.channels ?? [];
      const channel = channels[session.position % Math.max(1, channels.length)];
      if (!channel) throw new QoelabError("ORIGIN_NO_CHANNEL", "origin: no channel was built");
      return { url: `http://${lab.hosts.server.address}:${ORIGIN_PORT}/${channel.master}`, channel: channel.name };
    }
    throw new QoelabError(
      "SOURCE_UNSUPPORTED",
      `training ${training.id}: video source "${training.source}" is not available in this worker`,
    );
  }

  /**
   * The lab of a slot: external sources need the router's uplink (lab `<prefix>u<slot>`, so a slot
   * switching between kinds of source never has to rebuild its lab).
   */
  private slotLab(slot: number, training: TrainingRow): LabOptions {
    const prefix = this.options.labPrefix ?? "qc";
    if (training.source === "local") return { name: `${prefix}${slot}`, router: true };
    const allow = this.options.uplinkAllow;
    return { name: `${prefix}u${slot}`, router: true, uplink: allow ? { allow } : true };
  }

  private async runSession(slot: number, claimed: SessionRow): Promise<void> {
    const { db } = this.options;
    const training = await getTraining(db, claimed.training_id);
    let browser: PlayerBrowser | undefined;
    const heartbeat = setInterval(
      () => void heartbeatSession(db, claimed.id, this.worker).catch(() => undefined),
      10_000,
    );
    let lab: Lab | undefined;
    try {
      lab = await this.options.operator.labUp(this.slotLab(slot, training));
      await this.cleanSlot(lab);
      if (training.source === "local") await this.ensureOrigin(lab);
      const { url, channel } = await this.sourceFor(training, claimed, lab);
      const captureDir = resolve(this.options.captureDir ?? "./qoelab-data/captures", `training-${training.id}`);
      this.running.set(claimed.id, {
        session: claimed,
        training,
        lab,
        url,
        channel,
        captureFile: join(captureDir, `session-${claimed.id}.pcap`),
      });
      if (claimed.trace) {
        const operator = this.options.operator;
        if (!operator.shapeTrace)
          throw new QoelabError(
            "COLLECT_TRACE_UNSUPPORTED",
            `session ${claimed.name}: trace ${claimed.trace} needs the link emulator, which the ${operator.kind} lab operator cannot start (run the collection as root)`,
            { session: claimed.id },
          );
        const trace = loadTraceByName(claimed.trace);
        const traceLink = await operator.shapeTrace(
          lab,
          {
            trace: trace.name,
            text: trace.text,
            offsetS: claimed.trace_offset_s ?? 0,
            outDir: join(captureDir, `session-${claimed.id}-link`),
          },
          training,
        );
        const entry = this.running.get(claimed.id);
        if (entry) entry.traceLink = traceLink;
        else await traceLink.stop().catch(() => undefined);
        this.log(`collect: session ${claimed.name} on ${traceLink.applied}, ${channel}`);
      } else {
        const shaped = await this.options.operator.shape(lab, claimed.bw_limitation, training);
        this.log(`collect: session ${claimed.name} at ${claimed.bw_limitation} Mbit/s (${shaped}), ${channel}`);
      }
      // The capture runs before the player opens its connections, so its flows have their handshake.
      await this.startCapture(claimed.id);
      browser = await this.options.operator.launchPlayer(lab);
      this.options.onEvent?.({ kind: "browser-started", sessionId: claimed.id, pid: browser.pid });
      await browser.run(`/player?session=${claimed.id}`, (training.warmup + training.session_duration + 90) * 1000);
      if (!this.running.get(claimed.id)?.finished)
        throw new QoelabError("PLAYER_NO_FINISH", "player ended without finishing the session");
      this.log(`collect: session ${claimed.name} captured`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log(`collect: session ${claimed.name} failed: ${reason}`);
      const failed = this.running.get(claimed.id);
      await failed?.capture?.stop().catch(() => undefined);
      await failed?.traceLink?.stop().catch(() => undefined);
      const current = await getSession(db, claimed.id).catch(() => undefined);
      if (current?.status === 0) await failSession(db, claimed.id, reason, claimed.attempts);
    } finally {
      clearInterval(heartbeat);
      await browser?.close();
      if (lab) await this.options.operator.clear(lab).catch(() => undefined);
      // Only this attempt's entry: another slot may have claimed the session again meanwhile.
      if (this.running.get(claimed.id)?.session === claimed) this.running.delete(claimed.id);
    }
  }

  // ---- SessionController (the player's protocol)

  /** A person's player asks for the next session of a training (see person-sessions.ts). */
  async next(trainingId: number, worker: string): Promise<{ session: PlayableSession; url: string } | null> {
    const person = await this.persons.claim(trainingId, worker);
    if (!person) return null;
    const { session, training } = person;
    const captureDir = resolve(this.options.captureDir ?? "./qoelab-data/captures", `training-${training.id}`);
    this.running.set(session.id, {
      session,
      training,
      lab: person.lab,
      url: person.url,
      channel: person.channel,
      captureFile: join(captureDir, `session-${session.id}.pcap`),
      person,
    });
    return {
      session: { ...session, warmup: training.warmup, session_duration: training.session_duration },
      url: person.url,
    };
  }

  private runningSession(id: number): RunningSession {
    const running = this.running.get(id);
    if (!running)
      throw new QoelabError(
        "SESSION_NOT_CAPTURING",
        `session ${id} is not being run by this worker`,
        { session: id },
        { kind: "conflict" },
      );
    return running;
  }

  async play(sessionId: number): Promise<{ session: PlayableSession; url: string }> {
    const running = this.runningSession(sessionId);
    return {
      session: {
        ...running.session,
        warmup: running.training.warmup,
        session_duration: running.training.session_duration,
      },
      url: running.url,
    };
  }

  /** The player's "start": the warm-up is over, the recorded window begins (a person's capture starts here). */
  async start(sessionId: number): Promise<void> {
    const running = this.runningSession(sessionId);
    running.recordStartUnixMs ??= Date.now();
    await this.startCapture(sessionId);
  }

  private async startCapture(sessionId: number): Promise<void> {
    const running = this.runningSession(sessionId);
    if (running.capture) return;
    const snaplen = this.options.snaplen ?? 128;
    const capture = running.person
      ? await running.person.startCapture({ file: running.captureFile, snaplen })
      : await this.options.operator.startCapture(running.lab, { file: running.captureFile, snaplen, filter: "tcp" });
    running.capture = capture;
    this.options.onEvent?.({ kind: "capture-started", sessionId, pid: capture.pid });
  }

  async finish(sessionId: number, applicationData: Record<string, unknown>): Promise<SessionRow> {
    const running = this.runningSession(sessionId);
    if (!running.capture)
      throw new QoelabError(
        "SESSION_NOT_STARTED",
        `session ${sessionId}: finish before start`,
        { session: sessionId },
        { kind: "conflict" },
      );
    const captured = await running.capture.stop();
    const link = await running.traceLink?.stop();
    const refusal = captured.diedEarly
      ? new QoelabError("CAPTURE_DIED", `session ${sessionId}: ${captured.diedEarly}`, { session: sessionId })
      : (neverPlayed(sessionId, applicationData) ??
        (captured.packets === 0
          ? new QoelabError("CAPTURE_EMPTY", `session ${sessionId}: the capture holds no packet`, {
              session: sessionId,
              file: running.captureFile,
            })
          : undefined));
    if (refusal) {
      // Not stored as captured: the session goes back for a (bounded) retry with this reason, before
      // the player hears of it (its own "fail" then finds the session no longer under capturing).
      await this.fail(sessionId, `${refusal.code}: ${refusal.message}`, running.session.attempts);
      throw refusal;
    }
    const networkData = await sessionNetworkData(running.captureFile, running.recordStartUnixMs);
    if (link) networkData.link = traceLinkData(link, running.recordStartUnixMs);
    const labels = computeQoeLabels(applicationData);
    await completeSession(this.options.db, sessionId, {
      url: running.url,
      channel: running.channel,
      applicationData,
      networkData,
      labels: labels as unknown as Record<string, unknown>,
      captureFile: running.captureFile,
      captureSize: statSync(running.captureFile).size,
    });
    running.finished = await getSession(this.options.db, sessionId);
    await running.person?.release();
    return running.finished;
  }

  async fail(sessionId: number, reason: string, attempt?: number): Promise<void> {
    if (this.persons.get(sessionId)) await this.persons.fail(sessionId, reason, attempt);
    else await failSession(this.options.db, sessionId, reason, attempt);
  }
}

/**
 * PLAYER_NEVER_PLAYED when the player's application data has no startup time: nothing was ever
 * played (the manifest failed, the origin was gone), so the session's labels would describe no
 * video. Names the player's last error.
 */
function neverPlayed(sessionId: number, applicationData: Record<string, unknown>): QoelabError | undefined {
  const startup = applicationData.startupTime;
  if (typeof startup === "number" && Number.isFinite(startup)) return undefined;
  const errors = Array.isArray(applicationData.errors) ? (applicationData.errors as unknown[]) : [];
  const last = errors.at(-1) as { type?: unknown; details?: unknown; fatal?: unknown } | undefined;
  const lastError = last
    ? `last player error: ${String(last.details)} (${String(last.type)}${last.fatal ? ", fatal" : ""})`
    : "the player reported no error";
  const url = typeof applicationData.url === "string" ? ` of ${applicationData.url}` : "";
  return new QoelabError(
    "PLAYER_NEVER_PLAYED",
    `session ${sessionId}: the player never started playback${url} (${lastError}, ${errors.length} player errors)`,
    { session: sessionId },
    // Well-formed, but what it reports cannot be stored.
    { kind: "unprocessable" },
  );
}

/**
 * What a trace session stores of its link: the trace, the offset, and per second of the emulator's
 * run the rate it delivered beside the trace's offer and the part of the offer that found the link
 * idle (the player asked for nothing then); `record_start_s` is where the player's recorded window
 * begins on that clock.
 */
function traceLinkData(link: TraceLinkResult, recordStartUnixMs: number | undefined): Record<string, unknown> {
  return {
    trace: link.trace,
    offset_s: link.offsetS,
    epoch_unix_ms: link.epochUnixMs,
    record_start_s:
      recordStartUnixMs === undefined ? null : Math.round((recordStartUnixMs - link.epochUnixMs) / 10) / 100,
    delivered_mbps: link.deliveredMbps,
    offered_mbps: link.offeredMbps,
    ...(link.idleMbps ? { idle_mbps: link.idleMbps } : {}),
    drops: link.drops,
  };
}
