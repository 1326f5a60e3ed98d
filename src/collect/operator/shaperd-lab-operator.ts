import { QoelabError } from "../../errors.ts";
import { type Lab, type LabOptions, planLab, ShaperClient } from "../../netlab/index.ts";
import type { PlayerBrowser } from "../player/player-browser.ts";
import { impairmentOf, type TrainingRow } from "../training/training-store.ts";
import type { LabOperator, OperatorCapture, PersonPathOperator } from "./lab-operator.ts";

const CLIENT_LINK = "router:client-side";

/**
 * The lab operator of a process that is not root: every privileged step is one request of
 * `qoelab shaperd`'s closed command set. The daemon runs chromium in the client host and forwards
 * the player page's requests to `webAppUrl` (this process's web app on loopback); captures land in
 * the daemon's capture directory, handed over to this user.
 */
export class ShaperdLabOperator implements LabOperator {
  readonly kind = "shaperd";
  private readonly origins = new Set<string>();

  private constructor(
    private readonly client: ShaperClient,
    readonly captureDir: string,
    private readonly webAppUrl: string,
  ) {}

  /**
   * Connects and checks that the daemon serves this user (it hands its files to that user only).
   * Throws SHAPERD_UNAVAILABLE when nothing answers on the socket.
   */
  static async connect(socketPath: string, webAppUrl: string): Promise<ShaperdLabOperator> {
    const client = await ShaperClient.connect(socketPath);
    const info = await client.call("ping");
    const uid = process.getuid?.();
    if (uid !== undefined && uid !== 0 && info.uid !== uid) {
      client.close();
      throw new QoelabError(
        "SHAPERD_OTHER_USER",
        `shaperd at ${socketPath} serves uid ${info.uid}, not this process (uid ${uid}); start it with --user ${uid}`,
        { socket: socketPath, served: info.uid, uid },
      );
    }
    return new ShaperdLabOperator(client, info.captureDir, webAppUrl);
  }

  async labUp(options: LabOptions): Promise<Lab> {
    const { name, router, uplink, ...rest } = options;
    const unsupported = Object.entries(rest).filter(([, value]) => value !== undefined);
    if (unsupported.length > 0)
      throw new QoelabError(
        "SHAPERD_LAB_OPTION",
        `lab ${name}: shaperd makes labs from a name, a router and an uplink only, not ${unsupported.map(([k]) => k).join(", ")}`,
      );
    // The daemon gives out the uplink's addresses itself; only the forward flag and the allow list cross.
    const wanted = uplink === true ? { forward: true } : uplink || undefined;
    const up = await this.client.call("lab.up", {
      name,
      router: router ?? false,
      ...(wanted
        ? { uplink: { forward: wanted.forward ?? true, ...(wanted.allow ? { allow: wanted.allow } : {}) } }
        : {}),
    });
    // The topology follows from the config alone; its hosts' exec/spawn are never used on this side.
    return planLab(up.config);
  }

  async cleanSlot(lab: Lab): Promise<number[]> {
    return (await this.client.call("slot.clean", { lab: lab.name })).killed;
  }

  async shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string> {
    const extra = impairmentOf(training);
    const shaped = await this.client.call("shape", {
      lab: lab.name,
      link: CLIENT_LINK,
      rateBits: Math.round(mbps * 1_000_000),
      ...(extra.delay !== undefined ? { delaySeconds: extra.delay } : {}),
      ...(extra.loss !== undefined ? { lossProbability: extra.loss, seed: training.seed } : {}),
      ...(extra.limit !== undefined ? { limitPackets: Math.round(extra.limit) } : {}),
    });
    return shaped.assignments.map((a) => `${a.option} ${a.value} by ${a.backend}`).join(", ");
  }

  async clear(lab: Lab): Promise<void> {
    await this.client.call("shape.clear", { lab: lab.name, link: CLIENT_LINK });
  }

  async startOrigin(lab: Lab, root: string, port: number): Promise<void> {
    await this.client.call("origin.start", { lab: lab.name, root, port });
    this.origins.add(lab.name);
  }

  async startCapture(lab: Lab, options: { file: string; snaplen: number; filter?: string }): Promise<OperatorCapture> {
    const started = await this.client.call("capture.start", {
      lab: lab.name,
      host: "client",
      file: options.file,
      snaplen: options.snaplen,
      ...(options.filter ? { filter: options.filter } : {}),
    });
    return this.captureHandle(started);
  }

  /** A capture the daemon runs, stopped (and handed to this user) by `capture.stop`. */
  private captureHandle(started: { id: number; pid: number; file: string }): OperatorCapture {
    return {
      file: started.file,
      pid: started.pid,
      stop: async () => {
        const stopped = await this.client.call("capture.stop", { id: started.id });
        return { packets: stopped.packets, ...(stopped.diedEarly ? { diedEarly: stopped.diedEarly } : {}) };
      },
    };
  }

  /** A person's path through the daemon: tbf on the router's end of the uplink, capture on the host's end. */
  readonly personPath: PersonPathOperator = {
    shape: async (lab, mbps, training) => {
      const limit = (training.impairment as { limit?: unknown }).limit;
      const shaped = await this.client.call("uplink.shape", {
        lab: lab.name,
        rateBits: Math.round(mbps * 1_000_000),
        ...(typeof limit === "number" ? { limitPackets: limit } : {}),
      });
      return shaped.applied;
    },
    clear: async (lab) => {
      await this.client.call("uplink.clear", { lab: lab.name });
    },
    startCapture: async (lab, options) =>
      this.captureHandle(
        await this.client.call("uplink.capture", { lab: lab.name, file: options.file, snaplen: options.snaplen }),
      ),
  };

  async launchPlayer(lab: Lab): Promise<PlayerBrowser> {
    const launched = await this.client.call("player.launch", { lab: lab.name, forwardTo: this.webAppUrl });
    let closed = false;
    return {
      pid: launched.pid ?? undefined,
      run: async (path, timeoutMs) => {
        await this.client.call("player.run", { id: launched.id, path, timeoutMs });
      },
      close: async () => {
        if (closed) return;
        closed = true;
        await this.client.call("player.close", { id: launched.id }).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    for (const lab of this.origins) await this.client.call("origin.stop", { lab }).catch(() => undefined);
    this.origins.clear();
    this.client.close();
  }
}
