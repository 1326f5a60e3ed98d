import { Worker } from "node:worker_threads";
import type { WalkResult } from "./walk.ts";

export interface WalkOptions {
  root: string;
  files: readonly string[];
  /** Worker threads walking side by side. */
  workers: number;
  /** A file taking longer than this is a hang: its worker is ended and the walk goes on. */
  hangMs: number;
}

export interface WalkReport {
  results: WalkResult[];
  hangs: string[];
}

function walkWorker(root: string, files: readonly string[]): Worker {
  const self = import.meta.url;
  const options = { workerData: { root, files }, resourceLimits: { maxOldGenerationSizeMb: 1024 } };
  if (!self.endsWith(".ts")) return new Worker(new URL("./walk-worker.js", self), options);
  const entry = new URL("./walk-worker.ts", self).href;
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const bootstrap = `import { register } from ${JSON.stringify(tsxApi)}; register(); await import(${JSON.stringify(entry)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), options);
}

/** Walks every file through `pcap info` and `flows` in worker threads, each file under a watchdog. */
export async function walkCaptures(options: WalkOptions): Promise<WalkReport> {
  const results: WalkResult[] = [];
  const hangs: string[] = [];
  const lanes = Array.from({ length: options.workers }, (_, k) =>
    options.files.filter((_, i) => i % options.workers === k),
  );
  await Promise.all(
    lanes.map(
      (files) =>
        new Promise<void>((resolve, reject) => {
          let rest = files;
          const start = () => {
            if (rest.length === 0) {
              resolve();
              return;
            }
            const worker = walkWorker(options.root, rest);
            let current: string | null = null;
            let since = performance.now();
            const watchdog = setInterval(() => {
              if (current === null || performance.now() - since <= options.hangMs) return;
              clearInterval(watchdog);
              hangs.push(current);
              rest = rest.slice(rest.indexOf(current) + 1);
              current = null;
              worker.removeAllListeners();
              void worker.terminate().then(start);
            }, 250);
            worker.on("message", (m: { type: "start"; file: string } | { type: "result"; result: WalkResult }) => {
              if (m.type === "start") {
                current = m.file;
                since = performance.now();
              } else {
                results.push(m.result);
                current = null;
              }
            });
            worker.on("error", (error) => {
              clearInterval(watchdog);
              reject(error);
            });
            worker.on("exit", () => {
              clearInterval(watchdog);
              resolve();
            });
          };
          start();
        }),
    ),
  );
  results.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { results, hangs };
}
