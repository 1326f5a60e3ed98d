import { createInterface } from "node:readline";
import { serve } from "@hono/node-server";
import { createCollectionRuntime } from "../../cli/index.ts";
import { createTraining, getTraining, listSessions, validateTrainingRequest } from "../../collect/index.ts";
import { openDb } from "../../db/index.ts";
import { buildSmallOrigin, type SmallOriginSpec } from "./small-origin.ts";

/*
 * The unprivileged side of the shaperd tests, run as "nobody" (see shaperd-for-nobody.ts): the same
 * runtime `qoelab serve`/`collect` use, with its own PGlite, reaching the lab only through the
 * daemon. It reports on stdout, one JSON object a line: the trainings made, the orchestrator's
 * events, the web app's loopback URL (serve mode) and at the end every session of its trainings.
 */

/** What the test asks of this process (argv[2], JSON). */
export interface NobodyCollectConfig {
  dataDir: string;
  socket: string;
  labPrefix: string;
  /** Training forms (validateTrainingRequest's input). */
  trainings: Record<string, string>[];
  maxSlots?: number;
  uplinkAllow?: string[];
  /** Build a small built-in origin first (channels, seconds, renditions of the default ladder). */
  origin?: SmallOriginSpec;
  /** Serve the web app on loopback for a person's browser instead of running the worker; "stop" on stdin ends it. */
  serve?: boolean;
}

const say = (message: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(message)}\n`);

const config = JSON.parse(process.argv[2] ?? "{}") as NobodyCollectConfig;
const db = await openDb({ url: "", dataDir: config.dataDir });
try {
  const ids: number[] = [];
  for (const form of config.trainings) {
    const request = validateTrainingRequest(form);
    if (!request.ok) throw new Error(JSON.stringify(request.errors));
    ids.push((await createTraining(db, request.value)).id);
  }
  say({ kind: "trainings", ids });
  const origin = config.origin ? await buildSmallOrigin(config.origin) : undefined;
  const runtime = await createCollectionRuntime(db, {
    labPrefix: config.labPrefix,
    shaperdSocket: config.socket,
    ...(config.maxSlots ? { maxSlots: config.maxSlots } : {}),
    ...(config.uplinkAllow ? { uplinkAllow: config.uplinkAllow } : {}),
    ...(origin ? { origin } : {}),
    log: (m) => process.stderr.write(`${m}\n`),
    onEvent: (event) => say({ kind: "event", event }),
  });
  if (config.serve) {
    const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
      const listening = serve({ fetch: runtime.app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(listening));
    });
    const address = server.address();
    say({ kind: "listening", url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}` });
    for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "stop") break;
    process.stdin.destroy(); // an open stdin would keep this process alive
    // A browser's keep-alive connections would hold close() open.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
    await closed;
  } else {
    await runtime.orchestrator.runUntilIdle();
  }
  await runtime.close();
  const sessions: Record<number, unknown> = {};
  for (const id of ids) sessions[id] = await listSessions(db, id);
  say({
    kind: "result",
    uid: process.getuid?.(),
    operator: runtime.operator,
    trainings: await Promise.all(ids.map((id) => getTraining(db, id))),
    sessions,
  });
} finally {
  await db.close();
}
