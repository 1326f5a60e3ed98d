import { createSocket, type Socket } from "node:dgram";
import { isIP } from "node:net";
import { QoelabError } from "../errors.ts";
import { createLossModel, type LossModelSpec } from "./loss-models.ts";
import { clockId, PROBE_HEADER_BYTES, perfToMonotonicNs, writeProbeHeader } from "./probe-payload.ts";
import { Random } from "./random.ts";
import { runSchedule, type TimingReport } from "./scheduler.ts";
import { bindSocket } from "./udp-socket.ts";
import { parseTime } from "./units.ts";

/** How the gap between packets is drawn around the mean 1/rate. */
export type IntervalDist =
  | { kind: "const" }
  /** Uniform in mean ± spread (spread as a fraction of the mean, or absolute ms). */
  | { kind: "uniform"; spread: number; absolute: boolean }
  /** Exponential (a Poisson process). */
  | { kind: "exp" }
  /** Normal with this standard deviation (fraction of the mean, or absolute ms), clamped at 0. */
  | { kind: "normal"; sd: number; absolute: boolean }
  /** Pareto with this shape, scaled to the mean (alpha > 1). */
  | { kind: "pareto"; alpha: number };

export function parseIntervalDist(text: string): IntervalDist {
  const [name, param] = text.trim().toLowerCase().split(",", 2) as [string, string | undefined];
  const amount = (fallback: number): { value: number; absolute: boolean } => {
    if (param === undefined || param === "") return { value: fallback, absolute: false };
    if (/[a-z]$/.test(param)) {
      return {
        value: parseTime(param, "interval spread", { bare: "ms", code: "GEN_BAD_INTERVAL_DIST" }) * 1e3,
        absolute: true,
      };
    }
    const value = Number(param);
    if (!(value >= 0) || !Number.isFinite(value)) {
      throw new QoelabError(
        "GEN_BAD_INTERVAL_DIST",
        `interval distribution "${text}": "${param}" is not a fraction of the mean or a time like 2ms`,
      );
    }
    return { value, absolute: false };
  };
  switch (name) {
    case "const":
    case "constant":
      return { kind: "const" };
    case "uniform": {
      const a = amount(0.5);
      return { kind: "uniform", spread: a.value, absolute: a.absolute };
    }
    case "exp":
    case "exponential":
    case "poisson":
      return { kind: "exp" };
    case "normal": {
      const a = amount(0.1);
      return { kind: "normal", sd: a.value, absolute: a.absolute };
    }
    case "pareto": {
      const alpha = param === undefined ? 3 : Number(param);
      if (!(alpha > 1))
        throw new QoelabError("GEN_BAD_INTERVAL_DIST", `interval distribution "${text}": pareto shape must be > 1`);
      return { kind: "pareto", alpha };
    }
    default:
      throw new QoelabError(
        "GEN_BAD_INTERVAL_DIST",
        `interval distribution "${text}": unknown (use const, uniform[,spread], exp, normal[,sd] or pareto[,alpha])`,
      );
  }
}

/** An interval drawer (ms) for a mean interval; allocation-free per call. */
export function intervalDrawer(dist: IntervalDist, meanMs: number, rng: Random): () => number {
  switch (dist.kind) {
    case "const":
      return () => meanMs;
    case "uniform": {
      const w = dist.absolute ? dist.spread : dist.spread * meanMs;
      return () => Math.max(0, meanMs + w * (2 * rng.next() - 1));
    }
    case "exp":
      return () => rng.exponential(meanMs);
    case "normal": {
      const sd = dist.absolute ? dist.sd : dist.sd * meanMs;
      return () => Math.max(0, rng.normal(meanMs, sd));
    }
    case "pareto": {
      const xm = (meanMs * (dist.alpha - 1)) / dist.alpha;
      return () => rng.pareto(xm, dist.alpha);
    }
  }
}

export interface GenUdpOptions {
  /** Destination address (IPv4 or IPv6 literal). */
  host: string;
  port: number;
  /** Packets per second; Infinity = as fast as possible. */
  rate: number;
  /** UDP payload bytes (≥ 24, the probe header). */
  size: number;
  count?: number;
  durationS?: number;
  intervalDist?: IntervalDist;
  /** Generator-side loss: the packet is not sent but its sequence number is used. */
  loss?: LossModelSpec;
  seed?: number;
  /** Local address to send from. */
  bind?: string;
  spinMs?: number;
  signal?: AbortSignal;
  /** Keep the list of sequence numbers the loss model dropped (default true). */
  recordDrops?: boolean;
}

