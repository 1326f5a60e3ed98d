import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, resolve } from "node:path";
import { isWav, readWav, writeWav } from "../../audio/index.ts";
import { QoelabError } from "../../errors.ts";
import { readExperimentFolder } from "../report/experiment-folder.ts";
import { parseCsv } from "./ratings-csv.ts";

/** One clip to put into a listening test, before it is stored. */
export interface ClipInput {
  /** Unique within the test, e.g. "loss-3/received". */
  name: string;
  condition: string;
  file: string;
  /** This clip's own reference (the original over the same instants), for DCR/CCR; else the set's. */
  reference?: string;
}

export interface ClipSet {
  clips: ClipInput[];
  /** The unprocessed original: DCR's reference, the gold clip's audio. */
  reference?: string;
  /** Conditions in the order the source lists them. */
  conditionOrder: string[];
  source: string;
}

export interface CheckedAudio {
  bytes: Uint8Array;
  sampleRate: number;
  durationS: number;
}

/** Reads a clip and refuses anything that is not decodable WAV audio with a coded error. */
export function readClipAudio(file: string): CheckedAudio {
  if (!existsSync(file)) throw new QoelabError("LISTEN_CLIP_NOT_FOUND", `${file}: clip file not found`, { file });
  const bytes = new Uint8Array(readFileSync(file));
  if (!isWav(bytes)) {
    const start = Buffer.from(bytes.subarray(0, 4)).toString("hex");
    throw new QoelabError(
      "LISTEN_CLIP_NOT_AUDIO",
      `${file}: not a WAV audio file (starts with 0x${start || "(empty)"}, expected "RIFF…WAVE")`,
      { file, fields: { clip: "a RIFF/WAVE file" } },
      { kind: "bad_input" },
    );
  }
  let audio: ReturnType<typeof readWav>;
  try {
    audio = readWav(bytes, file);
  } catch (error) {
    throw new QoelabError(
      "LISTEN_CLIP_NOT_AUDIO",
      `${file}: unreadable WAV: ${(error as Error).message}`,
      { file },
      { kind: "bad_input" },
    );
  }
  const frames = audio.channels[0]?.length ?? 0;
  if (frames === 0)
    throw new QoelabError("LISTEN_CLIP_NOT_AUDIO", `${file}: WAV holds no samples`, { file }, { kind: "bad_input" });
  // Browsers and sox play 1–384 kHz; a header outside it (0x7fffffff Hz) is not a clip to rate.
  if (!(audio.sampleRate >= 1000 && audio.sampleRate <= 384_000))
    throw new QoelabError(
      "LISTEN_CLIP_NOT_AUDIO",
      `${file}: WAV header says ${audio.sampleRate} Hz; a listening clip is 1–384 kHz`,
      { file },
      { kind: "bad_input" },
    );
  return { bytes, sampleRate: audio.sampleRate, durationS: frames / audio.sampleRate };
}

/**
 * Clips from a `qoelab experiment voip` folder: the original and each condition's received audio,
 * cut into clips of about `clipSeconds` (default 8 s: ITU-T P.800 rates short samples, not a whole
 * call) at the same instants in every condition, so clip k of each condition carries the same
 * speech. A remainder shorter than half a clip joins the last clip; 0 keeps whole files. The cut
 * clips are written under DIR/listening-clips/. A DCR/CCR clip's reference is the original's clip
 * over the same instants.
 */
export function clipsFromExperiment(dir: string, options: { clipSeconds?: number } = {}): ClipSet {
  const folder = readExperimentFolder(dir);
  const { experiment } = folder;
  const reference = folder.path(experiment.reference);
  const clipSeconds = options.clipSeconds ?? 8;
  if (!(clipSeconds >= 0 && clipSeconds <= 600))
    throw new QoelabError("LISTEN_BAD_CLIP_LENGTH", `clip length ${clipSeconds} s: expected 0 (whole files) to 600 s`);
  const sources: { condition: string; file: string; what: string }[] = [
    { condition: "original", file: reference, what: "reference" },
    ...experiment.conditions.map((c) => ({ condition: c.id, file: folder.path(c.received), what: "received" })),
  ];
  const clips: ClipInput[] = [];
  /** The original's clip k: the reference of every condition's clip k. */
  const originalClips: string[] = [];
  for (const source of sources) {
    if (clipSeconds === 0) {
      clips.push({ name: `${source.condition}/${source.what}`, condition: source.condition, file: source.file });
      continue;
    }
    const audio = readWav(new Uint8Array(readFileSync(source.file)));
    const samples = audio.channels[0] ?? new Float32Array(0);
    const size = Math.max(1, Math.round(clipSeconds * audio.sampleRate));
    let count = Math.max(1, Math.floor(samples.length / size));
    if (samples.length - count * size >= size / 2) count++;
    const out = join(folder.dir, "listening-clips", source.condition);
    mkdirSync(out, { recursive: true });
    for (let k = 0; k < count; k++) {
      const end = k === count - 1 ? samples.length : (k + 1) * size;
      const file = join(out, `clip${String(k + 1).padStart(2, "0")}.wav`);
      writeFileSync(file, writeWav([samples.subarray(k * size, end)], audio.sampleRate, "pcm16"));
      if (source.what === "reference") originalClips.push(file);
      const clipReference = originalClips[Math.min(k, originalClips.length - 1)];
      clips.push({
        name: `${source.condition}/clip${String(k + 1).padStart(2, "0")}`,
        condition: source.condition,
        file,
        ...(clipReference ? { reference: clipReference } : {}),
      });
    }
  }
  return {
    clips,
    reference,
    conditionOrder: ["original", ...experiment.conditions.map((c) => c.id)],
    source: `experiment ${folder.dir}${clipSeconds > 0 ? ` (clips of ${clipSeconds} s)` : ""}`,
  };
}

