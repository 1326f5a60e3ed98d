import type { ChildProcess } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { type Capture, startCapture } from "../capture/index.ts";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { analyzeCaptureFile } from "../flows/index.ts";
import { type Lab, labUp, qoelabCommand, run } from "../netlab/index.ts";
import { buildLocalOrigin, type LocalOrigin } from "./local-origin.ts";
import { launchPlayerBrowser, type PlayerBrowser } from "./player-browser.ts";
import { computeQoeLabels } from "./qoe-labels.ts";
import type { PlayableSession, SessionController } from "./session-controller.ts";
import {
  claimNextSession,
  completeSession,
  failSession,
  getSession,
  getTraining,
  heartbeatSession,
  type SessionRow,
  type TrainingRow,
} from "./training-store.ts";
import { type TwitchChannel, twitchConfigFromEnv, twitchPlaylistUrl, twitchTopChannels } from "./twitch-source.ts";

/** Shapes the client's downstream link of a lab (router → client) to a rate, or clears it. */
export interface LinkShaper {
  shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string>;
  clear(lab: Lab): Promise<void>;
}

export interface OrchestratorOptions {
  db: Db;
  /** Answers the player's page/asset/API requests in-process (the web app's fetch). */
  handle: (request: Request) => Promise<Response>;
  shaper: LinkShaper;
  /** Where captures go: <dir>/training-<id>/session-<id>.pcap. */
  captureDir?: string;
  /** Lab slots run sessions in parallel (each its own namespaces). */
  maxSlots?: number;
  /** Snap length of session captures (headers are what flow statistics need). */
  snaplen?: number;
  origin?: LocalOrigin;
  /** Content seconds per channel of the built-in origin. */
  originDuration?: number;
  /** Channels of the built-in origin (default testcard, life, gradients). */
  originChannels?: readonly string[];
  log?: (message: string) => void;
  worker?: string;
  /** Lab slot names are `<prefix><slot>` (default "qc": namespaces qoelab-qc0-client, …). */
  labPrefix?: string;
  /** A session under capturing whose worker sent no heartbeat for this long is resumed (s). */
  staleAfterSeconds?: number;
  /** Progress events (tests and monitoring): the browser or the capture of a session started. */
  onEvent?: (event: OrchestratorEvent) => void;
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
  capture?: Capture;
  /** Why the capture ended before "finish" asked it to (tcpdump killed or failed). */
  captureDied?: string;
  stopping?: boolean;
  captureFile: string;
  finished?: SessionRow;
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
  private readonly origins = new Map<number, ChildProcess>();
  private readonly cleanedSlots = new Set<number>();
  private origin: LocalOrigin | undefined;
  private originBuild: Promise<LocalOrigin> | undefined;
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: OrchestratorOptions) {
    this.worker = options.worker ?? `${hostname()}:${process.pid}`;
    this.origin = options.origin;
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
    for (const child of this.origins.values()) child.kill("SIGTERM");
    this.origins.clear();
  }

  /**
   * The first time this process uses a slot, it ends whatever still runs in the slot's hosts: a
   * crashed worker leaves its chromium playing (it would share the shaped link), its tcpdump and its
   * origin server (holding the port).
   */
  private async cleanSlot(slot: number, lab: Lab): Promise<void> {
    if (this.cleanedSlots.has(slot)) return;
    this.cleanedSlots.add(slot);
    for (const host of Object.values(lab.hosts)) {
      if (!host) continue;
      const listed = await run(["ip", "netns", "pids", host.netns]);
      for (const pid of listed.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try {
          process.kill(Number(pid), "SIGKILL");
          this.log(`collect: ended leftover process ${pid} in ${host.netns}`);
        } catch {
          // already gone
        }
      }
    }
  }

  private freeSlot(): number {
    for (let i = 0; ; i++) if (!this.slotsBusy.has(i)) return i;
  }

  private async ensureOrigin(slot: number, lab: Lab): Promise<void> {
    // One build, however many slots ask for it at once.
    this.originBuild ??= this.origin
      ? Promise.resolve(this.origin)
      : buildLocalOrigin({
          durationSeconds: this.options.originDuration ?? 60,
          ...(this.options.originChannels ? { channels: this.options.originChannels } : {}),
          onProgress: (m) => this.log(m),
        });
    this.origin = await this.originBuild;
    const existing = this.origins.get(slot);
    if (existing && existing.exitCode === null && existing.signalCode === null) return;
    const server = lab.hosts.server;
    const child = server.spawn(
      qoelabCommand([
        "origin",
        "serve",
        "--root",
        this.origin.root,
        "--host",
        "0.0.0.0",
        "--port",
        String(ORIGIN_PORT),
      ]),
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.origins.set(slot, child);
    await new Promise<void>((resolvePromise, reject) => {
      let output = "";
      const timer = setTimeout(
        () => reject(new QoelabError("ORIGIN_START_FAILED", "origin: did not start in 20 s")),
        20_000,
      );
      child.stdout?.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("serving")) {
          clearTimeout(timer);
          resolvePromise();
        }
      });
      child.stderr?.on("data", (d: Buffer) => {
        output += d.toString();
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new QoelabError("ORIGIN_START_FAILED", `origin: exited with ${code}: ${output.trim()}`));
      });
    });
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
      lab = await labUp({ name: `${this.options.labPrefix ?? "qc"}${slot}`, router: true });
      await this.cleanSlot(slot, lab);
      if (training.source === "local") await this.ensureOrigin(slot, lab);
      const { url, channel } = await this.sourceFor(training, claimed, lab);
      const captureDir = resolve(this.options.captureDir ?? "./qoelab-data/captures", `training-${training.id}`);
      mkdirSync(captureDir, { recursive: true });
      this.running.set(claimed.id, {
        session: claimed,
        training,
        lab,
        url,
        channel,
        captureFile: join(captureDir, `session-${claimed.id}.pcap`),
      });
      const shaped = await this.options.shaper.shape(lab, claimed.bw_limitation, training);
      this.log(`collect: session ${claimed.name} at ${claimed.bw_limitation} Mbit/s (${shaped}), ${channel}`);
      browser = await launchPlayerBrowser({ netns: lab.hosts.client.netns, handle: this.options.handle });
      this.options.onEvent?.({ kind: "browser-started", sessionId: claimed.id, pid: browser.pid });
      await browser.run(`/player?session=${claimed.id}`, (training.warmup + training.session_duration + 90) * 1000);
      if (!this.running.get(claimed.id)?.finished)
        throw new QoelabError("PLAYER_NO_FINISH", "player ended without finishing the session");
      this.log(`collect: session ${claimed.name} captured`);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.log(`collect: session ${claimed.name} failed: ${reason}`);
      const capture = this.running.get(claimed.id)?.capture;
      await capture?.stop().catch(() => undefined);
      const current = await getSession(db, claimed.id).catch(() => undefined);
      if (current?.status === 0) await failSession(db, claimed.id, reason);
    } finally {
      clearInterval(heartbeat);
      await browser?.close();
      if (lab) await this.options.shaper.clear(lab).catch(() => undefined);
      this.running.delete(claimed.id);
    }
  }

  // ---- SessionController (the player's protocol)

  async next(trainingId: number, worker: string): Promise<{ session: PlayableSession; url: string } | null> {
    void trainingId;
    void worker;
    throw new QoelabError(
      "COLLECTION_MANUAL_UNSUPPORTED",
      "this worker drives its own browsers in lab hosts; open /player?session=ID only for sessions it runs",
    );
  }

  private runningSession(id: number): RunningSession {
    const running = this.running.get(id);
    if (!running)
      throw new QoelabError("SESSION_NOT_CAPTURING", `session ${id} is not being run by this worker`, { session: id });
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

  async start(sessionId: number): Promise<void> {
    const running = this.runningSession(sessionId);
    if (running.capture) return;
    const client = running.lab.hosts.client;
    const capture = await startCapture({
      netns: client.netns,
      iface: client.iface,
      file: running.captureFile,
      snaplen: this.options.snaplen ?? 128,
      filter: "tcp",
    });
    running.capture = capture;
    void capture.exited.then((result) => {
      if (!running.stopping)
        running.captureDied = `tcpdump ended during the session: ${result.stderr.trim().split("\n").pop() ?? ""}`;
    });
    this.options.onEvent?.({ kind: "capture-started", sessionId, pid: capture.pid });
  }

  async finish(sessionId: number, applicationData: Record<string, unknown>): Promise<SessionRow> {
    const running = this.runningSession(sessionId);
    if (!running.capture)
      throw new QoelabError("SESSION_NOT_STARTED", `session ${sessionId}: finish before start`, { session: sessionId });
    running.stopping = true;
    if (running.captureDied)
      throw new QoelabError("CAPTURE_DIED", `session ${sessionId}: ${running.captureDied}`, { session: sessionId });
    const captured = await running.capture.stop();
    if (captured.packets === 0)
      throw new QoelabError("CAPTURE_EMPTY", `session ${sessionId}: the capture holds no packet`, {
        file: running.captureFile,
      });
    const networkData = await analyzeCaptureFile(running.captureFile, { features: true, workers: 1 });
    const labels = computeQoeLabels(applicationData);
    await completeSession(this.options.db, sessionId, {
      url: running.url,
      channel: running.channel,
      applicationData,
      networkData: networkData as unknown as Record<string, unknown>,
      labels: labels as unknown as Record<string, unknown>,
      captureFile: running.captureFile,
      captureSize: statSync(running.captureFile).size,
    });
    running.finished = await getSession(this.options.db, sessionId);
    return running.finished;
  }

  async fail(sessionId: number, reason: string): Promise<void> {
    await failSession(this.options.db, sessionId, reason);
  }
}
