import { QoelabError } from "../errors.ts";
import { analyzeCaptureFile, type CaptureFeatures, createFlowEngine, type FlowEngine } from "../flows/index.ts";
import { forEachPacket } from "../packet/index.ts";
import type { Dataset, ExportValue } from "./dataset.ts";
import { BANDWIDTH_COLUMN } from "./design-matrix.ts";
import type { FittedModel } from "./model.ts";
import { type ModelFile, predictRows } from "./model-file.ts";

/**
 * QoE from a capture alone: the capture goes through the flow engine with the settings the
 * collection uses (`features: true`, TCP only as the collection's capture filter is "tcp"), its
 * capture-level features become the `net_*` columns a collected dataset holds, and the model
 * predicts the session. Per window, the packets of each window go through a fresh engine so each
 * window is described by exactly the same feature definitions (over a shorter span: counts such as
 * `net_flows` or `net_chunk_count` scale with the window, rates and sizes do not).
 */
export interface CaptureFeatureOptions {
  /** Window length (s) for per-window predictions; 0 or absent = none. */
  windowSeconds?: number;
  /**
   * Windows begin this many seconds after the capture's first packet (a collected session's
   * `network_data.window.record_start_s`: its recorded window after the warm-up); packets before are
   * left out of the windows. Default 0.
   */
  startS?: number;
  protocols?: "tcp" | "udp" | "both";
}

export interface WindowFeatures {
  index: number;
  /** Seconds from the first packet of the capture. */
  startS: number;
  endS: number;
  packets: number;
  /** The capture ended inside this window (its last packet is before endS − 1 s): shorter than the others. */
  partial: boolean;
  features: CaptureFeatures;
}

export interface CaptureFeatureRows {
  session: CaptureFeatures;
  windows: WindowFeatures[];
}

/** Network columns of a dataset row, named as `buildDataset` names them (`net_` + feature). */
export function networkRow(features: CaptureFeatures): Map<string, ExportValue> {
  const row = new Map<string, ExportValue>();
  for (const [key, value] of Object.entries(features))
    row.set(`net_${key}`, typeof value === "number" && Number.isFinite(value) ? value : null);
  return row;
}

/** A dataset from feature rows (columns: the union of names, first-seen order). */
export function datasetFromFeatureRows(rows: readonly Map<string, ExportValue>[]): Dataset {
  const columns: string[] = [];
  const seen = new Set<string>();
  for (const row of rows)
    for (const key of row.keys())
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
  return { columns, rows: rows.map((r) => columns.map((c) => r.get(c) ?? null)) };
}

/** Session features (as the collection stores them) and, optionally, per-window features. */
export async function captureFeatureRows(
  path: string,
  options: CaptureFeatureOptions = {},
): Promise<CaptureFeatureRows> {
  const protocols = options.protocols ?? "tcp";
  const from = options.startS ?? 0;
  // With a start, the session is the recorded window only, as the collection's net_* columns are.
  let firstSeen = Number.NaN;
  const whole = await analyzeCaptureFile(path, {
    features: true,
    workers: 1,
    protocols,
    ...(from > 0
      ? {
          filter: {
            matches(record) {
              const t = record.tsSec + record.tsNsec / 1e9;
              if (Number.isNaN(firstSeen)) firstSeen = t;
              return t >= firstSeen + from;
            },
          },
        }
      : {}),
  });
  if (!whole.features || whole.capture.packets === 0)
    throw new QoelabError("ML_EMPTY_CAPTURE", `${path}: the capture holds no packet to describe`, { file: path });
  const windows: WindowFeatures[] = [];
  const windowSeconds = options.windowSeconds ?? 0;
  if (windowSeconds > 0) {
    let engine: FlowEngine | null = null;
    let current = -1;
    let first = Number.NaN;
    let last = Number.NaN;
    let packets = 0;
    const startS = options.startS ?? 0;
    const close = () => {
      if (!engine) return;
      const result = engine.finish();
      windows.push({
        index: current,
        startS: startS + current * windowSeconds,
        endS: startS + (current + 1) * windowSeconds,
        packets,
        partial: false,
        features: result.features ?? {},
      });
      engine = null;
    };
    await forEachPacket(
      path,
      (record) => {
        const t = record.tsSec + record.tsNsec / 1e9;
        if (Number.isNaN(first)) first = t;
        last = t;
        if (t - first < startS) return;
        const index = Math.max(0, Math.floor((t - first - startS) / windowSeconds));
        if (index !== current) {
          close();
          current = index;
          packets = 0;
          engine = createFlowEngine({ features: true, protocols });
        }
        engine!.push(record);
        packets++;
      },
      { tolerateTruncatedTail: true },
    );
    close();
    // The last window is partial when the capture ends more than a second before its end.
    const tail = windows.at(-1);
    if (tail && last - first < tail.endS - 1) tail.partial = true;
  }
  return { session: whole.features, windows };
}

export interface CapturePredictOptions extends CaptureFeatureOptions {
  /** Bandwidth limit to give a model trained with `bw_limitation_mbps` as a feature. */
  bandwidthMbps?: number;
}

export interface WindowPrediction {
  index: number;
  startS: number;
  endS: number;
  packets: number;
  partial: boolean;
  prediction: string | number;
  probabilities?: Record<string, number>;
}

export interface CapturePrediction {
  capture: string;
  label: string;
  model: ModelFile["kind"];
  session: { prediction: string | number; probabilities?: Record<string, number> };
  windowSeconds: number | null;
  windows: WindowPrediction[];
}

/** Predicts the model's label for a capture: once for the whole session, and per window. */
export async function predictCapture(
  model: { file: ModelFile; fitted: FittedModel },
  path: string,
  options: CapturePredictOptions = {},
): Promise<CapturePrediction> {
  const rows = await captureFeatureRows(path, options);
  const toRow = (features: CaptureFeatures) => {
    const row = networkRow(features);
    if (options.bandwidthMbps !== undefined) row.set(BANDWIDTH_COLUMN, options.bandwidthMbps);
    return row;
  };
  const dataset = datasetFromFeatureRows([toRow(rows.session), ...rows.windows.map((w) => toRow(w.features))]);
  const predictions = predictRows(model, dataset);
  const [session, ...perWindow] = predictions;
  return {
    capture: path,
    label: model.file.label,
    model: model.file.kind,
    session: {
      prediction: session!.prediction,
      ...(session!.probabilities ? { probabilities: session!.probabilities } : {}),
    },
    windowSeconds: options.windowSeconds ?? null,
    windows: rows.windows.map((w, i) => ({
      index: w.index,
      startS: w.startS,
      endS: w.endS,
      packets: w.packets,
      partial: w.partial,
      prediction: perWindow[i]!.prediction,
      ...(perWindow[i]!.probabilities ? { probabilities: perWindow[i]!.probabilities } : {}),
    })),
  };
}
