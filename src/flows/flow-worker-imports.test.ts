import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** Modules a file loads when evaluated: its value imports and re-exports, followed (type-only ones are erased). */
function runtimeClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const pending = [entry];
  const specifiers = /^(?:import|export)\s+(?!type\s)(?:[^;]*?\sfrom\s+)?"(\.[^"]+)"/gm;
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const match of readFileSync(file, "utf8").matchAll(specifiers)) {
      pending.push(resolve(dirname(file), match[1]!));
    }
  }
  return seen;
}

test("a shard worker loads the flow engine and the packet library's numbers, not its layers", () => {
  const src = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const closure = [...runtimeClosure(resolve(src, "flows/flow-worker.ts"))].map((f) => f.slice(src.length + 1));
  assert.ok(closure.includes("flows/shard-engine.ts"), closure.join(" "));
  assert.ok(closure.includes("packet/numbers/index.ts"), closure.join(" "));
  // packet/index.ts evaluates every layer module (~80 files, ~5 MB of code and source per thread).
  const packetFiles = closure.filter((f) => f.startsWith("packet/")).sort();
  assert.deepEqual(packetFiles, [
    "packet/byte-order.ts",
    "packet/dissection.ts",
    "packet/numbers/index.ts",
    "packet/protocol-numbers.ts",
  ]);
  assert.ok(closure.length < 40, `${closure.length} modules`);
});
