import { readFile } from "node:fs/promises";
import { buildDataset, type Dataset, type ExportValue } from "../collect/index.ts";
import type { Queryable } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { parseCsv } from "./csv.ts";

export type { Dataset, ExportValue };

/** A dataset plus where it came from (shown in reports and stored in model files). */
export interface LoadedDataset extends Dataset {
  source: string;
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Text of one CSV cell → value: empty → null, numbers → number, true/false → boolean, else text. */
export function csvValue(text: string): ExportValue {
  const t = text.trim();
  if (t === "") return null;
  if (NUMBER.test(t)) return Number(t);
  if (t === "NaN" || t === "nan") return null;
  const lower = t.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  return text;
}

/** A dataset from CSV text (header line first, RFC 4180). */
export function datasetFromCsv(text: string, name = "<csv>"): Dataset {
  const records = parseCsv(text, name);
  const header = records[0];
  if (!header || header.length === 0 || (header.length === 1 && header[0] === ""))
    throw new QoelabError("ML_EMPTY_DATASET", `${name}: no header line`, { file: name });
  const columns = header.map((h) => h.trim());
  const rows: ExportValue[][] = [];
  for (let r = 1; r < records.length; r++) {
    const record = records[r]!;
    if (record.length === 1 && record[0] === "" && columns.length > 1) continue; // blank line
    if (record.length !== columns.length)
      throw new QoelabError(
        "ML_CSV_RAGGED",
        `${name}: record ${r + 1} has ${record.length} fields, the header has ${columns.length}`,
        { file: name, record: r + 1 },
      );
    rows.push(record.map(csvValue));
  }
  return { columns, rows };
}

function parquetValue(value: unknown): ExportValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "boolean" || typeof value === "string") return value;
  if (value instanceof Date) return value.toISOString();
  return JSON.stringify(value);
}

/** A dataset from Parquet bytes (flat columns; nested values become JSON text). */
export async function datasetFromParquet(bytes: Uint8Array, name = "<parquet>"): Promise<Dataset> {
  const { parquetReadObjects, parquetMetadata, parquetSchema } = await import("hyparquet");
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let objects: Record<string, unknown>[];
  let columns: string[];
  try {
    const metadata = parquetMetadata(file);
    columns = parquetSchema(metadata).children.map((c) => c.element.name);
    objects = (await parquetReadObjects({ file, metadata })) as Record<string, unknown>[];
  } catch (error) {
    throw new QoelabError("ML_BAD_PARQUET", `${name}: cannot read Parquet (${(error as Error).message})`, {
      file: name,
    });
  }
  return { columns, rows: objects.map((o) => columns.map((c) => parquetValue(o[c]))) };
}

const TRAINING_SOURCE = /^training:(\d+)$/;

/**
 * Loads DATA as the CLI and web name it: `training:ID` (straight from the database, one row per
 * captured session as `buildDataset` makes it), a `.parquet` file, or a CSV file.
 */
export async function loadDataset(source: string, options: { db?: Queryable } = {}): Promise<LoadedDataset> {
  const training = TRAINING_SOURCE.exec(source.trim());
  if (training) {
    if (!options.db)
      throw new QoelabError("ML_NO_DATABASE", `${source}: a database is needed to read a training`, { source });
    const { dataset } = await buildDataset(options.db, Number(training[1]));
    return { ...dataset, source };
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(source);
  } catch (error) {
    throw new QoelabError("ML_DATA_NOT_FOUND", `${source}: cannot read dataset (${(error as Error).message})`, {
      file: source,
    });
  }
  const isParquet =
    /\.parquet$/i.test(source) ||
    (bytes.length >= 8 && String.fromCharCode(bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!) === "PAR1");
  const dataset = isParquet
    ? await datasetFromParquet(bytes, source)
    : datasetFromCsv(new TextDecoder().decode(bytes), source);
  return { ...dataset, source };
}
