import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Capture, startCapture } from "../capture/index.ts";
import { QoelabError } from "../errors.ts";
import type { LossModelSpec, ReplayResult } from "../generator/index.ts";
import { type Lab, labHost, nodeModuleCommand } from "../netlab/index.ts";
import type { ReplayJob } from "./experiment-replay-main.ts";
import { Softphone } from "./softphone.ts";

/*
 * One condition's media across the lab: either a live call (caller alice on the client plays the
 * speech to callee bob on the server, who answers automatically), or the replay of one captured
 * RTP stream from the client to the server. Either way tcpdump runs in the server's namespace, so
 * the capture holds only what crossed the impaired router.
 */

export interface ConditionMedia {
  pcap: string;
  mode: "call" | "replay";
  callerAddress: string;
  calleeAddress: string;
  /** Live calls: what each phone's decoder produced (sndfile), and its log. */
  calleeReceived?: string;
  callerReceived?: string;
  logs: string[];
  /** Replay mode: the replayer's report (generator-side drops included). */
  replay?: ReplayResult;
  capturedPackets: number;
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new QoelabError("EXPERIMENT_ABORTED", "experiment interrupted");
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Captures every interface of the server's namespace ("any"): a userspace link emulator reroutes the
 * link through a TUN device, so the packets may arrive on the veth or on the TUN — never on both.
 */
async function captureOnCallee(lab: Lab, pcap: string): Promise<Capture> {
  const server = labHost(lab, "server");
  return startCapture({ netns: server.netns, iface: "any", filter: "udp", file: pcap });
}

export interface LiveCallOptions {
  /** Working directory of this condition (softphone configs, recordings, logs). */
  dir: string;
  pcap: string;
  /** 8 kHz mono 16-bit WAV the caller plays, and what the callee plays back. */
  callerSource: string;
  calleeSource: string;
  seconds: number;
  codec: "pcmu" | "pcma";
  signal?: AbortSignal;
}

export async function runLiveCall(lab: Lab, options: LiveCallOptions): Promise<ConditionMedia> {
  const client = labHost(lab, "client");
  const server = labHost(lab, "server");
  mkdirSync(options.dir, { recursive: true });
  const callee = new Softphone({
    netns: server.netns,
    user: "bob",
    address: server.address,
    dir: join(options.dir, "callee"),
    codec: options.codec,
    source: options.calleeSource,
  });
  const caller = new Softphone({
    netns: client.netns,
    user: "alice",
    address: client.address,
    dir: join(options.dir, "caller"),
    codec: options.codec,
    source: options.callerSource,
  });
  let capture: Capture | undefined;
  let capturedPackets = 0;
  try {
    capture = await captureOnCallee(lab, options.pcap);
    await callee.start();
    aborted(options.signal);
    await caller.start({ dial: callee.uri });
    await caller.waitEstablished();
    await sleep(options.seconds * 1000, options.signal);
    aborted(options.signal);
    caller.hangup();
    // A BYE lost on the impaired link is retransmitted by SIP (T1 = 500 ms, doubling).
    await callee.waitTerminated(20_000);
    // Let the last RTCP BYE and the 200 OK reach the capture.
    await sleep(300);
    await Promise.all([caller.quit(), callee.quit()]);
    capturedPackets = (await capture.stop()).packets;
    capture = undefined;
  } finally {
    caller.kill();
    callee.kill();
    if (capture) await capture.stop().catch(() => undefined);
  }
  const calleeRec = callee.recordings();
  const callerRec = caller.recordings();
  return {
    pcap: options.pcap,
    mode: "call",
    callerAddress: client.address,
    calleeAddress: server.address,
    ...(calleeRec.received ? { calleeReceived: calleeRec.received } : {}),
    ...(callerRec.received ? { callerReceived: callerRec.received } : {}),
    logs: [caller.logFile, callee.logFile],
    capturedPackets,
  };
}

export interface ReplayConditionOptions {
  pcap: string;
  /** The recorded call and the stream in it to replay. */
  capture: string;
  ssrc: number;
  /** Destination port on the server (the stream's original port). */
  port: number;
  /** Generator-side seeded loss (instead of, or on top of, the link's). */
  loss?: LossModelSpec;
  seed?: number;
  signal?: AbortSignal;
}

/** Replays one RTP stream from the client to the server (in the client's namespace). */
export async function runReplayCondition(lab: Lab, options: ReplayConditionOptions): Promise<ConditionMedia> {
  const client = labHost(lab, "client");
  const server = labHost(lab, "server");
  const job: ReplayJob = {
    capture: options.capture,
    ssrc: options.ssrc,
    host: server.address,
    port: options.port,
    ...(options.loss && options.loss.kind !== "none" ? { loss: options.loss } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  };
  const main = new URL(
    import.meta.url.endsWith(".ts") ? "./experiment-replay-main.ts" : "./experiment-replay-main.js",
    import.meta.url,
  );
  let capture: Capture | undefined;
  let capturedPackets = 0;
  let replay: ReplayResult;
  try {
    capture = await captureOnCallee(lab, options.pcap);
    const child = client.spawn(nodeModuleCommand(main, [JSON.stringify(job)]), { stdio: ["ignore", "pipe", "pipe"] });
    const onAbort = () => child.kill("SIGTERM");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    let out = "";
    let err = "";
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString("utf8");
    });
    child.stderr?.on("data", (c: Buffer) => {
      err += c.toString("utf8");
    });
    const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
    options.signal?.removeEventListener("abort", onAbort);
    aborted(options.signal);
    const line = out.trim().split("\n").pop() ?? "";
    let parsed: { error?: { code: string; message: string } } & Partial<ReplayResult>;
    try {
      parsed = JSON.parse(line) as typeof parsed;
    } catch {
      throw new QoelabError(
        "EXPERIMENT_REPLAY_FAILED",
        `replay of ${options.capture} in ${client.netns} failed (exit ${code}): ${err.trim().slice(-800)}`,
      );
    }
    if (parsed.error) throw new QoelabError(parsed.error.code, parsed.error.message, { capture: options.capture });
    replay = parsed as ReplayResult;
    await sleep(200);
    capturedPackets = (await capture.stop()).packets;
    capture = undefined;
  } finally {
    if (capture) await capture.stop().catch(() => undefined);
  }
  return {
    pcap: options.pcap,
    mode: "replay",
    callerAddress: client.address,
    calleeAddress: server.address,
    logs: [],
    replay,
    capturedPackets,
  };
}
