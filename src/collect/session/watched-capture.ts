import type { Capture } from "../../capture/index.ts";
import type { OperatorCapture } from "../operator/lab-operator.ts";

/**
 * A session's capture as the orchestrator sees it: tcpdump ending before "finish" asked it to
 * (killed, failed) is remembered and reported by `stop()` as `diedEarly`.
 */
export function watchedCapture(capture: Capture): OperatorCapture {
  let stopping = false;
  let diedEarly: string | undefined;
  void capture.exited.then((result) => {
    if (!stopping) diedEarly = `tcpdump ended during the session: ${result.stderr.trim().split("\n").pop() ?? ""}`;
  });
  return {
    file: capture.file,
    pid: capture.pid,
    async stop() {
      // Read before stopping: once we ask, its end is no longer a death.
      const died = diedEarly;
      stopping = true;
      const result = await capture.stop();
      return { packets: result.packets, ...(died ? { diedEarly: died } : {}) };
    },
  };
}
