import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { isQoelabError } from "../errors.ts";
import { type CaptureParser, PcapngBlockType, PcapUnitType, readCaptureBytes } from "../packet/index.ts";

/** A seed capture and where its fields lie, so mutations can aim at lengths and timestamps. */
export interface FuzzSeed {
  name: string;
  bytes: Uint8Array;
  littleEndian: boolean;
  /** File offsets of unit starts (file header, records, blocks). */
  units: number[];
  /** Offsets of 32-bit length fields (pcap caplen/origlen, pcapng block and packet lengths). */
  lengthFields: number[];
  /** Offsets of 32-bit timestamp words (pcap seconds, pcapng EPB high word). */
  timeFields: number[];
}

/** Seeds are cut to this size: small inputs keep the campaign fast; the cut is one more truncation. */
export const MAX_SEED_BYTES = 64 * 1024;

export function seedFromBytes(name: string, whole: Uint8Array): FuzzSeed {
  const bytes = whole.length > MAX_SEED_BYTES ? whole.slice(0, MAX_SEED_BYTES) : whole;
  const seed: FuzzSeed = { name, bytes, littleEndian: true, units: [], lengthFields: [], timeFields: [] };
  const note = (p: CaptureParser) => {
    const at = p.unitFileOffset;
    seed.littleEndian = p.littleEndian;
    seed.units.push(at);
    if (p.format === "pcapng") {
      seed.lengthFields.push(at + 4, at + p.unitLength - 4);
      if (p.unitType === PcapngBlockType.EPB) {
        seed.lengthFields.push(at + 20, at + 24);
        seed.timeFields.push(at + 12);
      } else if (p.unitType === PcapngBlockType.SPB) seed.lengthFields.push(at + 8);
    } else if (p.unitType === PcapUnitType.RECORD) {
      seed.lengthFields.push(at + 8, at + 12);
      seed.timeFields.push(at);
    } else seed.lengthFields.push(16);
  };
  try {
    readCaptureBytes(bytes, (_, p) => note(p), { onBlock: note, tolerateTruncatedTail: true });
  } catch (error) {
    if (!isQoelabError(error)) throw error;
  }
  return seed;
}

const NOT_CAPTURES = /\.(md|txt|tsv|csv|json|sh|zst|gz|xz|py)$/i;

function captureFiles(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) captureFiles(path, out);
    else if (st.isFile() && st.size > 0 && !NOT_CAPTURES.test(name)) out.push(path);
  }
}

/** Every capture file under `roots` (sorted, so the corpus order is fixed), as seeds. */
export function loadCorpus(roots: readonly string[]): FuzzSeed[] {
  const seeds: FuzzSeed[] = [];
  for (const root of roots) {
    const files: string[] = [];
    try {
      captureFiles(root, files);
    } catch {
      continue;
    }
    for (const file of files) {
      seeds.push(seedFromBytes(relative(root, file), new Uint8Array(readFileSync(file))));
    }
  }
  return seeds;
}
