import { createSocket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { nextJitter } from "../common/index.ts";
import { QoelabError } from "../errors.ts";
import { clockId, type ProbeHeader, perfToMonotonicNs, readProbeHeader } from "./probe-payload.ts";
import { percentile } from "./scheduler.ts";

export interface RecvUdpOptions {
  port: number;
  /** Local address; default "0.0.0.0" (or "::" with ipv6). */
  bind?: string;
  ipv6?: boolean;
  /** Stop after this many distinct probe packets. */
  count?: number;
  /** Stop this long after the first packet arrives (s). */
  durationS?: number;
  /** Stop when nothing arrived for this long after the first packet (s). */
  idleS?: number;
  /** Give up when no packet arrived this long after the start (s). */
  waitS?: number;
  /** Sequence numbers 0…expect−1 were sent (counts losses at the tail too). */
  expect?: number;
  signal?: AbortSignal;
}

export interface Distribution {
  min: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

export interface RecvUdpResult {
  streamId: number;
  /** Distinct sequence numbers received. */
  received: number;
  duplicates: number;
  /** Packets that arrived after a higher sequence number. */
  reordered: number;
  expected: number;
  lost: number;
  lossPercent: number;
  lostSeqs: number[];
  /** Datagrams that were not probes of the stream (other senders, garbage). */
  otherPackets: number;
  /** RFC 3550 interarrival jitter at the end (ms). */
  jitterMs: number;
  /** IPDV between consecutive sequence numbers, (R[i+1]−R[i]) − (S[i+1]−S[i]), ms (signed). */
  ipdvMs: Distribution;
  /** One-way delay (ms) when sender and receiver share CLOCK_MONOTONIC (same boot); else undefined. */
  oneWayDelayMs?: Distribution;
  elapsedS: number;
}

function distribution(values: Float64Array, n: number): Distribution {
  if (n === 0) return { min: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, mean: sum / n, p50: percentile(values, n, 0.5), p99: percentile(values, n, 0.99), max };
}

class GrowableF64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
}

export interface UdpReceiver {
  /** The bound port (useful with port 0). */
  port: number;
  /** Resolves when a stop condition is met or stop() is called. */
  done: Promise<RecvUdpResult>;
  stop(): void;
}

/** Binds the receiver and resolves once it is listening. */
export async function startRecvUdp(options: RecvUdpOptions): Promise<UdpReceiver> {
  const socket = createSocket({ type: options.ipv6 ? "udp6" : "udp4", recvBufferSize: 8 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new QoelabError("GEN_BIND_FAILED", `recv udp: cannot bind port ${options.port}: ${error.message}`, {
          port: options.port,
        }),
      ),
    );
    socket.bind({ port: options.port, address: options.bind ?? (options.ipv6 ? "::" : "0.0.0.0") }, () => resolve());
  });
  socket.on("error", () => undefined);
  const localClock = clockId();
  const header: ProbeHeader = { seq: 0, sendNs: 0, clockId: 0, streamId: 0 };
  let stream: number | undefined;
  let seen = new Uint8Array(4096);
  let received = 0;
  let duplicates = 0;
  let reordered = 0;
  let other = 0;
  let highest = -1;
  let jitter = 0;
  let prevTransit = Number.NaN;
  let sameClock = false;
  let firstArrival = 0;
  let lastArrival = 0;
  // Send/receive times (ns) by sequence number for IPDV between consecutive numbers.
  let sendBySeq = new Float64Array(4096);
  let recvBySeq = new Float64Array(4096);
  const owd = new GrowableF64();
  let finish!: () => void;
  let durationTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;

  const done = new Promise<RecvUdpResult>((resolve) => {
    let finished = false;
    finish = () => {
      if (finished) return;
      finished = true;
      if (durationTimer) clearTimeout(durationTimer);
      if (idleTimer) clearTimeout(idleTimer);
      if (waitTimer) clearTimeout(waitTimer);
      socket.close();
      const expected = Math.max(options.expect ?? 0, highest + 1);
      const lostSeqs: number[] = [];
      for (let s = 0; s < expected; s++) if (s >= seen.length || seen[s] === 0) lostSeqs.push(s);
      const ipdv = new GrowableF64();
      for (let s = 1; s < Math.min(expected, seen.length); s++) {
        if (seen[s] && seen[s - 1]) {
          ipdv.push(
            ((recvBySeq[s] as number) -
              (recvBySeq[s - 1] as number) -
              ((sendBySeq[s] as number) - (sendBySeq[s - 1] as number))) /
              1e6,
          );
        }
      }
      const result: RecvUdpResult = {
        streamId: stream ?? 0,
        received,
        duplicates,
        reordered,
        expected,
        lost: lostSeqs.length,
        lossPercent: expected > 0 ? (100 * lostSeqs.length) / expected : 0,
        lostSeqs,
        otherPackets: other,
        jitterMs: jitter / 1e6,
        ipdvMs: distribution(ipdv.data, ipdv.length),
        elapsedS: received > 0 ? (lastArrival - firstArrival) / 1000 : 0,
      };
      if (sameClock) result.oneWayDelayMs = distribution(owd.data, owd.length);
      resolve(result);
    };
  });

  socket.on("message", (msg: Buffer) => {
    const now = performance.now();
    if (!readProbeHeader(msg, header) || (stream !== undefined && header.streamId !== stream)) {
      other++;
      return;
    }
    const arrivalNs = perfToMonotonicNs(now);
    if (stream === undefined) {
      if (waitTimer) clearTimeout(waitTimer);
      stream = header.streamId;
      sameClock = header.clockId === localClock && localClock !== 0;
      firstArrival = now;
      if (options.durationS !== undefined) durationTimer = setTimeout(finish, options.durationS * 1000);
    }
    lastArrival = now;
    if (options.idleS !== undefined) {
      if (idleTimer) idleTimer.refresh();
      else idleTimer = setTimeout(finish, options.idleS * 1000);
    }
    const seq = header.seq;
    if (seq >= seen.length) {
      let size = seen.length;
      while (size <= seq) size *= 2;
      const grownSeen = new Uint8Array(size);
      grownSeen.set(seen);
      seen = grownSeen;
      const grownSend = new Float64Array(size);
      grownSend.set(sendBySeq);
      sendBySeq = grownSend;
      const grownRecv = new Float64Array(size);
      grownRecv.set(recvBySeq);
      recvBySeq = grownRecv;
    }
    if (seen[seq]) {
      duplicates++;
      return;
    }
    seen[seq] = 1;
    sendBySeq[seq] = header.sendNs;
    recvBySeq[seq] = arrivalNs;
    received++;
    if (seq < highest) reordered++;
    else highest = seq;
    // RFC 3550 §6.4.1: J += (|D| − J)/16 over transit-time differences in arrival order.
    const transit = arrivalNs - header.sendNs;
    if (!Number.isNaN(prevTransit)) jitter = nextJitter(jitter, transit - prevTransit);
    prevTransit = transit;
    if (sameClock) owd.push(transit / 1e6);
    if (options.count !== undefined && received >= options.count) finish();
  });
  options.signal?.addEventListener("abort", () => finish(), { once: true });
  let waitTimer: NodeJS.Timeout | undefined;
  if (options.waitS !== undefined) waitTimer = setTimeout(finish, options.waitS * 1000);
  const address = socket.address();
  return { port: address.port, done, stop: () => finish() };
}

export async function recvUdp(options: RecvUdpOptions): Promise<RecvUdpResult> {
  const receiver = await startRecvUdp(options);
  return receiver.done;
}
