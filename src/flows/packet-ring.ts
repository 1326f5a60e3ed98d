import { FlowPacket } from "./flow-packet.ts";

/**
 * Single-producer single-consumer ring of extracted packets over a SharedArrayBuffer: the reader
 * thread (parse, dissect, hash) writes one ring per shard worker, the worker runs the flow engine
 * on what it reads. The ring is cut into slots; the writer fills a slot with whole records, then
 * publishes it by storing its word count in the slot's control word (Atomics), so the threads
 * synchronise once per slot (~480 IPv4 packets; 4 slots of 32 KiB keep the RSS low), never per
 * packet. A control word of 0 means the slot is free (owned by the writer).
 *
 * Records are 32-bit words, the first one a header: type | kind << 4 | sack << 8 |
 * timestamps << 9 | sack-permitted << 10 | anomalies << 16. (Packets outside flows and filtered-out
 * ones stay with the reader's own shard, so only flow packets cross.)
 *   FLOW4  tsSec tsNsec wire indexLo indexHi hash proto|ver<<8|flags<<16|ttl<<24 srcPort<<16|dstPort
 *          seq ack window|(windowScale+1)<<16 mss ipId payload addrA addrB
 *   FLOW6  as FLOW4 with 4 + 4 address words
 *   SWEEP  tsSec tsNsec                            (sweep idle flows at this packet's time)
 *   BASE   tsSec tsNsec                            (time base: the first packet's time)
 *   END
 */
export const RingRecord = { FLOW4: 2, FLOW6: 3, SWEEP: 4, BASE: 5, END: 6 } as const;

/** Largest record (FLOW6), in words. */
const MAX_RECORD_WORDS = 23;
const FLAG_SACK = 1 << 8;
const FLAG_TIMESTAMPS = 1 << 9;
const FLAG_SACK_PERMITTED = 1 << 10;
const FLAG_INNER = 1 << 11;
const TWO_32 = 4294967296;

/** Shared memory of one ring (what crosses into the worker). */
export interface RingBuffers {
  /** slots × slotWords record words. */
  data: SharedArrayBuffer;
  /** One word per slot (its published word count, 0 = free) plus the status word. */
  control: SharedArrayBuffer;
  slots: number;
  slotWords: number;
}

/** Status word values (control[slots]). */
export const RingStatus = { RUNNING: 0, CONSUMER_FAILED: 1, PRODUCER_ABORTED: 2 } as const;

export function createRing(slots = 4, slotWords = 8 * 1024): RingBuffers {
  return {
    data: new SharedArrayBuffer(slots * slotWords * 4),
    control: new SharedArrayBuffer((slots + 1) * 4),
    slots,
    slotWords,
  };
}

/** Thrown by the writer when the consumer reported a failure (its own error follows by message). */
export class RingConsumerFailed extends Error {
  constructor() {
    super("flow worker failed");
  }
}

export class RingWriter {
  private readonly words: Int32Array;
  private readonly control: Int32Array;
  private readonly slots: number;
  private readonly slotWords: number;
  private slot = 0;
  /** Next word to write (absolute in `words`) and the end of the current slot. */
  private pos = 0;
  private slotStart = 0;
  private slotEnd: number;

  constructor(buffers: RingBuffers) {
    this.words = new Int32Array(buffers.data);
    this.control = new Int32Array(buffers.control);
    this.slots = buffers.slots;
    this.slotWords = buffers.slotWords;
    this.slotEnd = this.slotWords;
  }

  /** Publishes the current slot (if it holds anything) and waits until the next one is free. */
  private advance(): void {
    const used = this.pos - this.slotStart;
    if (used === 0) return;
    Atomics.store(this.control, this.slot, used);
    Atomics.notify(this.control, this.slot);
    this.slot = this.slot + 1 === this.slots ? 0 : this.slot + 1;
    this.waitFree(this.slot);
    this.slotStart = this.slot * this.slotWords;
    this.pos = this.slotStart;
    this.slotEnd = this.slotStart + this.slotWords;
  }

