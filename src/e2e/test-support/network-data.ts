import assert from "node:assert/strict";
import { sessionNetworkData } from "../../collect/index.ts";
import { analyzeCaptureFile, type FlowResult } from "../../flows/index.ts";
import type { Lab } from "../../netlab/index.ts";
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

/** Asserts that the stored network data is what its capture gives again; returns the recomputation. */
export async function assertNetworkDataRecomputes(captureFile: string, stored: unknown): Promise<Analysis> {
  const recomputed = await recomputeNetworkData(captureFile, stored);
  assert.deepEqual(stored, recomputed);
  return recomputed;
}

/** The flows whose server is `serverAddress` (where the video came from); asserts there are some. */
export function flowsFromServer(analysis: Analysis, serverAddress: string): FlowResult[] {
  const flows = analysis.flows.filter((f) => "server" in f && f.server.address === serverAddress);
  assert.ok(flows.length > 0, JSON.stringify(analysis.flows.map((f) => ("server" in f ? [f.client, f.server] : f))));
  return flows;
}

/**
 * A person's session: the capture holds the video from the lab's server (the origin's port 8080) to
 * this host's end of the lab's uplink, where the person's browser runs.
 */
export function assertVideoToUplinkHost(analysis: Analysis, lab: Lab): void {
  const video = flowsFromServer(analysis, lab.hosts.server.address);
  assert.ok(
    video.some((f) => f.server.port === 8080 && f.client.address === lab.uplink?.hostAddress),
    JSON.stringify(video.map((f) => [f.client, f.server])),
  );
}
