import { type ChildProcess, spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import { QoelabError } from "../errors.ts";

export interface CaptureOptions {
  /** Capture inside this network namespace (lab host). */
  netns?: string;
  iface: string;
  /** pcap-filter(7) expression, e.g. "udp port 5000". */
  filter?: string;
  /** Output pcap file. */
  file: string;
  snaplen?: number;
  /** Deliver packets as they arrive (tcpdump --immediate-mode); default true. */
  immediate?: boolean;
  /** Give up waiting for "listening on" after this long; default 10 s. */
  startTimeoutMs?: number;
  /** Kernel capture buffer (tcpdump -B), KiB; default 16384 so bursts are not dropped. */
  bufferKiB?: number;
  /** Write nanosecond timestamps (pcap magic 0xa1b23c4d) instead of microseconds. */
  nanoseconds?: boolean;
  /** Stop by itself after this many packets (tcpdump -c), as Scapy's sniff(count=N). */
  count?: number;
  /** tcpdump executable (default "tcpdump" on PATH). */
  tcpdump?: string;
}

export interface CaptureResult {
  file: string;
  /** Packets tcpdump captured, i.e. wrote to the file. */
  packets: number;
  /** Packets that matched the filter (may exceed `packets` when the kernel dropped some). */
  received: number;
  /** Packets dropped by the kernel because tcpdump's buffer was full. */
  dropped: number;
  stderr: string;
}

export interface Capture {
  readonly file: string;
  readonly pid: number;
  /** Stops tcpdump with SIGINT and waits until every captured packet is written. */
  stop(): Promise<CaptureResult>;
  /** Resolves when tcpdump exits for any reason (stop, or an unexpected failure). */
  readonly exited: Promise<CaptureResult>;
}

function parseCounts(stderr: string): { packets: number; received: number; dropped: number } {
  const num = (re: RegExp) => {
    const m = re.exec(stderr);
    return m ? Number(m[1]) : 0;
  };
  return {
    packets: num(/(\d+) packets? captured/),
    received: num(/(\d+) packets? received by filter/),
    dropped: num(/(\d+) packets? dropped by kernel/),
  };
}

/** Waits until `file` has not grown for three checks in a row (≤ 5 s). */
async function settle(file: string, gone: () => boolean): Promise<void> {
  let last = -1;
  let stable = 0;
  const deadline = Date.now() + 5000;
  while (stable < 3 && Date.now() < deadline && !gone()) {
    let size = 0;
    try {
      size = (await stat(file)).size;
    } catch {
      size = 0;
    }
    stable = size === last ? stable + 1 : 0;
    last = size;
    await new Promise((r) => setTimeout(r, 40));
  }
}

function missingTcpdump(cause?: unknown): QoelabError {
  return new QoelabError(
    "CAPTURE_TOOL_MISSING",
    'tcpdump: not found on PATH (Debian/Ubuntu package "tcpdump": apt-get install tcpdump)',
    { tool: "tcpdump", package: "tcpdump" },
    { cause },
  );
}

/**
 * Starts tcpdump writing `file` packet by packet (-U, immediate mode); resolves once tcpdump says
 * it is listening, so nothing sent afterwards is missed.
 */
export function startCapture(options: CaptureOptions): Promise<Capture> {
  const tcpdump = options.tcpdump ?? "tcpdump";
  const args = [
    "-i",
    options.iface,
    "-w",
    options.file,
    "-U",
    "-n",
    "-s",
    String(options.snaplen ?? 262144),
    // Stay root so the file can be written wherever the caller asked (Debian drops to "tcpdump").
    "-Z",
    "root",
    "-B",
    String(options.bufferKiB ?? 16384),
  ];
  if (options.immediate ?? true) args.push("--immediate-mode");
  if (options.count !== undefined) args.push("-c", String(options.count));
  if (options.nanoseconds) args.push("--time-stamp-precision=nano");
  // "--" ends the options: a filter can never be read as one (e.g. "-w FILE" of root's tcpdump).
  if (options.filter) args.push("--", options.filter);
  const argv = options.netns ? ["ip", "netns", "exec", options.netns, tcpdump, ...args] : [tcpdump, ...args];
  const where = `${options.netns ? `${options.netns}:` : ""}${options.iface}`;

  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      // Own process group: a Ctrl-C in the terminal reaches us, not tcpdump, so stop() can let it
      // drain its socket first. If we exit without stopping it, it is killed with us.
      child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "ignore", "pipe"], detached: true });
    } catch (error) {
      reject(error);
      return;
    }
    let stderr = "";
    let listening = false;
    let exitResult: CaptureResult | undefined;
    let resolveExit!: (r: CaptureResult) => void;
    const exited = new Promise<CaptureResult>((r) => {
      resolveExit = r;
    });
    const timer = setTimeout(() => {
      if (listening) return;
      child.kill("SIGKILL");
      reject(
        new QoelabError("CAPTURE_START_FAILED", `tcpdump on ${where}: no "listening on" within the start timeout`, {
          iface: options.iface,
          netns: options.netns,
          stderr,
        }),
      );
    }, options.startTimeoutMs ?? 10_000);
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      stderr += chunk;
      if (!listening && /listening on /.test(stderr)) {
        listening = true;
        clearTimeout(timer);
        resolve(capture);
      }
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === "ENOENT") reject(argv[0] === tcpdump ? missingTcpdump(error) : error);
      else
        reject(new QoelabError("CAPTURE_START_FAILED", `tcpdump on ${where}: ${error.message}`, {}, { cause: error }));
    });
    const killOnExit = () => child.kill("SIGINT");
    process.once("exit", killOnExit);
    child.on("close", () => {
      process.off("exit", killOnExit);
      clearTimeout(timer);
      exitResult = { file: options.file, ...parseCounts(stderr), stderr };
      resolveExit(exitResult);
      if (!listening) {
        if (/exec of ".*" failed: No such file or directory/.test(stderr)) reject(missingTcpdump());
        else {
          reject(
            new QoelabError(
              "CAPTURE_START_FAILED",
              `tcpdump on ${where} failed to start: ${stderr.trim().split("\n").pop() ?? "no output"}`,
              { iface: options.iface, netns: options.netns, stderr },
            ),
          );
        }
      }
    });
    const capture: Capture = {
      file: options.file,
      pid: child.pid ?? 0,
      exited,
      async stop() {
        if (!exitResult) {
          // On SIGINT tcpdump stops reading at once: packets still queued in its socket would be
          // lost. Wait until the file (written packet by packet with -U) stops growing first.
          await settle(options.file, () => exitResult !== undefined);
          // tcpdump flushes the file and prints its counters on SIGINT.
          child.kill("SIGINT");
        }
        const result = await exited;
        return result;
      },
    };
  });
}
