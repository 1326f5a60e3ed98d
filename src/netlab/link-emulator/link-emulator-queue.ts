import type { QueueSpec } from "./link-emulator-spec.ts";

/*
 * The bottleneck queue in front of the rate: FIFO of packet slots, limited in packets or bytes,
 * dropping the arriving packet (droptail) or the oldest waiting one (drophead), with CoDel (RFC 8289
 * §5 pseudocode, our own rendering) as an option at dequeue. No allocation per packet.
 */

export const DROP_QUEUE_FULL = 2;
export const DROP_QUEUE_HEAD = 3;
export const DROP_CODEL = 4;

export type DropSink = (slot: number, reason: number, nowUs: number) => void;

/** netem's default limit. */
export const DEFAULT_QUEUE_PACKETS = 1000;
const MTU = 1500;

export class PacketQueue {
  private readonly ring: Int32Array;
  private head = 0;
  private count = 0;
  private bytes = 0;
  readonly limitPackets: number;
  readonly limitBytes: number;
  private readonly dropHead: boolean;
  // CoDel state (µs)
  private readonly codel: boolean;
  private readonly targetUs: number;
  private readonly intervalUs: number;
  private firstAboveTime = 0;
  private dropNext = 0;
  private dropCount = 0;
  private lastCount = 0;
  private dropping = false;

  constructor(
    capacity: number,
    private readonly lengths: Int32Array,
    private readonly arrivals: Float64Array,
    spec: QueueSpec | undefined,
    private readonly onDrop: DropSink,
  ) {
    this.ring = new Int32Array(capacity);
    this.limitBytes = spec?.bytes ?? Number.POSITIVE_INFINITY;
    this.limitPackets = Math.min(
      capacity,
      spec?.packets ?? (spec?.bytes !== undefined ? Number.POSITIVE_INFINITY : DEFAULT_QUEUE_PACKETS),
    );
    this.dropHead = spec?.discipline === "drophead";
    this.codel = spec?.codel !== undefined;
    this.targetUs = (spec?.codel?.target ?? 0.005) * 1e6;
    this.intervalUs = (spec?.codel?.interval ?? 0.1) * 1e6;
  }

  get length(): number {
    return this.count;
  }
  get byteLength(): number {
    return this.bytes;
  }

  private popHead(): number {
    const slot = this.ring[this.head] as number;
    this.head = (this.head + 1) % this.ring.length;
    this.count--;
    this.bytes -= this.lengths[slot] as number;
    return slot;
  }

  /** Enqueues `slot` (or drops it, or drops heads to make room). */
  admit(slot: number, nowUs: number): void {
    const len = this.lengths[slot] as number;
    if (this.dropHead) {
      while (this.count > 0 && (this.count + 1 > this.limitPackets || this.bytes + len > this.limitBytes)) {
        this.onDrop(this.popHead(), DROP_QUEUE_HEAD, nowUs);
      }
      if (len > this.limitBytes) {
        this.onDrop(slot, DROP_QUEUE_FULL, nowUs);
        return;
      }
    } else if (this.count + 1 > this.limitPackets || this.bytes + len > this.limitBytes) {
      this.onDrop(slot, DROP_QUEUE_FULL, nowUs);
      return;
    }
    this.ring[(this.head + this.count) % this.ring.length] = slot;
    this.count++;
    this.bytes += len;
  }

  /** The next packet to transmit at `nowUs`, or -1; CoDel may drop packets on the way. */
  dequeue(nowUs: number): number {
    if (this.count === 0) {
      this.dropping = false;
      this.firstAboveTime = 0;
      return -1;
    }
    if (!this.codel) return this.popHead();
    let slot = this.popHead();
    let okToDrop = this.sojournCheck(slot, nowUs);
    if (this.dropping) {
      if (!okToDrop) {
        this.dropping = false;
      } else {
        while (nowUs >= this.dropNext && this.dropping) {
          this.onDrop(slot, DROP_CODEL, nowUs);
          this.dropCount++;
          if (this.count === 0) {
            this.dropping = false;
            return -1;
          }
          slot = this.popHead();
          okToDrop = this.sojournCheck(slot, nowUs);
          if (!okToDrop) this.dropping = false;
          else this.dropNext = this.controlLaw(this.dropNext);
        }
      }
    } else if (okToDrop) {
      this.onDrop(slot, DROP_CODEL, nowUs);
      if (this.count === 0) return -1;
      slot = this.popHead();
      this.sojournCheck(slot, nowUs);
      this.dropping = true;
      const delta = this.dropCount - this.lastCount;
      this.dropCount = delta > 1 && nowUs - this.dropNext < 16 * this.intervalUs ? delta : 1;
      this.dropNext = this.controlLaw(nowUs);
      this.lastCount = this.dropCount;
    }
    return slot;
  }

  private controlLaw(t: number): number {
    return t + this.intervalUs / Math.sqrt(this.dropCount);
  }

  private sojournCheck(slot: number, nowUs: number): boolean {
    const sojourn = nowUs - (this.arrivals[slot] as number);
    if (sojourn < this.targetUs || this.bytes <= MTU) {
      this.firstAboveTime = 0;
      return false;
    }
    if (this.firstAboveTime === 0) {
      this.firstAboveTime = nowUs + this.intervalUs;
      return false;
    }
    return nowUs >= this.firstAboveTime;
  }
}
