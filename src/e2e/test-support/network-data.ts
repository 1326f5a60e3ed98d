import { sessionNetworkData } from "../../collect/index.ts";
import { analyzeCaptureFile } from "../../flows/index.ts";
import { forEachPacket } from "../../packet/index.ts";

type Analysis = Awaited<ReturnType<typeof analyzeCaptureFile>>;

/**
 * A session's network data computed again from its pcap alone, as the collection stores it: the whole
 * capture, and (when the session recorded a window after the warm-up) that window's features, the
 * window's start taken from what was stored (seconds from the capture's first packet).
 */
export async function recomputeNetworkData(captureFile: string, stored: unknown): Promise<Analysis> {
  const startS = (stored as { window?: { record_start_s?: number | null } } | null)?.window?.record_start_s;
  if (typeof startS !== "number")
    return JSON.parse(JSON.stringify(await analyzeCaptureFile(captureFile, { features: true, workers: 1 })));
  let first = Number.NaN;
  await forEachPacket(captureFile, (record) => {
    if (Number.isNaN(first)) first = record.tsSec + record.tsNsec / 1e9;
  });
  return JSON.parse(JSON.stringify(await sessionNetworkData(captureFile, (first + startS) * 1000)));
}
