/**
 * Makes test-data/collect/: a small video QoE dataset collected by qoelab itself (real chromium,
 * tbf-shaped lab link, tcpdump, flow engine), exported as CSV, plus two held-out captures.
 *   npx tsx scripts/collect-dataset.ts [OUT_DIR]
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCollectionRuntime } from "../src/cli/collection-runtime.ts";
import { createTraining, exportTraining, listSessions, validateTrainingRequest } from "../src/collect/index.ts";
import { openDb } from "../src/db/index.ts";

const out = process.argv[2] ?? "test-data/collect";
mkdirSync(out, { recursive: true });
const db = await openDb({ url: "", dataDir: join(out, ".pglite-tmp") });
const request = validateTrainingRequest({
  name: "qoelab test dataset",
  number_of_videos: "30",
  session_duration: "20",
  bw_limitations: "0.3, 0.6, 1, 2, 4",
  warmup: "5",
  seed: "11",
  slots: "2",
});
if (!request.ok) throw new Error(JSON.stringify(request.errors));
const training = await createTraining(db, request.value);
const runtime = await createCollectionRuntime(db, {
  maxSlots: 2,
  captureDir: join(out, ".captures"),
  originChannels: ["testcard", "life", "gradients"],
  labPrefix: "qd",
  log: (m) => process.stderr.write(`${m}\n`),
});
await runtime.orchestrator.runUntilIdle(training.id);
await runtime.close();
const csv = await exportTraining(db, training.id, "csv");
writeFileSync(join(out, "sessions.csv"), csv.body);
// Two held-out sessions' captures (the last of the lowest and of the highest limit) for `qoe predict` tests.
const sessions = await listSessions(db, training.id);
for (const mbps of [0.3, 4]) {
  const held = sessions.filter((s) => s.bw_limitation === mbps && s.status === 1).at(-1);
  if (!held?.capture_file) continue;
  copyFileSync(held.capture_file, join(out, `held-out-${mbps}mbps-session-${held.id}.pcap`));
  writeFileSync(
    join(out, `held-out-${mbps}mbps-session-${held.id}.labels.json`),
    JSON.stringify({ session: held.id, labels: held.labels }, null, 1),
  );
}
await db.close();
console.log(`training ${training.id}: ${sessions.filter((s) => s.status === 1).length}/${sessions.length} captured`);
