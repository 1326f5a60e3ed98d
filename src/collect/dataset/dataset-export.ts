import { isAbsolute, relative, resolve } from "node:path";
import { csvField } from "../../common/index.ts";
import type { Queryable } from "../../db/index.ts";
import { QoelabError } from "../../errors.ts";
import { FLOW_COLUMNS, type FlowResult } from "../../flows/index.ts";
import {
  getTraining,
  impairmentOf,
  listSessions,
  type SessionRow,
  type TrainingRow,
} from "../training/training-store.ts";

export type ExportFormat = "csv" | "json" | "parquet";
export type ExportValue = string | number | boolean | null;

/** Columns named `net_*` come from the capture only; `label_*` from the player (never features). */
export const NETWORK_PREFIX = "net_";
export const LABEL_PREFIX = "label_";

/** A column's type in typed files (Parquet): what a data scientist's reader gets. */
export type ColumnType = "INT32" | "INT64" | "DOUBLE" | "BOOLEAN" | "STRING" | "TIMESTAMP";

export interface Dataset {
  columns: string[];
  rows: ExportValue[][];
  /** Each column's type; inferred from the values where absent. TIMESTAMP values are ISO 8601 text. */
  types?: ColumnType[];
}

/** The session columns whose type does not depend on the values. */
const FIXED_TYPES: Readonly<Record<string, ColumnType>> = {
  training_id: "INT32",
  training_name: "STRING",
  session_id: "INT32",
  session_name: "STRING",
  position: "INT32",
  bw_limitation_mbps: "DOUBLE",
  delay_ms: "DOUBLE",
  loss_percent: "DOUBLE",
  session_duration_s: "INT32",
  status: "INT32",
  attempts: "INT32",
  url: "STRING",
  channel: "STRING",
  started_at: "TIMESTAMP",
  finished_at: "TIMESTAMP",
  capture_file: "STRING",
  capture_size_bytes: "INT64",
};

/** A column's type from its values: whole numbers → INT64, other numbers → DOUBLE, booleans, else text. */
export function inferColumnType(values: readonly ExportValue[]): ColumnType {
  const present = values.filter((v) => v !== null);
  if (present.length > 0 && present.every((v) => typeof v === "boolean")) return "BOOLEAN";
  if (present.every((v) => typeof v === "number")) {
    return present.length > 0 && present.every((v) => Number.isSafeInteger(v)) ? "INT64" : "DOUBLE";
  }
  return "STRING";
}

/** Where the capture lies, relative to the data directory when it is inside it. */
function capturePath(file: string | null, dataDir: string | undefined): string | null {
  if (file === null || dataDir === undefined) return file;
  const inside = relative(resolve(dataDir), resolve(file));
  return inside.startsWith("..") || isAbsolute(inside) ? file : inside;
}

export interface ExportOptions {
  /**
   * The data directory `capture_file` is given relative to (default: the embedded database's own
   * directory); captures elsewhere (shaperd's capture directory) keep their absolute path.
   */
  dataDir?: string;
}

