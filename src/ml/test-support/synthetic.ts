import type { Dataset, ExportValue } from "../dataset.ts";
import { Random } from "../random.ts";

/**
 * Test helper: session rows shaped like `buildDataset` output, with a known rule. Sessions run
 * under bandwidth limits 0.5–8 Mbit/s; the achieved throughput is the limit times a random
 * efficiency; a session stalls exactly when its throughput is below 1.5 Mbit/s.
 */
export function syntheticSessions(n: number, seed = 1): Dataset {
  const rng = new Random(seed);
  const limits = [0.5, 1, 2, 4, 8];
  const columns = [
    "training_id",
    "session_id",
    "channel",
    "bw_limitation_mbps",
    "net_dl_tput_mean_bps",
    "net_retx_ratio",
    "net_noise",
    "label_stalled",
    "label_stall_ratio",
    "label_qoe_class",
    "label_qoe_score",
  ];
  const rows: ExportValue[][] = [];
  for (let i = 0; i < n; i++) {
    const limit = limits[i % limits.length]!;
    const tput = limit * 1e6 * (0.35 + 0.6 * rng.next());
    const stalled = tput < 1.5e6;
    const retx = stalled ? 0.02 + 0.05 * rng.next() : 0.05 * rng.next();
    const score = Math.log(tput / 3e5) - (stalled ? 1 : 0);
    rows.push([
      1,
      i + 1,
      `ch${i % 7}`,
      limit,
      tput,
      retx,
      rng.next(),
      stalled,
      stalled ? 0.1 : 0,
      stalled ? "poor" : tput > 3e6 ? "good" : "fair",
      score,
    ]);
  }
  return { columns, rows };
}
