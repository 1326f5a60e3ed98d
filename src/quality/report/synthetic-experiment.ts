import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readWav, writeWav } from "../../audio/index.ts";
import { callQuality, plcAssumption } from "../emodel.ts";
import { seededRandom } from "../listening/order.ts";
import { formatRatingsCsv } from "../listening/ratings-csv.ts";
import type { Rating } from "../listening/screening.ts";
import { synthesizeSpeech } from "../listening/speech-synth.ts";
import { pesqFiles, pesqVersionLabel } from "../pesq/index.ts";
import { EXPERIMENT_FORMAT, type ExperimentCondition, type ExperimentFile } from "./experiment-folder.ts";

export interface SyntheticExperimentOptions {
  /** Loss levels in percent (default 0, 3, 10, 25). */
  lossPercents?: readonly number[];
  text?: string;
  seed?: number;
  /** Compute PESQ for each condition (default true; null when PESQ fails). */
  pesq?: boolean;
  /** Also write ratings.csv from this many simulated raters (default 0: none). */
  simulatedRaters?: number;
}

const FRAME_MS = 20;

/**
 * Writes a small experiment folder without a lab: speech from espeak-ng, and for each loss level
 * a "received" copy with seeded 20 ms frames zeroed (what a G.711 call without concealment hears
 * when those packets are lost), E-model from the realized loss, PESQ, and per-stream RTP figures
 * counted from the dropped frames. For tests and demos; `qoelab experiment voip` writes the real one.
 */
export async function writeSyntheticExperiment(
  dir: string,
  options: SyntheticExperimentOptions = {},
): Promise<ExperimentFile> {
  mkdirSync(dir, { recursive: true });
  const seed = options.seed ?? 1;
  const original = join(dir, "original.wav");
  synthesizeSpeech(
    options.text ?? "The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background.",
    original,
    {
      sampleRate: 8000,
    },
  );
  const audio = readWav(readFileSync(original), original);
  const samples = audio.channels[0]!;
  const frameLength = (audio.sampleRate * FRAME_MS) / 1000;
  const frames = Math.ceil(samples.length / frameLength);
  const conditions: ExperimentCondition[] = [];
  const random = seededRandom(seed);
  for (const lossPercent of options.lossPercents ?? [0, 3, 10, 25]) {
    const id = `loss-${lossPercent}`;
    const received = new Float32Array(samples);
    let lost = 0;
    let lossRuns = 0;
    let previousLost = false;
    for (let f = 0; f < frames; f++) {
      const drop = random() * 100 < lossPercent;
      if (drop) {
        received.fill(0, f * frameLength, Math.min(samples.length, (f + 1) * frameLength));
        lost++;
        if (!previousLost) lossRuns++;
      }
      previousLost = drop;
    }
    const file = `received-${id}.wav`;
    writeFileSync(join(dir, file), writeWav([received], audio.sampleRate));
    const realized = (lost / frames) * 100;
    const emodel = callQuality({ codec: "g711", plc: false, lossPercent: realized, oneWayDelayMs: 40 });
    let pesq: ExperimentCondition["pesq"] = null;
    if (options.pesq !== false) {
      try {
        const result = await pesqFiles(original, join(dir, file));
        pesq = { raw: result.raw, mosLqo: result.mosLqo, version: pesqVersionLabel(result) };
      } catch {
        pesq = null;
      }
    }
    const jitter = (scale: number) => Number((0.05 + random() * scale).toFixed(3));
    conditions.push({
      id,
      label: `${lossPercent} % loss`,
      lossPercent,
      lossModel: "bernoulli",
      delayMs: 40,
      jitterMs: 0,
      seed,
      received: file,
      pesq,
      emodel: {
        R: Number(emodel.R.toFixed(2)),
        mos: Number(emodel.mos.toFixed(3)),
        plc: false,
        assumption: `${plcAssumption(false).text}; loss = the frames this condition dropped; Ta = 40 ms`,
      },
      streams: [
        {
          ssrc: 0x51a0 + conditions.length,
          direction: "caller→callee",
          codec: "g711U",
          packets: frames - lost,
          expected: frames,
          lost,
          lostPercent: Number(realized.toFixed(3)),
          meanJitterMs: jitter(0.5),
          maxJitterMs: jitter(3),
          meanDeltaMs: FRAME_MS,
          maxDeltaMs: FRAME_MS * (1 + Math.min(lossRuns, 3)),
        },
        {
          ssrc: 0x7b00 + conditions.length,
          direction: "callee→caller",
          codec: "g711U",
          packets: frames,
          expected: frames,
          lost: 0,
          lostPercent: 0,
          meanJitterMs: jitter(0.3),
          maxJitterMs: jitter(1.5),
          meanDeltaMs: FRAME_MS,
          maxDeltaMs: FRAME_MS,
        },
      ],
    });
  }
  const experiment: ExperimentFile = {
    format: EXPERIMENT_FORMAT,
    kind: "voip",
    createdAt: new Date().toISOString(),
    tool: "qoelab synthetic experiment (espeak-ng speech, seeded frame dropouts)",
    reference: "original.wav",
    codec: "pcmu",
    ptimeMs: FRAME_MS,
    seed,
    conditions,
  };
  writeFileSync(join(dir, "experiment.json"), `${JSON.stringify(experiment, null, 2)}\n`);
  if (options.simulatedRaters && options.simulatedRaters > 0) {
    const ratings: Rating[] = [];
    for (let r = 0; r < options.simulatedRaters; r++) {
      for (const c of conditions) {
        const truth = c.emodel?.mos ?? 3;
        const score = Math.max(1, Math.min(5, Math.round(truth + (random() - 0.5) * 2.2)));
        ratings.push({ rater: `sim-${r + 1}`, condition: c.id, clip: `${c.id}/sentence-1`, score });
      }
    }
    writeFileSync(join(dir, "ratings.csv"), formatRatingsCsv(ratings));
  }
  return experiment;
}
