import { LABEL_PREFIX, NETWORK_PREFIX } from "../collect/index.ts";
import { QoelabError } from "../errors.ts";
import type { Dataset, ExportValue } from "./dataset.ts";

export type Task = "classification" | "regression";

/** The bandwidth limit a session ran under: a feature only when asked for, always a reporting key. */
export const BANDWIDTH_COLUMN = "bw_limitation_mbps";

/**
 * Session facts of a qoelab dataset that are not network measurements: identifiers, the player's
 * application data, bookkeeping. None can be a feature (bandwidth only on explicit request).
 */
export const NON_NETWORK_COLUMNS: ReadonlySet<string> = new Set([
  "training_id",
  "training_name",
  "session_id",
  "session_name",
  "position",
  "session_duration_s",
  "status",
  "attempts",
  "url",
  "channel",
  "started_at",
  "finished_at",
  "capture_file",
  "capture_size_bytes",
  "application_data",
  "labels",
  // Conditions of trace-driven sessions (what the link was asked and did), not measurements of the capture.
  "trace",
  "trace_offset_s",
  "trace_scale",
  "trace_group",
  "content",
  "link_offered_mbps",
  "link_delivered_mbps",
]);

/** Short names the CLI and web accept for grouping columns. */
export const GROUP_ALIASES: Readonly<Record<string, string>> = {
  training: "training_id",
  session: "session_id",
  bandwidth: BANDWIDTH_COLUMN,
  bw: BANDWIDTH_COLUMN,
};

/** How a one-hot encoded column became indicator features `column=value`. */
export interface OneHotColumn {
  column: string;
  values: string[];
}

/** Which columns make the features and how (stored in model files, replayed at prediction). */
export interface FeatureSpec {
  /** Feature names in matrix order; one-hot indicators are named `column=value`. */
  features: string[];
  oneHot: OneHotColumn[];
}

export interface PrepareOptions {
  label: string;
  task?: "auto" | Task;
  /** Feature columns or `*` patterns (default: every `net_*` column). */
  features?: readonly string[];
  /** Add `bw_limitation_mbps` to the default features. */
  includeBandwidth?: boolean;
  /** Encode text feature columns as 0/1 indicators instead of refusing them. */
  oneHot?: boolean;
  /** Column whose values keep rows together in grouped cross-validation. */
  group?: string;
}

export interface DesignMatrix extends FeatureSpec {
  label: string;
  task: Task;
  /** Class names in index order (classification); empty for regression. */
  classes: string[];
  /** Row-major n × p, NaN where a value is missing. */
  x: Float64Array;
  /** Class index (classification) or target value (regression). */
  y: Float64Array;
  n: number;
  p: number;
  /** Index in the dataset of each kept row. */
  rowIndex: number[];
  /** Rows left out because their label was missing. */
  droppedRows: number;
  groupColumn: string | null;
  groups: string[] | null;
  /** `bw_limitation_mbps` of each row when the dataset has that column. */
  bandwidth: (number | null)[] | null;
}

function columnValues(dataset: Dataset, index: number): ExportValue[] {
  return dataset.rows.map((r) => r[index] ?? null);
}

/** `stalled` finds `label_stalled`; exact names win. */
export function resolveLabelColumn(dataset: Dataset, label: string): string {
  if (dataset.columns.includes(label)) return label;
  const prefixed = `${LABEL_PREFIX}${label.replaceAll("-", "_")}`;
  if (dataset.columns.includes(prefixed)) return prefixed;
  const candidates = dataset.columns.filter((c) => c.startsWith(LABEL_PREFIX));
  throw new QoelabError(
    "ML_UNKNOWN_LABEL",
    `label "${label}" is not a column of the dataset${candidates.length ? ` (labels: ${candidates.join(", ")})` : ""}`,
    { label, candidates },
  );
}

export function resolveGroupColumn(dataset: Dataset, group: string): string {
  if (dataset.columns.includes(group)) return group;
  const alias = GROUP_ALIASES[group];
  if (alias && dataset.columns.includes(alias)) return alias;
  throw new QoelabError("ML_UNKNOWN_GROUP", `group column "${group}" is not a column of the dataset`, { group });
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
}

/** Why a column may not be a feature, or null when it may. */
export function featureRefusal(column: string, label: string): QoelabError | null {
  if (column === label || column.startsWith(LABEL_PREFIX))
    return new QoelabError(
      "ML_LABEL_LEAKAGE",
      `column "${column}" comes from the player's application data (a label); it can never be a feature`,
      { column },
    );
  if (column === BANDWIDTH_COLUMN) return null; // named explicitly (or --with-bandwidth): that is asking
  if (NON_NETWORK_COLUMNS.has(column))
    return new QoelabError(
      "ML_NOT_NETWORK_FEATURE",
      `column "${column}" is a session fact, not a network measurement; features are net_* columns (and ${BANDWIDTH_COLUMN} on request)`,
      { column },
    );
  return null;
}

