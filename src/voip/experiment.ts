import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { writeWav } from "../audio/index.ts";
import { QoelabError } from "../errors.ts";
import { formatLossModel, type LossModelSpec, readTelephoneWav } from "../generator/index.ts";
import { impairShow, type Lab, labDown, labStatus, labUp } from "../netlab/index.ts";
import { EXPERIMENT_FORMAT, type ExperimentCondition, type ExperimentFile } from "../quality/report/index.ts";
import { scoreCondition } from "./experiment-analysis.ts";
import { type ConditionMedia, runLiveCall, runReplayCondition } from "./experiment-call.ts";
import {
  applyLinkImpairment,
  clearLinkImpairment,
  EXPERIMENT_IMPAIR_BACKENDS,
  type ExperimentImpairBackend,
  IMPAIRED_LINK,
  linkDropCount,
} from "./experiment-impairment.ts";
import { chooseReplayStream } from "./experiment-replay-stream.ts";
import { conditionId, lossModelFor, type VoipExperimentSpec, validateLossModel } from "./experiment-spec.ts";
import { extractRtpToWav } from "./rtp-extract.ts";
import { requireBaresip } from "./softphone.ts";

/*
 * `qoelab experiment voip`: a client — router — server lab; for each loss level the link from the
 * router to the server drops packets (the seeded link emulator by default; netem or iptables when
 * asked), two baresip softphones call across it (the caller on the client plays the speech),
 * tcpdump on the server records what arrived; each capture is analysed, its audio extracted and
 * scored (E-model, PESQ), and the folder of docs/experiment-folder.md is written (its report is
 * drawn by the `writeReport` the caller passes: render's, so voip itself draws nothing).
 * `replay` re-sends one recorded stream at each level instead of calling, in the seed lab's order:
 * the recorded call's stream is extracted as the reference ("original"), the lossless replay is the
 * 0 % point, and every condition is scored against that one reference. The achieved loss is the
 * one measured on the receiving capture. Whatever happens, the impairment is cleared and a lab this
 * run brought up is taken down again.
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
  /** Who drops: the link emulator (default, seeded), netem, iptables, or the replayer (replay only). */
  impairBackend?: ExperimentImpairBackend;
  /** What the extraction does with lost packets (none: silence, default); the E-model assumes the same. */
  plc?: "none" | "g711";
  /** Lab name (default "voip"). */
  lab?: string;
  /** Compute PESQ (default true). */
  pesq?: boolean;
  /** Draws the folder's report once experiment.json is written (the CLI passes render's `writeFolderReport`); no report without it. */
  writeReport?: (dir: string) => Promise<{ html: string; figures: string[] }>;
  signal?: AbortSignal;
  onProgress?: (line: string) => void;
}

export interface VoipConditionRecord extends ExperimentCondition {
  /** Same as achievedLoss.percent (older name). */
  realizedLossPercent: number;
  /** The scored stream's loss measured on the receiving capture (the server's, after the impaired link). */
  achievedLoss: { percent: number; lost: number; expected: number; received: number; measuredOn: string };
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
  /** Where the loss was applied (--impair-backend). */
  impairBackend: ExperimentImpairBackend;
  /** What the extraction did with lost packets; every E-model value assumes the same. */
  plc: "none" | "g711";
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
  const backend = options.impairBackend ?? "emulator";
  if (!EXPERIMENT_IMPAIR_BACKENDS.includes(backend)) {
    throw new QoelabError(
      "EXPERIMENT_BAD_BACKEND",
      `--impair-backend ${backend}: expected ${EXPERIMENT_IMPAIR_BACKENDS.join(", ")}`,
    );
  }
  if (backend === "replayer" && !options.replay) {
    throw new QoelabError(
      "EXPERIMENT_BAD_BACKEND",
      "--impair-backend replayer drops at the sender of a replay: give --replay CAPTURE (a call's loss is on the link)",
    );
  }
  if (options.plc !== undefined && options.plc !== "none" && options.plc !== "g711") {
    throw new QoelabError("EXPERIMENT_BAD_PLC", `--plc ${String(options.plc)}: expected none or g711`);
  }
  // The seed lab's order: the lossless replay is the 0 % point of the curve.
  const lossPercents =
    options.replay && !options.lossPercents.includes(0) ? [0, ...options.lossPercents] : options.lossPercents;
  return {
    lossPercents,
    lossModel,
    delayMs,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.seconds !== undefined ? { seconds: options.seconds } : {}),
    codec: options.codec ?? "pcmu",
    ptimeMs: 20,
    impairBackend: backend,
    plc: options.plc ?? "none",
  };
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted)
    throw new QoelabError("EXPERIMENT_ABORTED", "experiment interrupted; lab and impairments cleaned up");
}

