import assert from "node:assert/strict";
import { join } from "node:path";
import { createCollectionRuntime } from "../../cli/collection-runtime.ts";
import type { Db } from "../../db/index.ts";
import { validateTrainingRequest } from "../training-request.ts";
import { createTraining } from "../training-store.ts";

/**
 * Creates a training from form fields and lets a root collection runtime (lab slots named
 * `<labPrefix>N`, the built-in origin's testcard channel) play it to the end; returns its id.
 */
export async function collectTraining(
  db: Db,
  form: Record<string, string>,
  options: { dir: string; labPrefix: string },
): Promise<number> {
  const request = validateTrainingRequest(form);
  assert.ok(request.ok, JSON.stringify(request));
  const trainingId = (await createTraining(db, request.value)).id;
  const runtime = await createCollectionRuntime(db, {
    captureDir: join(options.dir, "captures"),
    originChannels: ["testcard"],
    labPrefix: options.labPrefix,
  });
  try {
    await runtime.orchestrator.runUntilIdle(trainingId);
  } finally {
    await runtime.close();
  }
  return trainingId;
}