  private waitFree(slot: number): void {
    const control = this.control;
    for (;;) {
      const value = Atomics.load(control, slot);
      if (value === 0) return;
      if (Atomics.load(control, this.slots) === RingStatus.CONSUMER_FAILED) throw new RingConsumerFailed();
      Atomics.wait(control, slot, value, 200);
    }
  }

  /** Position for a record of up to MAX_RECORD_WORDS words. */
  private reserve(): number {
    if (this.pos + MAX_RECORD_WORDS > this.slotEnd) this.advance();
    return this.pos;
  }

  /** A flow packet (to the shard that owns its hash). */
  writeFlow(p: FlowPacket): void {
    const w = this.words;
    const at = this.reserve();
    const key = p.key;
    const v6 = key[1] === 6;
    w[at] =
      (v6 ? RingRecord.FLOW6 : RingRecord.FLOW4) |
      (p.kind << 4) |
      (p.sack ? FLAG_SACK : 0) |
      (p.timestamps ? FLAG_TIMESTAMPS : 0) |
      (p.sackPermitted ? FLAG_SACK_PERMITTED : 0) |
      (p.inner ? FLAG_INNER : 0) |
      (p.anomalies << 16);
    w[at + 1] = p.tsSec;
    w[at + 2] = p.tsNsec;
    w[at + 3] = p.wireLength;
    const index = p.index;
    const low = index >>> 0; // index mod 2^32 (exact below 2^53), cheaper than a double modulo
    w[at + 4] = low;
    w[at + 5] = (index - low) / TWO_32;
    w[at + 6] = p.hash;
    w[at + 7] = key[0]! | (key[1]! << 8) | (p.tcpFlags << 16) | (p.ttl << 24);
    w[at + 8] = (key[2]! << 16) | key[3]!;
    w[at + 9] = p.seq;
    w[at + 10] = p.ack;
    w[at + 11] = p.window | ((p.windowScale + 1) << 16);
    w[at + 12] = p.mss;
    w[at + 13] = p.ipId;
    w[at + 14] = p.payloadLength;
    w[at + 15] = key[4]!;
    if (v6) {
      w[at + 16] = key[5]!;
      w[at + 17] = key[6]!;
      w[at + 18] = key[7]!;
      w[at + 19] = key[8]!;
      w[at + 20] = key[9]!;
      w[at + 21] = key[10]!;
      w[at + 22] = key[11]!;
      this.pos = at + 23;
    } else {
      w[at + 16] = key[8]!;
      this.pos = at + 17;
    }
  }

  writeSweep(tsSec: number, tsNsec: number): void {
    const at = this.reserve();
    this.words[at] = RingRecord.SWEEP;
    this.words[at + 1] = tsSec;
    this.words[at + 2] = tsNsec;
    this.pos = at + 3;
  }

  writeBase(tsSec: number, tsNsec: number): void {
    const at = this.reserve();
    this.words[at] = RingRecord.BASE;
    this.words[at + 1] = tsSec;
    this.words[at + 2] = tsNsec;
    this.pos = at + 3;
  }

  /** Writes END and publishes everything written. */
  end(): void {
    const at = this.reserve();
    this.words[at] = RingRecord.END;
    this.pos = at + 1;
    const used = this.pos - this.slotStart;
    Atomics.store(this.control, this.slot, used);
    Atomics.notify(this.control, this.slot);
  }

  /** Tells the consumer to stop (the producer failed). */
  abort(): void {
    Atomics.store(this.control, this.slots, RingStatus.PRODUCER_ABORTED);
    for (let s = 0; s < this.slots; s++) Atomics.notify(this.control, s);
  }
}

/** What a consumer does with the records it reads. */
export interface RingHandler {
  base(tsSec: number, tsNsec: number): void;
  sweep(tsSec: number, tsNsec: number): void;
  packet(p: FlowPacket): void;
}