export interface GenUdpResult {
  seed: number;
  streamId: number;
  /** Sequence numbers used (sent + dropped by the loss model). */
  packets: number;
  /** Datagrams the kernel accepted (attempts minus send errors). */
  sent: number;
  droppedByModel: number;
  /** Failed sends, e.g. ECONNREFUSED after an ICMP port unreachable from a host with no receiver. */
  sendErrors: number;
  droppedSeqs: number[];
  timing: TimingReport;
  achievedPps: number;
}

const POOL = 64;

function waitForQueue(socket: Socket, below: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (socket.getSendQueueCount() < below ? resolve() : setImmediate(check));
    check();
  });
}

/**
 * Sends probe packets (sequence number + CLOCK_MONOTONIC send time) on deadlines. One connected
 * socket; payload buffers come from a small ring and are only rewritten once the kernel has them.
 */
export async function genUdp(options: GenUdpOptions): Promise<GenUdpResult> {
  if (!(options.size >= PROBE_HEADER_BYTES && options.size <= 65507)) {
    throw new QoelabError(
      "GEN_BAD_SIZE",
      `size ${options.size}: a probe payload needs ${PROBE_HEADER_BYTES}…65507 bytes`,
    );
  }
  if (!(options.port > 0 && options.port < 65536))
    throw new QoelabError("GEN_BAD_PORT", `port ${options.port}: expected 1…65535`);
  if (!(options.rate > 0)) throw new QoelabError("GEN_BAD_RATE", `rate ${options.rate}: must be greater than 0`);
  const family = isIP(options.host);
  if (family === 0)
    throw new QoelabError("GEN_BAD_ADDRESS", `destination "${options.host}": expected an IPv4 or IPv6 address`);
  if (options.count === undefined && options.durationS === undefined) {
    throw new QoelabError("GEN_NO_LIMIT", "give --count N or --duration S");
  }
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rng = new Random(seed);
  const loss = createLossModel(options.loss ?? { kind: "none" }, new Random(seed ^ 0x5a5a5a5a));
  const streamId = rng.nextU32();
  const socket = createSocket(family === 6 ? "udp6" : "udp4");
  let sendErrors = 0;
  socket.on("error", () => {
    sendErrors++;
  });
  await bindSocket(socket, options.bind, 0, { host: options.host, port: options.port });
  const pool: Buffer[] = [];
  for (let i = 0; i < POOL; i++) pool.push(Buffer.alloc(options.size));
  let slot = 0;
  const clock = clockId();
  const meanMs = Number.isFinite(options.rate) ? 1000 / options.rate : 0;
  const nextInterval = meanMs === 0 ? () => 0 : intervalDrawer(options.intervalDist ?? { kind: "const" }, meanMs, rng);
  const droppedSeqs: number[] = [];
  const recordDrops = options.recordDrops ?? true;
  let sent = 0;
  let dropped = 0;
  const onSent = (error: Error | null) => {
    if (error) sendErrors++;
  };
  const timing = await runSchedule({
    count: options.count ?? Number.POSITIVE_INFINITY,
    durationMs: options.durationS !== undefined ? options.durationS * 1000 : undefined,
    nextIntervalMs: nextInterval,
    spinMs: options.spinMs,
    stopped: () => options.signal?.aborted === true,
    onEvent: (seq, _scheduled, actual) => {
      if (loss.lose()) {
        dropped++;
        if (recordDrops) droppedSeqs.push(seq);
        return;
      }
      const buf = pool[slot] as Buffer;
      writeProbeHeader(buf, seq, perfToMonotonicNs(actual), clock, streamId);
      try {
        socket.send(buf, onSent);
      } catch {
        sendErrors++;
      }
      sent++;
      // A queued send still owns its buffer: move to the next one in the ring, and wait for the
      // queue to drain before the ring wraps onto a buffer still in use.
      const queued = socket.getSendQueueCount();
      if (queued > 0) {
        slot = (slot + 1) % POOL;
        if (queued >= POOL - 1) return waitForQueue(socket, POOL / 2);
      }
    },
  });
  await waitForQueue(socket, 1);
  socket.close();
  return {
    seed,
    streamId,
    packets: timing.events,
    sent: sent - sendErrors,
    droppedByModel: dropped,
    sendErrors,
    droppedSeqs,
    timing,
    achievedPps: timing.elapsedS > 0 ? (timing.events - 1) / timing.elapsedS : 0,
  };
}
