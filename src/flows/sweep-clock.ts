/** What a clock drives: the time base once, then the idle sweeps (a shard engine, or the reader's fan-out to every shard). */
export interface SweepTarget {
  setBase(tsSec: number, tsNsec: number): void;
  sweepAt(tsSec: number, tsNsec: number): void;
}

const SWEEP_INTERVAL_NS = 1e9;

/** Idle flows are swept at the first packet at or after each whole second of relative time. */
function nextSweepAfter(t: number): number {
  return (Math.floor(t / SWEEP_INTERVAL_NS) + 1) * SWEEP_INTERVAL_NS;
}

/**
 * The time base and idle sweeps of a packet stream, kept by whoever sees every packet: the
 * single-threaded engine, or the parallel path's reader, which forwards them to every shard so each
 * ends flows at exactly the times the single-threaded engine would. The base is the first packet's
 * whole second; relative time never goes below 0 (packets out of order).
 */
export class SweepClock {
  // [next sweep (ns since the base), base second]: doubles in a typed array, so a tick allocates nothing.
  private readonly state = new Float64Array([SWEEP_INTERVAL_NS, -1]);

  /** Called before each packet is accounted, with its time stamp. */
  tick(tsSec: number, tsNsec: number, target: SweepTarget): void {
    const state = this.state;
    let base = state[1]!;
    if (base < 0) {
      base = tsSec;
      state[1] = base;
      target.setBase(base, tsNsec);
    }
    let t = (tsSec - base) * 1e9 + tsNsec;
    if (t < 0) t = 0;
    if (t >= state[0]!) {
      target.sweepAt(tsSec, tsNsec);
      state[0] = nextSweepAfter(t);
    }
  }
}
