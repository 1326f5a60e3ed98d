import { analyzeCaptureFile } from "../../flows/index.ts";

/**
 * A session's network data from its capture, which runs from before the player opened its
 * connections (so every flow has its handshake, as tstat would log it) to "finish":
 *
 * - the whole capture's flows and statistics, with its capture-level features as `session_features`;
 * - `features`: the capture-level features of the recorded window only (packets from the player's
 *   "start", after the warm-up, on), the columns a dataset's `net_*` come from;
 * - `window`: where that window lies, in seconds from the capture's first packet.
 */
export async function sessionNetworkData(
  captureFile: string,
  recordStartUnixMs: number | undefined,
): Promise<Record<string, unknown>> {
  const whole = await analyzeCaptureFile(captureFile, { features: true, workers: 1 });
  const data = whole as unknown as Record<string, unknown>;
  if (recordStartUnixMs === undefined) return data;
  const startS = recordStartUnixMs / 1000;
  let first = Number.NaN;
  let last = Number.NaN;
  let windowPackets = 0;
  const windowed = await analyzeCaptureFile(captureFile, {
    features: true,
    workers: 1,
    filter: {
      matches(record) {
        const t = record.tsSec + record.tsNsec / 1e9;
        if (Number.isNaN(first)) first = t;
        last = t;
        if (t < startS) return false;
        windowPackets++;
        return true;
      },
    },
  });
  return {
    ...data,
    features: windowed.features ?? {},
    session_features: whole.features ?? {},
    window: {
      record_start_s: Number.isNaN(first) ? null : Math.round((startS - first) * 1e6) / 1e6,
      capture_span_s: Number.isNaN(first) ? null : Math.round((last - first) * 1e6) / 1e6,
      packets: windowPackets,
      flows_in_window: windowed.flows?.length ?? null,
    },
  };
}
