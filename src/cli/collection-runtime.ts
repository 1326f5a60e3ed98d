import type { Hono } from "hono";
import { CollectionOrchestrator, labShaper, type OrchestratorEvent, type PlayableSession } from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { createApp } from "../web/index.ts";

/**
 * Wires the collection worker: the orchestrator answers the player's requests through the same
 * web app (in-process), and shapes lab links itself (it runs as root).
 */
export async function createCollectionRuntime(
  db: Db,
  options: {
    maxSlots?: number;
    captureDir?: string;
    log?: (message: string) => void;
    originChannels?: readonly string[];
    originDuration?: number;
    staleAfterSeconds?: number;
    labPrefix?: string;
    onEvent?: (event: OrchestratorEvent) => void;
  },
): Promise<{ orchestrator: CollectionOrchestrator; app: Hono; close(): Promise<void> }> {
  if (process.getuid?.() !== 0) {
    throw new QoelabError(
      "COLLECT_NEEDS_ROOT",
      "collection creates network namespaces and shapes links: run it as root (the web app alone runs as any user)",
    );
  }
  let orchestrator: CollectionOrchestrator | undefined;
  const controller = {
    next: (trainingId: number, worker: string) => orchestrator!.next(trainingId, worker),
    play: (id: number): Promise<{ session: PlayableSession; url: string }> => orchestrator!.play(id),
    start: (id: number) => orchestrator!.start(id),
    finish: (id: number, data: Record<string, unknown>) => orchestrator!.finish(id, data),
    fail: (id: number, reason: string) => orchestrator!.fail(id, reason),
  };
  const app = createApp({ db, controller });
  orchestrator = new CollectionOrchestrator({
    db,
    handle: async (request) => app.fetch(request),
    shaper: labShaper,
    ...(options.maxSlots ? { maxSlots: options.maxSlots } : {}),
    ...(options.captureDir ? { captureDir: options.captureDir } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.originChannels ? { originChannels: options.originChannels } : {}),
    ...(options.originDuration ? { originDuration: options.originDuration } : {}),
    ...(options.staleAfterSeconds !== undefined ? { staleAfterSeconds: options.staleAfterSeconds } : {}),
    ...(options.labPrefix ? { labPrefix: options.labPrefix } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  return { orchestrator, app, close: () => orchestrator!.stop() };
}
