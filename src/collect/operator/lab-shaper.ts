import { impair, impairClear, type Lab, startLinkEmulator, targetOf } from "../../netlab/index.ts";
import { rotateTrace } from "../origin/trace-library.ts";
import { scaleTrace } from "../origin/trace-scale.ts";
import { impairmentOf, type TrainingRow } from "../training/training-store.ts";
import type { LinkShaper, RunningTraceLink, TraceLinkRequest, TraceLinkResult } from "./lab-operator.ts";

/** Loss goes to the link emulator, whose random choices follow the seed (iptables' do not). */
const SEEDED_LOSS = { prefer: ["emulator"] };

/**
 * Shapes what the router sends to the client (the video's downstream) with the lab's impairment
 * backends: tbf for the rate (netem where the kernel has it), so the client's capture sees only
 * delivered packets. A training's delay and loss ride along on the same target (the link emulator
 * serves delay where the kernel has no netem, and a training's loss with its rate).
 */
export const labShaper: LinkShaper = {
  async shape(lab: Lab, mbps: number, training: TrainingRow): Promise<string> {
    const extra = impairmentOf(training);
    const result = await impair(
      targetOf(lab, "router:client-side"),
      {
        rate: Math.round(mbps * 1_000_000),
        ...(extra.delay !== undefined ? { delay: extra.delay } : {}),
        ...(extra.loss !== undefined ? { loss: { kind: "bernoulli", p: extra.loss } } : {}),
        ...(extra.limit !== undefined ? { limit: extra.limit } : {}),
        // One training's sessions drop the same way at the same position in their traffic.
        ...(extra.loss !== undefined ? { seed: training.seed } : {}),
      },
      extra.loss !== undefined ? SEEDED_LOSS : {},
    );
    return result.assignments.map((a) => `${a.option} ${a.value} by ${a.backend}`).join(", ");
  },
  async clear(lab: Lab): Promise<void> {
    await impairClear(lab.name);
  },
};

/** Delivery opportunities a trace session's queue holds (droptail, packets): 150 kB, ~1.2 s at 1 Mbit/s. */
export const TRACE_QUEUE_PACKETS = 100;

/**
 * A trace session's downstream: the link emulator on router → client replays the trace from the
 * session's offset (Mahimahi's rules), with the training's delay and seeded Bernoulli loss, a droptail
 * queue of TRACE_QUEUE_PACKETS, and a 1 s rate window in its summary (the per-second delivered rate).
 */
export async function startTraceLink(
  lab: Lab,
  request: TraceLinkRequest,
  training: TrainingRow,
): Promise<RunningTraceLink> {
  const extra = impairmentOf(training);
  const scale = extra.traceScale ?? 1;
  const text = rotateTrace(scaleTrace(request.text, scale, request.trace), request.offsetS * 1000, request.trace);
  const em = await startLinkEmulator({
    lab,
    link: "router:client-side",
    spec: {
      egress: {
        trace: { text, name: `${request.trace}${scale === 1 ? "" : `×${scale}`}@${request.offsetS}s` },
        queue: { packets: TRACE_QUEUE_PACKETS },
        ...(extra.delay !== undefined ? { delay: extra.delay } : {}),
        ...(extra.loss !== undefined ? { loss: { kind: "bernoulli" as const, p: extra.loss } } : {}),
      },
      seed: training.seed,
    },
    outDir: request.outDir,
    log: "none",
    windowMs: 1000,
    // A collection on a busy machine (two slots, chromium decoding) may start it slowly.
    readyTimeoutMs: 90_000,
  });
  const epochUnixMs = em.epochRealtimeUs / 1000;
  const applied = `trace ${request.trace} from ${request.offsetS} s${extra.delay !== undefined ? `, delay ${extra.delay * 1000} ms` : ""}${extra.loss !== undefined ? `, loss ${extra.loss * 100} %` : ""} by emulator pid ${em.pid}`;
  let stopped: Promise<TraceLinkResult> | undefined;
  return {
    epochUnixMs,
    applied,
    stop() {
      stopped ??= em.stop().then((summary) => {
        const direction = summary.directions.find((d) => d.name === em.directions[0]) ?? summary.directions[0];
        const windows = direction?.achieved.rate.windows ?? [];
        return {
          trace: request.trace,
          offsetS: request.offsetS,
          epochUnixMs,
          deliveredMbps: windows.map((w) => w.mbps),
          offeredMbps: windows.map((w) => w.askedMbps ?? 0),
          ...(windows.every((w) => w.idleMbps !== undefined) ? { idleMbps: windows.map((w) => w.idleMbps ?? 0) } : {}),
          drops: direction?.achieved.drops ?? {},
        };
      });
      return stopped;
    },
  };
}
