/**
 * Downstream ON/OFF burst ("chunk") detection, the way video QoE papers model adaptive streaming
 * (Requet, Gutterman et al., MMSys 2019): a chunk is a run of server → client data packets that
 * starts with the first data packet after an upstream request (a client → server payload of at
 * least `requestBytes`) or after `gap` of downstream silence, and ends at its last data packet.
 * Times in ns; one record per chunk (no per-packet allocation).
 */
export interface ChunkOptions {
  /** Downstream silence that ends a chunk (ns). */
  gapNs: number;
  /** Smallest upstream payload treated as a request that starts a new chunk (B). */
  requestBytes: number;
}

export class ChunkTracker {
  readonly start: number[] = [];
  readonly end: number[] = [];
  readonly bytes: number[] = [];
  readonly packets: number[] = [];
  private open = false;
  private curStart = 0;
  private curEnd = 0;
  private curBytes = 0;
  private curPackets = 0;
  private requested = false;

  constructor(private readonly options: ChunkOptions) {}

  down(t: number, payload: number): void {
    if (this.open && (this.requested || t - this.curEnd > this.options.gapNs)) this.close();
    if (!this.open) {
      this.open = true;
      this.curStart = t;
      this.curBytes = 0;
      this.curPackets = 0;
      this.requested = false;
    }
    this.curEnd = t;
    this.curBytes += payload;
    this.curPackets++;
  }

  up(payload: number): void {
    if (this.open && payload >= this.options.requestBytes) this.requested = true;
  }

  private close(): void {
    this.start.push(this.curStart);
    this.end.push(this.curEnd);
    this.bytes.push(this.curBytes);
    this.packets.push(this.curPackets);
    this.open = false;
  }

  /** Closes the running chunk (end of flow). */
  finish(): void {
    if (this.open) this.close();
  }
}

/** Columnar chunk list as results carry it: times in ms since the capture's first whole second. */
export interface ChunkList {
  start: number[];
  end: number[];
  bytes: number[];
  packets: number[];
}

export function chunkList(tracker: ChunkTracker): ChunkList {
  return {
    start: tracker.start.map((t) => t / 1e6),
    end: tracker.end.map((t) => t / 1e6),
    bytes: tracker.bytes.slice(),
    packets: tracker.packets.slice(),
  };
}
