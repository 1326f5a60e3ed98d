import { csvField, readCsv } from "../../common/index.ts";
import { QoelabError } from "../../errors.ts";
import { checkScore, type ListeningMethod } from "./scales.ts";
import type { ClipKind, Rating } from "./screening.ts";

/** Splits RFC 4180 CSV text into records (quoted fields may hold commas, quotes and newlines); blank lines dropped. */
export function parseCsv(text: string): string[][] {
  return readCsv(text).records.filter((r) => !(r.length === 1 && r[0]!.trim() === ""));
}

const csvCell = csvField;

const KINDS: readonly ClipKind[] = ["test", "training", "gold", "trap"];

/**
 * Reads ratings CSV: a header with at least rater, condition, clip, score (any order; optional
 * time, kind, expected, tolerance). Every score must lie on the method's scale.
 */
export function parseRatingsCsv(text: string, method: ListeningMethod, file = "ratings.csv"): Rating[] {
  const records = parseCsv(text);
  const header = records[0]?.map((h) => h.trim().toLowerCase());
  if (!header)
    throw new QoelabError(
      "LISTEN_CSV_EMPTY",
      `${file}: empty file (need a header rater,condition,clip,score)`,
      {},
      {
        kind: "bad_input",
      },
    );
  const column = (name: string) => header.indexOf(name);
  const missing = ["rater", "condition", "clip", "score"].filter((name) => column(name) < 0);
  if (missing.length > 0) {
    throw new QoelabError(
      "LISTEN_CSV_BAD_HEADER",
      `${file}: line 1: missing column(s) ${missing.join(", ")} (header: ${header.join(",")})`,
      { file, missing },
    );
  }
  const at = (record: string[], name: string) => {
    const index = column(name);
    return index < 0 ? undefined : record[index]?.trim();
  };
  const ratings: Rating[] = [];
  records.slice(1).forEach((record, index) => {
    const line = index + 2;
    const rater = at(record, "rater");
    const condition = at(record, "condition");
    const clip = at(record, "clip");
    if (!rater || !condition || !clip) {
      throw new QoelabError(
        "LISTEN_CSV_BAD_ROW",
        `${file}: line ${line}: rater, condition and clip must not be empty`,
        {
          file,
          line,
        },
      );
    }
    let score: number;
    try {
      score = checkScore(method, at(record, "score"), `${file}: line ${line}: score`);
    } catch (error) {
      throw new QoelabError("LISTEN_BAD_SCORE", (error as Error).message, { file, line });
    }
    const rating: Rating = { rater, condition, clip, score };
    const time = at(record, "time");
    if (time) rating.time = time;
    const kind = at(record, "kind");
    if (kind) {
      if (!KINDS.includes(kind as ClipKind)) {
        throw new QoelabError(
          "LISTEN_CSV_BAD_ROW",
          `${file}: line ${line}: kind "${kind}" is not one of ${KINDS.join(", ")}`,
          { file, line },
        );
      }
      rating.kind = kind as ClipKind;
    }
    const expected = at(record, "expected");
    if (expected) rating.expected = Number(expected);
    const tolerance = at(record, "tolerance");
    if (tolerance) rating.tolerance = Number(tolerance);
    ratings.push(rating);
  });
  return ratings;
}

/** The CSV export: rater, condition, clip, score, time (plus kind, expected, tolerance for screening). */
export function formatRatingsCsv(ratings: readonly Rating[]): string {
  const lines = ["rater,condition,clip,score,time,kind,expected,tolerance"];
  for (const r of ratings) {
    lines.push(
      [r.rater, r.condition, r.clip, r.score, r.time, r.kind ?? "test", r.expected ?? "", r.tolerance ?? ""]
        .map(csvCell)
        .join(","),
    );
  }
  return `${lines.join("\n")}\n`;
}
