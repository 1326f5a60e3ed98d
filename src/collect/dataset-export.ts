import type { Queryable } from "../db/index.ts";
import { QoelabError } from "../errors.ts";
import { getTraining, impairmentOf, listSessions, type SessionRow, type TrainingRow } from "./training-store.ts";

export type ExportFormat = "csv" | "json" | "parquet";
export type ExportValue = string | number | boolean | null;

/** Columns named `net_*` come from the capture only; `label_*` from the player (never features). */
export const NETWORK_PREFIX = "net_";
export const LABEL_PREFIX = "label_";

export interface Dataset {
  columns: string[];
  rows: ExportValue[][];
}

function flatten(prefix: string, value: unknown, out: Map<string, ExportValue>): void {
  if (value === null || value === undefined) return;
  if (typeof value === "number") out.set(prefix, Number.isFinite(value) ? value : null);
  else if (typeof value === "string" || typeof value === "boolean") out.set(prefix, value);
  else if (Array.isArray(value))
    return; // series and per-flow lists stay in JSON exports
  else if (typeof value === "object") {
    for (const [key, inner] of Object.entries(value as Record<string, unknown>))
      flatten(`${prefix}_${key}`, inner, out);
  }
}

function sessionFacts(training: TrainingRow, session: SessionRow): Map<string, ExportValue> {
  const impairment = impairmentOf(training);
  const facts = new Map<string, ExportValue>([
    ["training_id", training.id],
    ["training_name", training.name],
    ["session_id", session.id],
    ["session_name", session.name],
    ["position", session.position],
    ["bw_limitation_mbps", session.bw_limitation],
    ["delay_ms", (impairment.delay ?? 0) * 1000],
    ["loss_percent", (impairment.loss ?? 0) * 100],
    ["session_duration_s", training.session_duration],
    ["status", session.status],
    ["attempts", session.attempts],
    ["url", session.url],
    ["channel", session.channel],
    ["started_at", session.started_at ? new Date(session.started_at).toISOString() : null],
    ["finished_at", session.finished_at ? new Date(session.finished_at).toISOString() : null],
    ["capture_file", session.capture_file],
    ["capture_size_bytes", session.capture_size],
  ]);
  const features = (session.network_data as { features?: unknown } | null)?.features;
  const network = new Map<string, ExportValue>();
  flatten("net", features, network);
  for (const [k, v] of network) facts.set(k, v);
  const labels = new Map<string, ExportValue>();
  flatten("label", session.labels, labels);
  for (const [k, v] of labels) facts.set(k, v);
  return facts;
}

/** One row per session: training and session fields, bandwidth, flattened network features, labels. */
export async function buildDataset(db: Queryable, trainingId: number, options: { onlyCaptured?: boolean } = {}) {
  const training = await getTraining(db, trainingId);
  let sessions = await listSessions(db, trainingId);
  if (options.onlyCaptured !== false) sessions = sessions.filter((s) => s.status === 1);
  const facts = sessions.map((s) => sessionFacts(training, s));
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of facts) {
    for (const key of row.keys()) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  return {
    training,
    sessions,
    dataset: { columns, rows: facts.map((row) => columns.map((c) => row.get(c) ?? null)) } satisfies Dataset,
  };
}

function csvCell(value: ExportValue): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function datasetToCsv(dataset: Dataset): string {
  return `${[dataset.columns.map(csvCell).join(","), ...dataset.rows.map((r) => r.map(csvCell).join(","))].join("\n")}\n`;
}

export async function datasetToParquet(dataset: Dataset): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const columnData = dataset.columns.map((name, i) => {
    const values = dataset.rows.map((r) => r[i] ?? null);
    const present = values.filter((v) => v !== null);
    const type = present.every((v) => typeof v === "number")
      ? ("DOUBLE" as const)
      : present.every((v) => typeof v === "boolean")
        ? ("BOOLEAN" as const)
        : ("STRING" as const);
    const data = type === "STRING" ? values.map((v) => (v === null ? null : String(v))) : values;
    return { name, data, type };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

/** The export file's bytes, content type and suggested name. */
export async function exportTraining(
  db: Queryable,
  trainingId: number,
  format: string,
): Promise<{ body: Uint8Array | string; contentType: string; filename: string }> {
  const { training, sessions, dataset } = await buildDataset(db, trainingId);
  const base = `qoelab-training-${training.id}`;
  switch (format) {
    case "csv":
      return { body: datasetToCsv(dataset), contentType: "text/csv; charset=utf-8", filename: `${base}.csv` };
    case "json":
      return {
        body: JSON.stringify({ training, columns: dataset.columns, rows: dataset.rows, sessions }, null, 1),
        contentType: "application/json",
        filename: `${base}.json`,
      };
    case "parquet":
      return {
        body: await datasetToParquet(dataset),
        contentType: "application/vnd.apache.parquet",
        filename: `${base}.parquet`,
      };
    default:
      throw new QoelabError("EXPORT_BAD_FORMAT", `export: unknown format "${format}" (csv, json or parquet)`, {
        fields: { format: "csv, json or parquet" },
      });
  }
}
