import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { writeWav } from "../audio/index.ts";
import { QoelabError } from "../errors.ts";
import { formatLossModel, type LossModelSpec, readTelephoneWav } from "../generator/index.ts";
import { impairShow, type Lab, labDown, labStatus, labUp } from "../netlab/index.ts";
import {
  buildExperimentReport,
  EXPERIMENT_FORMAT,
  type ExperimentCondition,
  type ExperimentFile,
  writeExperimentReport,
} from "../quality/report/index.ts";
import { scoreCondition } from "./experiment-analysis.ts";
import { type ConditionMedia, runLiveCall, runReplayCondition } from "./experiment-call.ts";
import { applyLinkImpairment, clearLinkImpairment, IMPAIRED_LINK, linkDropCount } from "./experiment-impairment.ts";
import { chooseReplayStream } from "./experiment-replay-stream.ts";
import { conditionId, lossModelFor, type VoipExperimentSpec, validateLossModel } from "./experiment-spec.ts";
import { extractRtpToWav } from "./rtp-extract.ts";
import { requireBaresip } from "./softphone.ts";

/*
 * `qoelab experiment voip`: a client — router — server lab; for each loss level the router's egress
 * towards the server drops packets (FORWARD path), two baresip softphones call across it (the caller
 * on the client plays the speech), tcpdump on the server records what arrived; each capture is
 * analysed, its audio extracted and scored (E-model, PESQ), and the folder of
 * docs/experiment-folder.md is written with its report. `replay` re-sends one recorded stream at each
 * level instead of calling. Whatever happens, the impairment is cleared and a lab this run brought up
 * is taken down again.
 */

export interface VoipExperimentOptions {
  /** The speech the caller plays (converted to 8 kHz mono when that is unambiguous). */
  wav?: string;
  /** Loss levels in percent. */
  lossPercents: number[];
  lossModel?: string;
  delayMs?: number;
  seed?: number;
  /** Talk time per call, s (default: the speech's length + 1 s). */
  seconds?: number;
  out: string;
  /** Replay this recorded call's stream at each level instead of calling. */
  replay?: string;
  replaySsrc?: number;
  codec?: "pcmu" | "pcma";
  /** Lab name (default "voip"). */
  lab?: string;
  /** Compute PESQ (default true). */
  pesq?: boolean;
  /** Write report/ (default true). */
  report?: boolean;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface VoipConditionRecord extends ExperimentCondition {
  realizedLossPercent: number;
  lossBackend: string;
  /** True when the same seed reproduces the same drops. */
  seededLoss: boolean;
  /** Packets the link's loss backend dropped (all kinds: RTP, RTCP, SIP), when it reports it. */
  droppedByLink: number | null;
  /** Replay mode with a seed: RTP sequence numbers the replayer skipped. */
  droppedByGenerator?: number[];
  /** Live calls: what the callee's softphone decoded (relative path). */
  calleeRecording?: string;
  pesqError?: string;
}

export interface VoipExperimentFile extends ExperimentFile {
  mode: "call" | "replay";
  lab: string;
  impairedLink: string;
  /** What was done to the input WAV to make it 8 kHz mono 16-bit. */
  conversions: string[];
  replayOf?: { capture: string; ssrc: number; description: string };
  conditions: VoipConditionRecord[];
}

export interface VoipExperimentResult {
  dir: string;
  file: string;
  experiment: VoipExperimentFile;
  report: { html: string; figures: string[] } | null;
}

function requireTool(tool: string, pkg: string): void {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    throw new QoelabError(
      "EXPERIMENT_TOOL_MISSING",
      `${tool}: not found on PATH (Debian/Ubuntu package "${pkg}": apt-get install ${pkg})`,
      { tool, package: pkg },
    );
  }
}