/** The feature columns for `options` (before one-hot expansion). */
export function selectFeatureColumns(dataset: Dataset, label: string, options: PrepareOptions): string[] {
  const includeBandwidth = options.includeBandwidth === true;
  let chosen: string[];
  if (options.features && options.features.length > 0) {
    chosen = [];
    for (const pattern of options.features) {
      const matches = pattern.includes("*")
        ? dataset.columns.filter((c) => wildcard(pattern).test(c))
        : dataset.columns.includes(pattern)
          ? [pattern]
          : [];
      if (matches.length === 0)
        throw new QoelabError("ML_UNKNOWN_FEATURE", `feature "${pattern}" matches no column of the dataset`, {
          feature: pattern,
        });
      for (const column of matches) {
        if (pattern.includes("*") && (column === label || column.startsWith(LABEL_PREFIX))) continue;
        if (pattern.includes("*") && column === BANDWIDTH_COLUMN && !includeBandwidth) continue;
        const refusal = featureRefusal(column, label);
        if (refusal) {
          if (pattern.includes("*") && refusal.code === "ML_NOT_NETWORK_FEATURE") continue;
          throw refusal;
        }
        if (!chosen.includes(column)) chosen.push(column);
      }
    }
  } else {
    chosen = dataset.columns.filter((c) => c.startsWith(NETWORK_PREFIX));
    if (chosen.length === 0)
      throw new QoelabError(
        "ML_NO_FEATURES",
        "the dataset has no net_* columns; name the feature columns explicitly (--features)",
        {},
      );
  }
  if (includeBandwidth && !chosen.includes(BANDWIDTH_COLUMN)) {
    if (!dataset.columns.includes(BANDWIDTH_COLUMN))
      throw new QoelabError("ML_UNKNOWN_FEATURE", `--with-bandwidth: the dataset has no ${BANDWIDTH_COLUMN} column`, {
        feature: BANDWIDTH_COLUMN,
      });
    chosen.push(BANDWIDTH_COLUMN);
  }
  return chosen;
}

function labelText(value: ExportValue): string | null {
  if (value === null) return null;
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : null;
  return String(value);
}

function sortClasses(classes: string[]): string[] {
  const numeric = classes.every((c) => Number.isFinite(Number(c)));
  return numeric ? classes.sort((a, b) => Number(a) - Number(b)) : classes.sort();
}

function inferTask(values: ExportValue[]): Task {
  const present = values.filter((v) => v !== null);
  if (!present.every((v) => typeof v === "number")) return "classification";
  const distinct = new Set(present);
  return present.every((v) => Number.isInteger(v)) && distinct.size <= 20 ? "classification" : "regression";
}

/** A numeric value for a feature cell, or null when the cell is text. */
function numericCell(value: ExportValue): number | null {
  if (value === null) return Number.NaN;
  if (typeof value === "number") return Number.isFinite(value) ? value : Number.NaN;
  if (typeof value === "boolean") return value ? 1 : 0;
  return null;
}

/** Builds the feature matrix of `rows` for a fixed feature spec (training or prediction). */
export function buildFeatureMatrix(dataset: Dataset, spec: FeatureSpec, rows?: readonly number[]): Float64Array {
  const rowList = rows ?? dataset.rows.map((_, i) => i);
  const p = spec.features.length;
  const x = new Float64Array(rowList.length * p);
  const index = new Map(dataset.columns.map((c, i) => [c, i]));
  const oneHotOf = new Map(spec.oneHot.map((o) => [o.column, o]));
  spec.features.forEach((feature, j) => {
    const direct = index.get(feature);
    if (direct !== undefined && !oneHotOf.has(feature)) {
      rowList.forEach((r, i) => {
        const value = dataset.rows[r]?.[direct] ?? null;
        const numeric = numericCell(value);
        if (numeric === null)
          throw new QoelabError(
            "ML_NON_NUMERIC_FEATURE",
            `feature "${feature}" holds text ("${String(value).slice(0, 40)}" in row ${r + 1}); features must be numeric (or ask for one-hot encoding)`,
            { feature, row: r + 1 },
          );
        x[i * p + j] = numeric;
      });
      return;
    }
    const eq = feature.indexOf("=");
    const column = eq > 0 ? feature.slice(0, eq) : "";
    const source = index.get(column);
    if (eq > 0 && source !== undefined && oneHotOf.has(column)) {
      const wanted = feature.slice(eq + 1);
      rowList.forEach((r, i) => {
        const value = dataset.rows[r]?.[source] ?? null;
        x[i * p + j] = value === null ? Number.NaN : String(value) === wanted ? 1 : 0;
      });
      return;
    }
    throw new QoelabError("ML_FEATURE_MISMATCH", `the data has no column "${feature}" that the model needs`, {
      feature,
    });
  });
  return x;
}