function defaultDataDir(db: Queryable): string | undefined {
  const { kind, location } = db as { kind?: string; location?: string };
  return kind === "pglite" && location && !location.startsWith("memory://") ? location : undefined;
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

/** A trace session's link over the recorded window: the trace's offer and what the emulator delivered (Mbit/s). */
function linkFacts(session: SessionRow): Array<[string, ExportValue]> {
  const link = (session.network_data as { link?: Record<string, unknown> } | null)?.link;
  if (!link) return [];
  const start = Math.max(0, Math.ceil(Number(link.record_start_s ?? 0)));
  const mean = (values: unknown) => {
    const list = Array.isArray(values) ? (values as number[]).slice(start) : [];
    return list.length ? Math.round((list.reduce((a, b) => a + b, 0) / list.length) * 1000) / 1000 : null;
  };
  return [
    ["link_offered_mbps", mean(link.offered_mbps)],
    ["link_delivered_mbps", mean(link.delivered_mbps)],
  ];
}

function sessionFacts(
  training: TrainingRow,
  session: SessionRow,
  dataDir: string | undefined,
): Map<string, ExportValue> {
  const impairment = impairmentOf(training);
  const facts = new Map<string, ExportValue>([
    ["training_id", training.id],
    ["training_name", training.name],
    ["session_id", session.id],
    ["session_name", session.name],
    ["position", session.position],
    ["bw_limitation_mbps", session.bw_limitation],
    ["trace", session.trace],
    ["trace_offset_s", session.trace_offset_s],
    ["trace_scale", session.trace ? (impairment.traceScale ?? 1) : null],
    ...linkFacts(session),
    ["delay_ms", (impairment.delay ?? 0) * 1000],
    ["loss_percent", (impairment.loss ?? 0) * 100],
    ["session_duration_s", training.session_duration],
    ["status", session.status],
    ["attempts", session.attempts],
    ["url", session.url],
    ["channel", session.channel],
    ["content", session.channel],
    ["started_at", session.started_at ? new Date(session.started_at).toISOString() : null],
    ["finished_at", session.finished_at ? new Date(session.finished_at).toISOString() : null],
    ["capture_file", capturePath(session.capture_file, dataDir)],
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
export async function buildDataset(
  db: Queryable,
  trainingId: number,
  options: { onlyCaptured?: boolean } & ExportOptions = {},
) {
  const training = await getTraining(db, trainingId);
  let sessions = await listSessions(db, trainingId);
  if (options.onlyCaptured !== false) sessions = sessions.filter((s) => s.status === 1);
  const dataDir = options.dataDir ?? defaultDataDir(db);
  const facts = sessions.map((s) => sessionFacts(training, s, dataDir));
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
  const rows = facts.map((row) => columns.map((c) => row.get(c) ?? null));
  const types = columns.map((c, i) => FIXED_TYPES[c] ?? inferColumnType(rows.map((r) => r[i] ?? null)));
  return { training, sessions, dataset: { columns, rows, types } satisfies Dataset };
}

/** The flow table's columns: tstat's log_tcp_complete names (as `qoelab flows --format csv`). */
const FLOW_EXPORT_COLUMNS = FLOW_COLUMNS.filter((c) => !c.tableOnly);

/**
 * One row per flow of each captured session: the session's id and name, then the flow's statistics
 * under tstat's log_tcp_complete column names (the flows stored in the session's network data).
 */
export async function buildFlowsDataset(db: Queryable, trainingId: number): Promise<Dataset> {
  await getTraining(db, trainingId);
  const sessions = (await listSessions(db, trainingId)).filter((s) => s.status === 1);
  const columns = ["session_id", "session_name", ...FLOW_EXPORT_COLUMNS.map((c) => c.name)];
  const rows: ExportValue[][] = [];
  for (const session of sessions) {
    const flows = (session.network_data as { flows?: FlowResult[] } | null)?.flows ?? [];
    for (const flow of flows) {
      const row: ExportValue[] = [session.id, session.name];
      for (const column of FLOW_EXPORT_COLUMNS) {
        const value = column.get(flow);
        row.push(typeof value === "number" && !Number.isFinite(value) ? null : value);
      }
      rows.push(row);
    }
  }
  const types = columns.map((c, i) =>
    c === "session_id" ? "INT32" : c === "session_name" ? "STRING" : inferColumnType(rows.map((r) => r[i] ?? null)),
  );
  return { columns, rows, types };
}

const csvCell: (value: ExportValue) => string = csvField;

export function datasetToCsv(dataset: Dataset): string {
  return `${[dataset.columns.map(csvCell).join(","), ...dataset.rows.map((r) => r.map(csvCell).join(","))].join("\n")}\n`;
}

/** A Parquet column's values in the writer's physical form (BigInt for INT64, Date for TIMESTAMP). */
function parquetColumn(type: ColumnType, values: readonly ExportValue[]): unknown[] {
  switch (type) {
    case "INT32":
    case "DOUBLE":
    case "BOOLEAN":
      return [...values];
    case "INT64":
      return values.map((v) => (v === null ? null : BigInt(v as number)));
    case "TIMESTAMP":
      return values.map((v) => (v === null ? null : new Date(String(v))));
    case "STRING":
      return values.map((v) => (v === null ? null : String(v)));
  }
}

/** Parquet with typed columns: INT32/INT64, DOUBLE, BOOLEAN, TIMESTAMP (ms, UTC), STRING. */
export async function datasetToParquet(dataset: Dataset): Promise<Uint8Array> {
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const columnData = dataset.columns.map((name, i) => {
    const values = dataset.rows.map((r) => r[i] ?? null);
    const type = dataset.types?.[i] ?? inferColumnType(values);
    return { name, data: parquetColumn(type, values), type };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

/** An export file's bytes, content type and suggested name. */
export interface ExportFile {
  body: Uint8Array | string;
  contentType: string;
  filename: string;
}

/** `dataset` as a CSV or Parquet file named `base` plus the format's extension. */
async function datasetFile(dataset: Dataset, format: "csv" | "parquet", base: string): Promise<ExportFile> {
  if (format === "csv")
    return { body: datasetToCsv(dataset), contentType: "text/csv; charset=utf-8", filename: `${base}.csv` };
  return {
    body: await datasetToParquet(dataset),
    contentType: "application/vnd.apache.parquet",
    filename: `${base}.parquet`,
  };
}

/** A training's sessions (or, with `flows`, its flows table) as an export file. */
export async function exportTraining(
  db: Queryable,
  trainingId: number,
  format: string,
  options: ExportOptions & { flows?: boolean } = {},
): Promise<ExportFile> {
  if (options.flows) return exportFlows(db, trainingId, format);
  const { training, sessions, dataset } = await buildDataset(db, trainingId, options);
  const base = `qoelab-training-${training.id}`;
  switch (format) {
    case "csv":
    case "parquet":
      return datasetFile(dataset, format, base);
    case "json":
      return {
        body: JSON.stringify({ training, columns: dataset.columns, rows: dataset.rows, sessions }, null, 1),
        contentType: "application/json",
        filename: `${base}.json`,
      };
    default:
      throw new QoelabError("EXPORT_BAD_FORMAT", `export: unknown format "${format}" (csv, json or parquet)`, {
        fields: { format: "csv, json or parquet" },
      });
  }
}

/** The flows table of a training as CSV or Parquet (`qoelab-training-ID-flows.*`). */
async function exportFlows(db: Queryable, trainingId: number, format: string): Promise<ExportFile> {
  const dataset = await buildFlowsDataset(db, trainingId);
  if (format === "csv" || format === "parquet")
    return datasetFile(dataset, format, `qoelab-training-${trainingId}-flows`);
  throw new QoelabError("EXPORT_BAD_FORMAT", `export: the flows table is csv or parquet, not "${format}"`, {
    fields: { format: "csv or parquet" },
  });
}
