import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { QoelabError } from "../../errors.ts";

/*
 * Lazy loader of the native TUN addon (native/tun, built by `npm run build:native`). Nothing else in
 * qoelab loads it, so a machine without a compiler still runs everything but the link emulator.
 */

/** Handle of a watched descriptor or timer (an N-API external). */
export type WatchHandle = { readonly __watch: unique symbol };

/** Handle of a release thread (an N-API external). */
export type SenderHandle = { readonly __sender: unique symbol };

/** Handle of a reader: arrivals staged by the release thread that writes to the same TUN. */
export type ReaderHandle = { readonly __reader: unique symbol };

export interface TunAddon {
  /** fd, or -errno. Created inside the namespace at `netnsPath` (setns on this thread only). */
  openTun(name: string, netnsPath: string | null, mtu: number, device: string): number;
  /** Packets read (0 when none), or -errno; packet i lands at pool[slots[i] * slotSize]. */
  readBatch(
    fd: number,
    pool: Uint8Array,
    slotSize: number,
    slots: Int32Array,
    lengths: Int32Array,
    max: number,
  ): number;
  /** Bytes written, or -errno; never throws. */
  write(fd: number, buf: Uint8Array, offset: number, length: number): number;
  /** Packets written before the first failure. */
  writeBatch(fd: number, buf: Uint8Array, offsets: Int32Array, lengths: Int32Array, count: number): number;
  close(fd: number): number;
  /** CLOCK_MONOTONIC in µs (fractional). */
  nowUs(): number;
  /** CLOCK_REALTIME in µs (what tcpdump stamps packets with). */
  realtimeUs(): number;
  strerror(errno: number): string;
  /** Timer slack of the calling thread in ns (Linux's default 50 µs would delay every deadline). */
  setTimerSlack(ns: number): number;
  /** SCHED_FIFO at `priority` for the calling thread (0: normal scheduling); 0 or -errno. */
  setRealtime(priority: number): number;
  watch(fd: number, onReadable: (status: number, events: number) => void): WatchHandle;
  timer(onFire: (status: number, events: number) => void): WatchHandle;
  /** Arms a timer for an absolute CLOCK_MONOTONIC time in µs (0 disarms); 0 or -errno. */
  timerArm(timer: WatchHandle, atUs: number): number;
  unwatch(handle: WatchHandle): number;
  /**
   * Starts a release thread writing to `fd` packets of `pool` (slots of `slotSize` bytes) each at its
   * due time: timerfd deadlines, SCHED_FIFO at `realtimePriority` when allowed (0: normal), waking
   * `spinUs` early and spinning to the deadline (0: no spin). The pool stays alive while the handle does.
   */
  sender(fd: number, pool: Uint8Array, slotSize: number, realtimePriority: number, spinUs: number): SenderHandle;
  /** Hands `count` packets over, each written at dueUs[i] (absolute CLOCK_MONOTONIC µs); returns how many were taken. */
  senderSchedule(
    sender: SenderHandle,
    slots: Int32Array,
    lengths: Int32Array,
    dueUs: Float64Array,
    count: number,
  ): number;
  /** Packets written since the last call: slot, bytes written or -errno, CLOCK_MONOTONIC µs just before the write. */
  senderDrain(sender: SenderHandle, slots: Int32Array, results: Int32Array, atUs: Float64Array): number;
  /** Stops and joins the thread; fills `slots` with the packets it never wrote and returns their count. */
  senderStop(sender: SenderHandle, slots: Int32Array): number;
  /** [1 when SCHED_FIFO was granted (or not asked), timer wake-ups, spins, log rows lost (readerFast)]. */
  senderInfo(sender: SenderHandle): [number, number, number, number];
  /**
   * Has the release thread that writes to `fd` (the other direction's) read it too: right after its
   * writes (the stack's answers land there during them) and when it turns readable. Each packet is
   * stamped on reading and staged (`capacity` × `slotSize` bytes); the reader's event fd turns readable
   * `windowUs` after the first staged packet, or when the stage is half full.
   */
  reader(fd: number, windowUs: number, capacity: number, slotSize: number): ReaderHandle;
  readerEventFd(reader: ReaderHandle): number;
  /** Moves up to `max` staged packets to pool[slots[i] * slotSize], with lengths and CLOCK_MONOTONIC µs stamps. */
  readerDrain(
    reader: ReaderHandle,
    pool: Uint8Array,
    slotSize: number,
    slots: Int32Array,
    lengths: Int32Array,
    stampsUs: Float64Array,
    max: number,
  ): number;
  /** The release thread stops reading for this reader (staged packets remain for readerDrain). */
  readerStop(reader: ReaderHandle): number;
  /**
   * Like `reader`, but the release thread writing to `fd` also decides each packet (constant delay,
   * constant-rate FIFO, droptail; `params` = [delayUs, usPerByte or 0, limitPackets, limitBytes, epochUs,
   * slots]) and hands it to `sender` at once; nothing is staged. The event fd turns readable when the
   * log (`logRows` rows) is an eighth full; senderStop logs what was in flight.
   */
  readerFast(fd: number, sender: SenderHandle, params: Float64Array, logRows: number): ReaderHandle;
  /** Moves log rows (LOG_STRIDE doubles each) of packets decided by readerFast into `out`; returns how many. */
  readerLog(reader: ReaderHandle, out: Float64Array): number;
}

