import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

/** ../shared/data/realcaps from the repository root (the tests' working folder). */
export const REALCAPS = "../shared/data/realcaps";

/**
 * An oracle table made once from a reference tool's output on every realcaps capture (a TSV with a
 * header row, first column the file): each file's other columns, or null where the tool could not
 * read the file or the table left it out (its first column "-" or another word, not a number).
 * It must list every capture, as the capinfos table does.
 */
export function readOracleTable(path: string): Map<string, string[] | null> {
  const table = new Map<string, string[] | null>();
  for (const row of readFileSync(path, "utf8").trim().split("\n").slice(1)) {
    const [file, ...columns] = row.split("\t");
    table.set(file!, /^\d/.test(columns[0] ?? "") ? columns : null);
  }
  const files = readFileSync("test-data/realcaps-capinfos.tsv", "utf8").trim().split("\n").slice(1);
  assert.deepEqual(
    [...table.keys()],
    files.map((line) => line.split("\t")[0]),
    `${path} lists every capture, as the capinfos table does (remake both when realcaps changes)`,
  );
  return table;
}

/**
 * Compares qoelab with the oracle on every capture the oracle read: `differs` gives null when they
 * agree, else what differs. Captures in `known` (file → reason) are expected to differ: the sweep
 * fails when one no longer does, so such lists only shrink. Fails with every differing capture.
 */
export async function assertRealcapsAgree(
  table: Map<string, string[] | null>,
  known: ReadonlyMap<string, string>,
  differs: (file: string, oracle: string[]) => Promise<string | null>,
): Promise<number> {
  const differing: string[] = [];
  const stillKnown: string[] = [];
  let compared = 0;
  for (const [file, oracle] of table) {
    if (oracle === null) continue; // the oracle could not read it (pcap info's walk checks our refusal)
    let difference: string | null;
    try {
      difference = await differs(`${REALCAPS}/${file}`, oracle);
    } catch (error) {
      difference = `qoelab refused it (${(error as { code?: string }).code}), the oracle read it`;
    }
    if (known.has(file)) {
      if (difference === null) stillKnown.push(file);
      continue;
    }
    compared++;
    if (difference !== null) differing.push(`${file}: ${difference}`);
  }
  assert.deepEqual(differing, [], "captures where qoelab and the oracle differ");
  assert.deepEqual(stillKnown, [], "listed as differing but now equal: take them off the list");
  return compared;
}