/** Thrown by `consumeRing` when the producer aborted. */
export class RingProducerAborted extends Error {
  constructor() {
    super("packet reader aborted");
  }
}

/** Reads records until END, handing them to `handler` (blocks the calling thread while waiting). */
export function consumeRing(buffers: RingBuffers, handler: RingHandler): void {
  const words = new Int32Array(buffers.data);
  const control = new Int32Array(buffers.control);
  const slots = buffers.slots;
  const p = new FlowPacket();
  const key = p.key;
  let slot = 0;
  for (;;) {
    let used = Atomics.load(control, slot);
    while (used === 0) {
      if (Atomics.load(control, slots) === RingStatus.PRODUCER_ABORTED) throw new RingProducerAborted();
      Atomics.wait(control, slot, 0, 200);
      used = Atomics.load(control, slot);
    }
    let at = slot * buffers.slotWords;
    const end = at + used;
    while (at < end) {
      const header = words[at]!;
      const type = header & 15;
      if (type === RingRecord.FLOW4 || type === RingRecord.FLOW6) {
        p.kind = (header >> 4) & 3;
        p.flow = true;
        p.filteredOut = false;
        p.sack = (header & FLAG_SACK) !== 0;
        p.timestamps = (header & FLAG_TIMESTAMPS) !== 0;
        p.sackPermitted = (header & FLAG_SACK_PERMITTED) !== 0;
        p.inner = (header & FLAG_INNER) !== 0;
        p.anomalies = header >>> 16;
        p.tsSec = words[at + 1]! >>> 0;
        p.tsNsec = words[at + 2]!;
        p.wireLength = words[at + 3]! >>> 0;
        p.index = (words[at + 4]! >>> 0) + (words[at + 5]! >>> 0) * TWO_32;
        p.hash = words[at + 6]!;
        const pvft = words[at + 7]!;
        key[0] = pvft & 255;
        key[1] = (pvft >> 8) & 255;
        p.tcpFlags = (pvft >> 16) & 255;
        p.ttl = pvft >>> 24;
        const ports = words[at + 8]!;
        key[2] = ports >>> 16;
        key[3] = ports & 0xffff;
        p.seq = words[at + 9]! >>> 0;
        p.ack = words[at + 10]! >>> 0;
        const windowWord = words[at + 11]!;
        p.window = windowWord & 0xffff;
        p.windowScale = (windowWord >>> 16) - 1;
        p.mss = words[at + 12]!;
        p.ipId = words[at + 13]! >>> 0;
        p.payloadLength = words[at + 14]!;
        key[4] = words[at + 15]!;
        if (type === RingRecord.FLOW6) {
          key[5] = words[at + 16]!;
          key[6] = words[at + 17]!;
          key[7] = words[at + 18]!;
          key[8] = words[at + 19]!;
          key[9] = words[at + 20]!;
          key[10] = words[at + 21]!;
          key[11] = words[at + 22]!;
          at += 23;
        } else {
          key[5] = 0;
          key[6] = 0;
          key[7] = 0;
          key[8] = words[at + 16]!;
          key[9] = 0;
          key[10] = 0;
          key[11] = 0;
          at += 17;
        }
        handler.packet(p);
      } else if (type === RingRecord.SWEEP) {
        handler.sweep(words[at + 1]! >>> 0, words[at + 2]!);
        at += 3;
      } else if (type === RingRecord.BASE) {
        handler.base(words[at + 1]! >>> 0, words[at + 2]!);
        at += 3;
      } else if (type === RingRecord.END) {
        Atomics.store(control, slot, 0);
        return;
      } else {
        throw new Error(`packet ring: bad record type ${type} at word ${at}`);
      }
    }
    Atomics.store(control, slot, 0);
    Atomics.notify(control, slot);
    slot = slot + 1 === slots ? 0 : slot + 1;
  }
}