/**
 * The timer wake-up cost probe (native/tun/wake-probe.c), an addon of its own built beside the TUN
 * addon: a benchmark instrument (bench/link-emulator.ts, and the stall controls of the emulator's tests).
 */
export interface WakeProbeAddon {
  /**
   * This machine's cost of one on-time release: a thread sleeps `count` times for `periodUs` as a
   * release thread does (SCHED_FIFO at `realtimePriority` when allowed). Returns [CPU µs per wake-up,
   * mean, p99 and max lateness µs]. Blocks for about count × periodUs.
   */
  timerWakeCost(count: number, periodUs: number, realtimePriority: number): [number, number, number, number];
}

const ADDON_PATH = fileURLToPath(new URL("../../../native/tun/build/Release/qoelab_tun.node", import.meta.url));

let loaded: TunAddon | undefined;
let probe: WakeProbeAddon | undefined;

/** Where the built addon is expected. */
export function tunAddonPath(): string {
  return process.env.QOELAB_TUN_ADDON ?? ADDON_PATH;
}

/** Where the built wake-up cost probe is expected: beside the TUN addon. */
export function wakeProbeAddonPath(): string {
  return join(dirname(tunAddonPath()), "qoelab_wake_probe.node");
}

export function addonMissingError(cause?: unknown, path = tunAddonPath()): QoelabError {
  const why = cause instanceof Error ? `: ${cause.message.split("\n")[0]}` : " (not built)";
  return new QoelabError(
    "EMULATOR_ADDON_MISSING",
    `link emulator: the native TUN addon ${path} cannot be loaded${why}; build it with "npm run build:native" (needs python3, make and g++: apt-get install python3 make g++)`,
    { path },
    { cause },
  );
}

function requireAddon<T>(path: string): T {
  if (!existsSync(path)) throw addonMissingError(undefined, path);
  try {
    return createRequire(import.meta.url)(path) as T;
  } catch (error) {
    throw addonMissingError(error, path);
  }
}

/** The addon, loaded on first use; EMULATOR_ADDON_MISSING (with how to build it) when absent. */
export function loadTunAddon(): TunAddon {
  loaded ??= requireAddon<TunAddon>(tunAddonPath());
  return loaded;
}

/** The wake-up cost probe, loaded on first use; EMULATOR_ADDON_MISSING when absent. */
export function loadWakeProbeAddon(): WakeProbeAddon {
  probe ??= requireAddon<WakeProbeAddon>(wakeProbeAddonPath());
  return probe;
}

/** true when the addon loads (without throwing). */
export function tunAddonAvailable(): boolean {
  try {
    loadTunAddon();
    return true;
  } catch {
    return false;
  }
}

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: "EPERM",
  2: "ENOENT",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  13: "EACCES",
  16: "EBUSY",
  19: "ENODEV",
  22: "EINVAL",
  77: "EBADFD",
};

export function errnoName(negative: number): string {
  return ERRNO_NAMES[-negative] ?? `errno ${-negative}`;
}
