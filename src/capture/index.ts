export type { Capture, CaptureOptions, CaptureResult } from "./tcpdump.ts";
export { startCapture } from "./tcpdump.ts";
