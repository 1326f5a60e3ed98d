import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { QoelabError } from "../../errors.ts";
import { createLossModel, drawDelay, Random } from "../../generator/index.ts";
import type { ImpairSpec } from "./impair-spec.ts";

/**
 * A userspace UDP impairment relay: datagrams arriving on `listenPort` are forwarded to
 * `forwardHost:forwardPort` after seeded loss, delay/jitter, reordering, duplication and
 * corruption, with netem's meaning for each. Replies from the destination go back to the sender
 * unimpaired through the same socket (so a NAT REDIRECT in front of the relay stays transparent).
 * Release times are kept in a min-heap, so jitter reorders packets as netem's time-sorted queue does.
 */
export interface RelayConfig
  extends Pick<ImpairSpec, "delay" | "jitter" | "delayDist" | "loss" | "reorder" | "duplicate" | "corrupt" | "seed"> {
  listenPort: number;
  listenAddress?: string;
  forwardHost: string;
  forwardPort: number;
  /** Maximum packets waiting in the relay; more are tail-dropped (queue-full). */
  limit?: number;
  /** Keep the arrival index of every packet the loss model dropped (for tests and logs). */
  recordDrops?: boolean;
  /** Spin this long before a release instead of trusting the timer (ms, default 1). */
  spinMs?: number;
}

export interface RelayStats {
  received: number;
  forwarded: number;
  lost: number;
  queueFull: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
  replies: number;
  /** Arrival indexes (0-based) the loss model dropped, when recordDrops is on. */
  lostIndexes: number[];
  /** Achieved extra delay (ms) of forwarded packets: mean and max of (sent − arrived). */
  delayMeanMs: number;
  delayMaxMs: number;
}

interface Pending {
  due: number;
  order: number;
  arrived: number;
  data: Buffer;
  upstream: Socket;
}

class PendingHeap {
  private items: Pending[] = [];
  get size(): number {
    return this.items.length;
  }
  peek(): Pending | undefined {
    return this.items[0];
  }
  private less(a: Pending, b: Pending): boolean {
    return a.due < b.due || (a.due === b.due && a.order < b.order);
  }
  push(item: Pending): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(items[i] as Pending, items[parent] as Pending)) break;
      [items[i], items[parent]] = [items[parent] as Pending, items[i] as Pending];
      i = parent;
    }
  }
  pop(): Pending | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.less(items[l] as Pending, items[m] as Pending)) m = l;
        if (r < items.length && this.less(items[r] as Pending, items[m] as Pending)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m] as Pending, items[i] as Pending];
        i = m;
      }
    }
    return top;
  }
}

export class UdpRelay {
  private listen: Socket | undefined;
  private readonly flows = new Map<string, Socket>();
  private readonly heap = new PendingHeap();
  private readonly rng: Random;
  private readonly lossModel;
  private readonly family: 4 | 6;
  private timer: NodeJS.Timeout | undefined;
  private order = 0;
  private lastSentOrder = -1;
  private delaySum = 0;
  readonly stats: RelayStats = {
    received: 0,
    forwarded: 0,
    lost: 0,
    queueFull: 0,
    duplicated: 0,
    corrupted: 0,
    reordered: 0,
    replies: 0,
    lostIndexes: [],
    delayMeanMs: 0,
    delayMaxMs: 0,
  };

  constructor(private readonly config: RelayConfig) {
    const family = isIP(config.forwardHost);
    if (family === 0) {
      throw new QoelabError("RELAY_BAD_CONFIG", `relay: forward host "${config.forwardHost}" is not an IP address`);
    }
    this.family = family as 4 | 6;
    const seed = config.seed ?? Math.floor(Math.random() * 2 ** 31);
    this.rng = new Random(seed);
    // A separate stream for loss so that adding delay or jitter does not change which packets drop.
    this.lossModel = createLossModel(config.loss ?? { kind: "none" }, new Random(seed ^ 0x1055));
  }