function validate(options: VoipExperimentOptions): VoipExperimentSpec {
  if (!options.wav && !options.replay) {
    throw new QoelabError("EXPERIMENT_NO_INPUT", "experiment voip: give --wav SPEECH.wav (or --replay CAPTURE)");
  }
  if (options.lossPercents.length === 0) {
    throw new QoelabError("EXPERIMENT_BAD_LOSS", "experiment voip: give at least one loss level (--loss 0,1,3)");
  }
  for (const p of options.lossPercents) {
    if (!(p >= 0 && p < 100))
      throw new QoelabError("EXPERIMENT_BAD_LOSS", `--loss ${p}: each level is a percentage in [0, 100)`);
  }
  const lossModel = options.lossModel ?? "bernoulli";
  validateLossModel(lossModel, options.lossPercents);
  const delayMs = options.delayMs ?? 0;
  if (!(delayMs >= 0 && delayMs <= 10_000)) {
    throw new QoelabError("EXPERIMENT_BAD_DELAY", `--delay ${delayMs} ms: expected 0…10 s`);
  }
  if (options.seconds !== undefined && !(options.seconds > 0 && options.seconds <= 600)) {
    throw new QoelabError("EXPERIMENT_BAD_SECONDS", `--seconds ${options.seconds}: expected (0, 600]`);
  }
  if (options.seed !== undefined && !(Number.isSafeInteger(options.seed) && options.seed >= 0)) {
    throw new QoelabError("EXPERIMENT_BAD_SEED", `--seed ${options.seed}: expected a whole number ≥ 0`);
  }
  return {
    lossPercents: options.lossPercents,
    lossModel,
    delayMs,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.seconds !== undefined ? { seconds: options.seconds } : {}),
    codec: options.codec ?? "pcmu",
    ptimeMs: 20,
  };
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new QoelabError("EXPERIMENT_ABORTED", "experiment interrupted; lab and impairments cleaned up");
}