function isWavName(name: string): boolean {
  return extname(name).toLowerCase() === ".wav";
}

/**
 * Clips from a folder: each subfolder is a condition holding its clips; WAVs directly in the
 * folder are one condition each (named by the file). A `reference.wav` at the top is the reference.
 * Files other than .wav are refused so that a stray non-audio file is never silently skipped.
 */
export function clipsFromFolder(dir: string): ClipSet {
  const abs = resolve(dir);
  if (!existsSync(abs) || !statSync(abs).isDirectory())
    throw new QoelabError("LISTEN_SOURCE_NOT_FOUND", `${dir}: not a folder of clips`, { dir });
  const clips: ClipInput[] = [];
  let reference: string | undefined;
  const order: string[] = [];
  const entries = readdirSync(abs, { withFileTypes: true }).sort((a, b) =>
    a.name.localeCompare(b.name, "en", { numeric: true }),
  );
  for (const entry of entries) {
    const path = join(abs, entry.name);
    if (entry.name.startsWith(".")) continue;
    if (entry.isDirectory()) {
      for (const name of readdirSync(path).sort((a, b) => a.localeCompare(b, "en", { numeric: true }))) {
        if (name.startsWith(".")) continue;
        clips.push({
          name: `${entry.name}/${basename(name, extname(name))}`,
          condition: entry.name,
          file: join(path, name),
        });
      }
      order.push(entry.name);
    } else if (entry.name.toLowerCase() === "reference.wav") reference = path;
    else {
      const condition = basename(entry.name, extname(entry.name));
      clips.push({ name: condition, condition, file: path });
      order.push(condition);
    }
  }
  for (const clip of clips) {
    if (!isWavName(clip.file)) readClipAudio(clip.file); // names the bad file with a coded error
  }
  if (clips.length === 0)
    throw new QoelabError("LISTEN_NO_CLIPS", `${dir}: no clips found`, { dir }, { kind: "bad_input" });
  return { clips, ...(reference ? { reference } : {}), conditionOrder: order, source: `folder ${abs}` };
}

/** Clips from a CSV with columns file, condition [, clip] [, reference]; paths relative to the CSV. */
export function clipsFromCsv(file: string): ClipSet {
  const abs = resolve(file);
  if (!existsSync(abs)) throw new QoelabError("LISTEN_SOURCE_NOT_FOUND", `${file}: clip list not found`, { file });
  const records = parseCsv(readFileSync(abs, "utf8"));
  const header = records[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const col = (name: string) => header.indexOf(name);
  if (col("file") < 0 || col("condition") < 0)
    throw new QoelabError("LISTEN_CSV_BAD_HEADER", `${file}: line 1: need columns file and condition`, { file });
  const base = dirname(abs);
  const at = (path: string) => (isAbsolute(path) ? path : join(base, path));
  const clips: ClipInput[] = [];
  const order: string[] = [];
  let reference: string | undefined;
  records.slice(1).forEach((record, i) => {
    const path = record[col("file")]?.trim();
    const condition = record[col("condition")]?.trim();
    if (!path || !condition)
      throw new QoelabError("LISTEN_CSV_BAD_ROW", `${file}: line ${i + 2}: file and condition must not be empty`, {
        file,
        line: i + 2,
      });
    const name =
      (col("clip") >= 0 ? record[col("clip")]?.trim() : "") || `${condition}/${basename(path, extname(path))}`;
    clips.push({ name, condition, file: at(path) });
    if (!order.includes(condition)) order.push(condition);
    const ref = col("reference") >= 0 ? record[col("reference")]?.trim() : "";
    if (ref) reference = at(ref);
  });
  if (clips.length === 0)
    throw new QoelabError("LISTEN_NO_CLIPS", `${file}: no clips listed`, { file }, { kind: "bad_input" });
  return { clips, ...(reference ? { reference } : {}), conditionOrder: order, source: `csv ${abs}` };
}