  /** Binds the listening socket; resolves with the bound port. */
  async start(): Promise<number> {
    const socket = createSocket({ type: this.family === 6 ? "udp6" : "udp4", recvBufferSize: 4 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (e) =>
        reject(new QoelabError("RELAY_BIND_FAILED", `relay: cannot bind port ${this.config.listenPort}: ${e.message}`)),
      );
      socket.bind(
        { port: this.config.listenPort, address: this.config.listenAddress ?? (this.family === 6 ? "::" : "0.0.0.0") },
        () => resolve(),
      );
    });
    socket.on("error", () => undefined);
    socket.on("message", (msg, rinfo) => this.onMessage(msg, rinfo));
    this.listen = socket;
    return socket.address().port;
  }

  private upstreamFor(rinfo: RemoteInfo): Socket {
    const key = `${rinfo.address}|${rinfo.port}`;
    let upstream = this.flows.get(key);
    if (!upstream) {
      const socket = createSocket(this.family === 6 ? "udp6" : "udp4");
      socket.on("error", () => undefined);
      socket.on("message", (reply) => {
        this.stats.replies++;
        this.listen?.send(reply, rinfo.port, rinfo.address);
      });
      // Not connected: connect() completes asynchronously and a packet released at once would race it.
      socket.bind(0);
      this.flows.set(key, socket);
      upstream = socket;
    }
    return upstream;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    const index = this.stats.received++;
    const now = performance.now();
    if (this.lossModel.lose()) {
      this.stats.lost++;
      if (this.config.recordDrops) this.stats.lostIndexes.push(index);
      return;
    }
    const upstream = this.upstreamFor(rinfo);
    const copies = this.config.duplicate && this.rng.next() < this.config.duplicate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let c = 0; c < copies; c++) {
      if (this.config.limit !== undefined && this.heap.size >= this.config.limit) {
        this.stats.queueFull++;
        continue;
      }
      let data = msg;
      if (this.config.corrupt && this.rng.next() < this.config.corrupt && msg.length > 0) {
        // netem flips one random bit of the packet.
        data = Buffer.from(msg);
        const bit = this.rng.int(data.length * 8);
        data[bit >> 3] = (data[bit >> 3] as number) ^ (1 << (bit & 7));
        this.stats.corrupted++;
      }
      let delay = 0;
      if (this.config.reorder && this.rng.next() < this.config.reorder) delay = 0;
      else if (this.config.delay) {
        // The configuration is in seconds; the release clock here counts ms.
        delay =
          drawDelay(this.rng, this.config.delayDist ?? "uniform", this.config.delay, this.config.jitter ?? 0) * 1e3;
      }
      this.heap.push({ due: now + delay, order: this.order++, arrived: now, data, upstream });
    }
    this.schedule();
  }

  private forward(item: Pending): void {
    try {
      item.upstream.send(item.data, this.config.forwardPort, this.config.forwardHost);
    } catch {
      // A send that cannot be made is a loss on this link, never a crash of the relay.
    }
  }

  private schedule(): void {
    const next = this.heap.peek();
    if (!next) return;
    if (this.timer) clearTimeout(this.timer);
    const spin = this.config.spinMs ?? 1;
    const wait = next.due - performance.now() - spin;
    if (wait <= 0) {
      this.timer = undefined;
      this.release();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, wait);
  }

  private release(): void {
    const next = this.heap.peek();
    if (!next) return;
    let now = performance.now();
    while (now < next.due) now = performance.now();
    for (let item = this.heap.peek(); item && item.due <= now; item = this.heap.peek()) {
      this.heap.pop();
      this.forward(item);
      this.stats.forwarded++;
      if (item.order < this.lastSentOrder) this.stats.reordered++;
      else this.lastSentOrder = item.order;
      const held = now - item.arrived;
      this.delaySum += held;
      if (held > this.stats.delayMaxMs) this.stats.delayMaxMs = held;
      this.stats.delayMeanMs = this.delaySum / this.stats.forwarded;
    }
    this.schedule();
  }

  /** Sends what is still queued at once (flush = true) or drops it, then closes every socket. */
  async stop(flush = false): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    if (flush) {
      for (let item = this.heap.pop(); item; item = this.heap.pop()) this.forward(item);
    }
    await new Promise((r) => setTimeout(r, 10));
    this.listen?.close();
    for (const socket of this.flows.values()) socket.close();
    this.flows.clear();
  }
}
