import { parentPort, workerData } from "node:worker_threads";
import { walkFile } from "./walk.ts";

/** Walks `files` (relative to `root`) one by one, posting each result (the parent's watchdog spots a hang). */
const { root, files } = workerData as { root: string; files: string[] };
for (const file of files) {
  parentPort!.postMessage({ type: "start", file });
  parentPort!.postMessage({ type: "result", result: await walkFile(root, file) });
}
