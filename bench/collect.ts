import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCollectionRuntime } from "../src/cli/collection-runtime.ts";
import { buildLocalOrigin, createTraining, listSessions, validateTrainingRequest } from "../src/collect/index.ts";
import { openDb } from "../src/db/index.ts";
import { labDown } from "../src/netlab/index.ts";

export interface CollectBenchRow {
  /** "constant 5 Mbit/s" or "traces" (the link emulator replaying two shipped traces). */
  link: string;
  slots: number;
  sessions: number;
  wallSeconds: number;
  /** Median of (finished − started − warm-up − duration) per session. */
  overheadSecondsMedian: number;
  sessionsPerHour: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const LINKS = [
  { link: "constant 5 Mbit/s", fields: { bw_limitations: "5" } },
  { link: "traces", fields: { traces: "hsdpa-bus-2010-09-28_1407, ie-lte-drive-2020-02-14_0938" } },
] as const;

/**
 * Collection overhead beyond each session's own length, and throughput with 1 vs K lab slots, on a
 * constant limit (tbf) and on traces (a link emulator started per session).
 */
export async function benchCollect(options: { sessions?: number; duration?: number; slots?: number[] } = {}) {
  const sessions = options.sessions ?? 4;
  const duration = options.duration ?? 10;
  const warmup = 2;
  const rows: CollectBenchRow[] = [];
  const dir = mkdtempSync(join(tmpdir(), "qoelab-bench-collect-"));
  try {
    // Built (or found in the cache) before any clock starts, so no row pays for the first build.
    const origin = await buildLocalOrigin({ channels: ["testcard"] });
    for (const { link, fields } of LINKS)
      for (const slots of options.slots ?? [1, 2]) {
        const db = await openDb({ url: "", dataDir: "memory://" });
        const request = validateTrainingRequest({
          number_of_videos: String(sessions),
          session_duration: String(duration),
          ...fields,
          warmup: String(warmup),
          slots: String(slots),
        });
        if (!request.ok) throw new Error(JSON.stringify(request.errors));
        const training = await createTraining(db, request.value);
        const runtime = await createCollectionRuntime(db, {
          maxSlots: slots,
          captureDir: join(dir, `${link.replace(/\W+/g, "-")}-slots-${slots}`),
          origin,
          labPrefix: `qb${process.pid % 100000}`,
        });
        const start = process.hrtime.bigint();
        await runtime.orchestrator.runUntilIdle(training.id);
        const wall = Number(process.hrtime.bigint() - start) / 1e9;
        await runtime.close();
        const done = await listSessions(db, training.id);
        const overheads = done
          .filter((s) => s.status === 1 && s.started_at && s.finished_at)
          .map(
            (s) => (new Date(s.finished_at!).getTime() - new Date(s.started_at!).getTime()) / 1000 - warmup - duration,
          );
        const captured = done.filter((s) => s.status === 1).length;
        rows.push({
          link,
          slots,
          sessions: captured,
          wallSeconds: wall,
          overheadSecondsMedian: median(overheads),
          // Captured sessions only: a failed one costs time and yields nothing.
          sessionsPerHour: (3600 * captured) / wall,
        });
        await db.close();
      }
  } finally {
    for (let slot = 0; slot < Math.max(...(options.slots ?? [1, 2])); slot++)
      await labDown(`qb${process.pid % 100000}${slot}`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
