import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { readCaptureBytes } from "../capture-reader.ts";
import { Dissection, dissect } from "../dissect.ts";
import { compileFilter } from "../filter-compile.ts";

/** Packets of a capture as `sec.nsec/caplen/origlen` keys, in file order. */
export function keysOf(bytes: Uint8Array): string[] {
  const keys: string[] = [];
  readCaptureBytes(bytes, (r) => {
    keys.push(`${r.tsSec}.${r.tsNsec}/${r.caplen}/${r.origlen}`);
  });
  return keys;
}

/** The keys of the packets our compiled filter matches. */
export function qoelabKeys(bytes: Uint8Array, expression: string): string[] {
  const filter = compileFilter(expression);
  const dissection = new Dissection();
  const keys: string[] = [];
  readCaptureBytes(bytes, (r) => {
    dissect(r.buffer, r.offset, r.caplen, r.origlen, r.linkType, dissection);
    if (filter.matches(r, dissection)) keys.push(`${r.tsSec}.${r.tsNsec}/${r.caplen}/${r.origlen}`);
  });
  return keys;
}

let counter = 0;
/** The keys of the packets tcpdump's filter keeps (its output written under `dir`, then removed). */
export function tcpdumpKeys(dir: string, file: string, expression: string): string[] {
  const out = join(dir, `out-${process.pid}-${counter++}.pcap`);
  const result = spawnSync("tcpdump", ["-r", file, "-w", out, "--", expression], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`tcpdump rejected ${JSON.stringify(expression)}: ${result.stderr}`);
  const keys = keysOf(readFileSync(out));
  rmSync(out);
  return keys;
}
