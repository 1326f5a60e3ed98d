import type { Hono } from "hono";
import {
  type CollectionRuntime,
  type CollectionRuntimeOptions,
  createCollectionRuntime as createRuntime,
} from "../collect/index.ts";
import type { Db } from "../db/index.ts";
import { DEFAULT_SHAPERD_SOCKET } from "../netlab/index.ts";
import { createApp } from "../web/index.ts";

export type CliCollectionRuntimeOptions = Omit<CollectionRuntimeOptions<Hono>, "createApp">;

/** `--shaperd` of the commands that run the collection worker (serve, collect). */
export const SHAPERD_SOCKET_OPTION = [
  "--shaperd <socket>",
  "shaper daemon socket used when not root",
  DEFAULT_SHAPERD_SOCKET,
] as const;

/** The collection worker (`src/collect/collection-runtime.ts`) wired to this web app. */
export function createCollectionRuntime(
  db: Db,
  options: CliCollectionRuntimeOptions,
): Promise<CollectionRuntime<Hono>> {
  return createRuntime(db, { ...options, createApp: (controller) => createApp({ db, controller }) });
}
