import { isQoelabError } from "../errors.ts";
import { analyzeCaptureFile } from "../flows/index.ts";
import { captureInfo } from "../packet/index.ts";

/** What `pcap info` and `flows` made of one file: a packet count, or the code of a refusal. */
export interface WalkResult {
  file: string;
  infoPackets: number | null;
  infoCode: string | null;
  flowsPackets: number | null;
  flowsCode: string | null;
  /** A failure that is not a QoelabError (a crash), with its message. */
  crash: string | null;
  ms: number;
}

/** Runs `pcap info` and `flows` (series and features on, one thread) on one capture, in-process. */
export async function walkFile(root: string, file: string): Promise<WalkResult> {
  const path = `${root}/${file}`;
  const result: WalkResult = {
    file,
    infoPackets: null,
    infoCode: null,
    flowsPackets: null,
    flowsCode: null,
    crash: null,
    ms: 0,
  };
  const started = performance.now();
  try {
    try {
      result.infoPackets = (await captureInfo(path)).packets;
    } catch (error) {
      if (!isQoelabError(error)) throw error;
      result.infoCode = error.code;
    }
    try {
      const flows = await analyzeCaptureFile(path, { workers: 1, series: true, features: true });
      JSON.stringify(flows);
      result.flowsPackets = flows.capture.packets;
    } catch (error) {
      if (!isQoelabError(error)) throw error;
      result.flowsCode = error.code;
    }
  } catch (error) {
    result.crash = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  result.ms = performance.now() - started;
  return result;
}