export async function runVoipExperiment(options: VoipExperimentOptions): Promise<VoipExperimentResult> {
  const validated = validate(options);
  const progress = options.onProgress ?? (() => undefined);
  // Seeded backends get a seed even when none is asked for, recorded so the run can be repeated.
  const seeded = validated.impairBackend === "emulator" || validated.impairBackend === "replayer";
  const spec: VoipExperimentSpec =
    validated.seed === undefined && seeded ? { ...validated, seed: randomInt(1, 2 ** 31) } : validated;
  if (validated.seed === undefined && spec.seed !== undefined) progress(`loss seed ${spec.seed} (none given)`);
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
  if (spec.impairBackend === "iptables") requireTool("iptables", "iptables");
  if (options.replay && !existsSync(options.replay)) {
    throw new QoelabError("EXPERIMENT_NO_CAPTURE", `--replay ${options.replay}: no such file`, {
      file: options.replay,
    });
  }
  const dir = resolve(options.out);
  mkdirSync(dir, { recursive: true });
  const work = join(dir, "calls");
  mkdirSync(work, { recursive: true });

  // The reference, 8 kHz mono 16-bit: in a call, the speech the caller plays; in a replay (the seed
  // lab's order), the recorded call's stream extracted before any loss of ours ("original"), so the
  // lossless replay and every lossy one are scored against the same audio.
  const reference = join(dir, "original.wav");
  let conversions: string[] = [];
  let speechSamples = 0;
  let replayOf: VoipExperimentFile["replayOf"];
  let referenceDescription: string;
  if (options.replay) {
    const stream = await chooseReplayStream(options.replay, options.replaySsrc);
    replayOf = { capture: resolve(options.replay), ssrc: stream.ssrc, description: stream.description };
    progress(`replaying ${stream.description} of ${options.replay}`);
    const r = await extractRtpToWav(options.replay, reference, { ssrc: stream.ssrc, plc: spec.plc });
    speechSamples = r.samples.length;
    referenceDescription = `audio extracted (plc ${spec.plc}) from the recorded call ${options.replay}, SSRC 0x${stream.ssrc.toString(16).padStart(8, "0")}, before any loss of this experiment`;
    conversions = [`reference: ${referenceDescription}`];
    if (options.wav) progress(`--wav ${options.wav} is not the reference of a replay (the recorded call's audio is)`);
  } else {
    const wav = options.wav as string;
    const audio = await readTelephoneWav(wav);
    conversions = audio.conversions;
    for (const c of conversions) progress(`${wav}: ${c}`);
    const floats = new Float32Array(audio.pcm.length);
    for (let i = 0; i < floats.length; i++) floats[i] = audio.pcm[i]! / 32768;
    writeFileSync(reference, writeWav([floats], 8000, "pcm16"));
    speechSamples = audio.pcm.length;
    referenceDescription = `the speech the caller played (${wav}${conversions.length ? `, ${conversions.join(", ")}` : ""})`;
  }
  progress(`reference original.wav: ${referenceDescription}`);
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
      // The loss is on the router → server link (impair's backend), unless the replayer is asked to drop.
      const generatorLoss = spec.impairBackend === "replayer";
      const applied = await applyLinkImpairment(
        lab,
        generatorLoss ? { kind: "none" } : model,
        spec.delayMs,
        spec.seed,
        spec.impairBackend === "replayer" ? "emulator" : spec.impairBackend,
      );
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
        plc: spec.plc,
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
        realizedLossPercent: scores.achievedLoss.percent,
        achievedLoss: {
          ...scores.achievedLoss,
          measuredOn: `${relative(dir, pcap)} (captured in the server's namespace, after the impaired link)`,
        },
        lossBackend,
        seededLoss: model.kind === "none" || generatorLoss || applied.seeded,
        droppedByLink,
        ...(media.replay && generatorLoss ? { droppedByGenerator: media.replay.droppedSequences } : {}),
        ...(media.calleeReceived ? { calleeRecording: relative(dir, media.calleeReceived) } : {}),
        ...(scores.pesqError ? { pesqError: scores.pesqError } : {}),
      };
      conditions.push(record);
      progress(
        `${id}: achieved loss ${record.achievedLoss.percent.toFixed(2)} % (${record.achievedLoss.lost}/${record.achievedLoss.expected} on the receiving capture), E-model MOS ${scores.emodel.mos.toFixed(2)} (${scores.emodel.plc ? "PLC on" : "PLC off"})${scores.pesq ? `, PESQ P.862.1 MOS-LQO ${scores.pesq.mosLqo.toFixed(2)}` : scores.pesqError ? ` (PESQ failed: ${scores.pesqError})` : ""}`,
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
    referenceDescription,
    codec: spec.codec,
    ptimeMs: spec.ptimeMs,
    ...(spec.seed !== undefined ? { seed: spec.seed } : {}),
    mode,
    lab: labName,
    impairedLink: IMPAIRED_LINK,
    impairBackend: spec.impairBackend,
    plc: spec.plc,
    conversions,
    ...(replayOf ? { replayOf } : {}),
    conditions,
  };
  const file = join(dir, "experiment.json");
  writeFileSync(file, `${JSON.stringify(experiment, null, 2)}\n`);
  let report: VoipExperimentResult["report"] = null;
  if (options.writeReport) {
    progress("writing the report");
    report = await options.writeReport(dir);
  }
  return { dir, file, experiment, report };
}