export async function runVoipExperiment(options: VoipExperimentOptions): Promise<VoipExperimentResult> {
  const spec = validate(options);
  const progress = options.onProgress ?? (() => undefined);
  const mode: "call" | "replay" = options.replay ? "replay" : "call";
  if (process.getuid?.() !== 0) {
    throw new QoelabError(
      "EXPERIMENT_NEEDS_ROOT",
      "experiment voip: needs root (it creates network namespaces, iptables rules and captures)",
    );
  }
  requireTool("tcpdump", "tcpdump");
  if (mode === "call") requireBaresip();
  requireTool("ip", "iproute2");
  requireTool("iptables", "iptables");
  if (options.replay && !existsSync(options.replay)) {
    throw new QoelabError("EXPERIMENT_NO_CAPTURE", `--replay ${options.replay}: no such file`, {
      file: options.replay,
    });
  }
  const dir = resolve(options.out);
  mkdirSync(dir, { recursive: true });
  const work = join(dir, "calls");
  mkdirSync(work, { recursive: true });

  // The reference speech, 8 kHz mono 16-bit (what the caller plays; PESQ's reference).
  const reference = join(dir, "original.wav");
  let conversions: string[] = [];
  let speechSamples = 0;
  let replayOf: VoipExperimentFile["replayOf"];
  if (options.replay) {
    const stream = await chooseReplayStream(options.replay, options.replaySsrc);
    replayOf = { capture: resolve(options.replay), ssrc: stream.ssrc, description: stream.description };
    progress(`replaying ${stream.description} of ${options.replay}`);
  }
  if (options.wav) {
    const audio = await readTelephoneWav(options.wav);
    conversions = audio.conversions;
    for (const c of conversions) progress(`${options.wav}: ${c}`);
    const floats = new Float32Array(audio.pcm.length);
    for (let i = 0; i < floats.length; i++) floats[i] = audio.pcm[i]! / 32768;
    writeFileSync(reference, writeWav([floats], 8000, "pcm16"));
    speechSamples = audio.pcm.length;
  } else if (options.replay && replayOf) {
    // Without --wav the reference is the recorded stream itself, before any loss of ours.
    const r = await extractRtpToWav(options.replay, reference, { ssrc: replayOf.ssrc });
    speechSamples = r.samples.length;
    conversions = [`reference extracted from ${options.replay} (SSRC 0x${replayOf.ssrc.toString(16)})`];
  }
  const calleeSource = join(work, "callee-silence.wav");
  writeFileSync(calleeSource, writeWav([new Float32Array(Math.max(8000, speechSamples))], 8000, "pcm16"));
  const seconds = spec.seconds ?? Math.ceil(speechSamples / 8000) + 1;

  const labName = options.lab ?? "voip";
  const before = await labStatus(labName).catch(() => []);
  const preexisting = before.some((s) => s.state === "up");
  let lab: Lab | undefined;
  let createdLab = false;
  const conditions: VoipConditionRecord[] = [];
  try {
    progress(`lab ${labName}: client — router — server${preexisting ? " (already up, reused)" : ""}`);
    lab = await labUp({ name: labName, router: true });
    createdLab = !preexisting;
    if (preexisting) {
      const rows = await impairShow(labName);
      if (rows.length > 0) {
        throw new QoelabError(
          "EXPERIMENT_LAB_BUSY",
          `lab "${labName}" already carries impairments (${rows.map((r) => `${r.target} ${r.option} ${r.value}`).join(", ")}); clear them ("qoelab impair clear") or pick another --lab`,
          { lab: labName },
        );
      }
    }
    for (const lossPercent of spec.lossPercents) {
      aborted(options.signal);
      const id = conditionId(lossPercent);
      const model: LossModelSpec = lossModelFor(spec, lossPercent);
      // Replay with a seed: the replayer drops (seeded, generator side); otherwise the router does.
      const generatorLoss = mode === "replay" && spec.seed !== undefined;
      const applied = await applyLinkImpairment(lab, generatorLoss ? { kind: "none" } : model, spec.delayMs, spec.seed);
      const lossBackend =
        model.kind === "none"
          ? "none"
          : generatorLoss
            ? `replayer (generator-side, seed ${spec.seed})`
            : applied.description;
      progress(`${id}: loss ${formatLossModel(model)} — ${lossBackend}`);
      const pcap = join(dir, `call-${id}.pcap`);
      let media: ConditionMedia;
      if (mode === "call") {
        media = await runLiveCall(lab, {
          dir: join(work, id),
          pcap,
          callerSource: reference,
          calleeSource,
          seconds,
          codec: spec.codec,
          ...(options.signal ? { signal: options.signal } : {}),
        });
      } else {
        const r = replayOf as NonNullable<typeof replayOf>;
        const stream = await chooseReplayStream(options.replay as string, r.ssrc);
        media = await runReplayCondition(lab, {
          pcap,
          capture: r.capture,
          ssrc: r.ssrc,
          port: stream.dstPort,
          ...(generatorLoss ? { loss: model, seed: spec.seed } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
      }
      const droppedByLink = model.kind === "none" || generatorLoss ? null : await linkDropCount(lab);
      progress(`${id}: captured ${media.capturedPackets} packets; analysing`);
      const received = join(dir, `received-${id}.wav`);
      const scores = await scoreCondition({
        pcap,
        received,
        reference,
        callerAddress: media.callerAddress,
        ...(replayOf ? { ssrc: replayOf.ssrc } : {}),
        oneWayDelayMs: spec.delayMs,
        pesq: options.pesq ?? true,
      });
      const record: VoipConditionRecord = {
        id,
        label: `${+lossPercent.toPrecision(6)} % loss`,
        lossPercent,
        lossModel: model.kind === "none" ? "none" : formatLossModel(model),
        delayMs: spec.delayMs,
        jitterMs: 0,
        ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
        received: relative(dir, received),
        capture: relative(dir, pcap),
        pesq: scores.pesq,
        emodel: scores.emodel,
        streams: scores.streams,
        realizedLossPercent: scores.emodel.lossPercent,
        lossBackend,
        seededLoss: model.kind === "none" || generatorLoss || applied.seeded,
        droppedByLink,
        ...(media.replay && generatorLoss ? { droppedByGenerator: media.replay.droppedSequences } : {}),
        ...(media.calleeReceived ? { calleeRecording: relative(dir, media.calleeReceived) } : {}),
        ...(scores.pesqError ? { pesqError: scores.pesqError } : {}),
      };
      conditions.push(record);
      progress(
        `${id}: realized loss ${record.realizedLossPercent.toFixed(2)} %, E-model MOS ${scores.emodel.mos.toFixed(2)}${scores.pesq ? `, PESQ MOS-LQO ${scores.pesq.mosLqo.toFixed(2)}` : scores.pesqError ? ` (PESQ failed: ${scores.pesqError})` : ""}`,
      );
    }
  } finally {
    if (lab) await clearLinkImpairment(lab).catch(() => undefined);
    if (createdLab) await labDown(labName).catch(() => undefined);
  }

  const backends = [...new Set(conditions.map((c) => c.lossBackend).filter((b) => b !== "none"))];
  const experiment: VoipExperimentFile = {
    format: EXPERIMENT_FORMAT,
    kind: "voip",
    createdAt: new Date().toISOString(),
    tool: `qoelab experiment voip (${mode === "call" ? "baresip softphones" : "capture replay"}; loss: ${backends.join(" / ") || "none"})`,
    reference: "original.wav",
    codec: spec.codec,
    ptimeMs: spec.ptimeMs,
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
    mode,
    lab: labName,
    impairedLink: IMPAIRED_LINK,
    conversions,
    ...(replayOf ? { replayOf } : {}),
    conditions,
  };
  const file = join(dir, "experiment.json");
  writeFileSync(file, `${JSON.stringify(experiment, null, 2)}\n`);
  let report: VoipExperimentResult["report"] = null;
  if (options.report ?? true) {
    progress("writing the report");
    report = await writeExperimentReport(buildExperimentReport({ dir }), join(dir, "report"));
  }
  return { dir, file, experiment, report };
}