/** Picks label and features of a dataset and builds the numeric matrices. */
export function prepareData(dataset: Dataset, options: PrepareOptions): DesignMatrix {
  if (dataset.rows.length === 0) throw new QoelabError("ML_EMPTY_DATASET", "the dataset has no rows", {});
  const label = resolveLabelColumn(dataset, options.label);
  if (label.startsWith(NETWORK_PREFIX))
    throw new QoelabError("ML_BAD_LABEL", `"${label}" is a network feature, not a label`, { label });
  const labelIndex = dataset.columns.indexOf(label);
  const labelValues = columnValues(dataset, labelIndex);
  const rowIndex: number[] = [];
  labelValues.forEach((v, i) => {
    if (labelText(v) !== null) rowIndex.push(i);
  });
  const droppedRows = dataset.rows.length - rowIndex.length;
  if (rowIndex.length === 0)
    throw new QoelabError("ML_EMPTY_LABEL", `label "${label}" is missing in every row`, { label });
  const kept = rowIndex.map((i) => labelValues[i]!);
  const task = !options.task || options.task === "auto" ? inferTask(kept) : options.task;
  const distinct = new Set(kept.map(labelText));
  if (distinct.size < 2)
    throw new QoelabError(
      "ML_CONSTANT_LABEL",
      `label "${label}" has the single value ${[...distinct][0]} in all ${kept.length} rows: nothing to learn`,
      { label, value: [...distinct][0] },
    );

  const featureColumns = selectFeatureColumns(dataset, label, options);
  const oneHot: OneHotColumn[] = [];
  const features: string[] = [];
  for (const column of featureColumns) {
    const index = dataset.columns.indexOf(column);
    const textRow = rowIndex.find((r) => typeof dataset.rows[r]?.[index] === "string");
    if (textRow === undefined) {
      features.push(column);
      continue;
    }
    if (!options.oneHot)
      throw new QoelabError(
        "ML_NON_NUMERIC_FEATURE",
        `feature "${column}" holds text ("${String(dataset.rows[textRow]![index]).slice(0, 40)}" in row ${textRow + 1}); features must be numeric (or ask for one-hot encoding)`,
        { feature: column, row: textRow + 1 },
      );
    const values = [...new Set(rowIndex.map((r) => dataset.rows[r]?.[index] ?? null).filter((v) => v !== null))].map(
      String,
    );
    values.sort();
    oneHot.push({ column, values });
    for (const v of values) features.push(`${column}=${v}`);
  }
  const spec: FeatureSpec = { features, oneHot };
  const x = buildFeatureMatrix(dataset, spec, rowIndex);

  let classes: string[] = [];
  const y = new Float64Array(rowIndex.length);
  if (task === "classification") {
    classes = sortClasses([...distinct].filter((c): c is string => c !== null));
    const classIndex = new Map(classes.map((c, i) => [c, i]));
    kept.forEach((v, i) => {
      y[i] = classIndex.get(labelText(v)!)!;
    });
  } else {
    kept.forEach((v, i) => {
      const numeric = typeof v === "number" ? v : typeof v === "boolean" ? Number(v) : Number.NaN;
      if (!Number.isFinite(numeric))
        throw new QoelabError(
          "ML_NON_NUMERIC_LABEL",
          `label "${label}" holds "${String(v)}" in row ${rowIndex[i]! + 1}; regression needs numbers`,
          { label, row: rowIndex[i]! + 1 },
        );
      y[i] = numeric;
    });
  }

  let groupColumn: string | null = null;
  let groups: string[] | null = null;
  if (options.group) {
    groupColumn = resolveGroupColumn(dataset, options.group);
    const gi = dataset.columns.indexOf(groupColumn);
    groups = rowIndex.map((r) => {
      const v = dataset.rows[r]?.[gi] ?? null;
      return v === null ? "(missing)" : String(v);
    });
  }
  const bwIndex = dataset.columns.indexOf(BANDWIDTH_COLUMN);
  const bandwidth =
    bwIndex >= 0
      ? rowIndex.map((r) => {
          const v = dataset.rows[r]?.[bwIndex] ?? null;
          return typeof v === "number" && Number.isFinite(v) ? v : null;
        })
      : null;
  return {
    label,
    task,
    classes,
    features,
    oneHot,
    x,
    y,
    n: rowIndex.length,
    p: features.length,
    rowIndex,
    droppedRows,
    groupColumn,
    groups,
    bandwidth,
  };
}
