import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";

/** Runs a tool and turns "not installed" and failures into coded errors naming the tool. */
function run(tool: "espeak-ng" | "sox", args: readonly string[]): void {
  const result = spawnSync(tool, args, { encoding: "utf8", timeout: 60_000 });
  if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
    throw new QoelabError(
      `TOOL_MISSING_${tool === "sox" ? "SOX" : "ESPEAK"}`,
      `${tool} is not installed (Debian package "${tool}"; run scripts/setup.sh)`,
    );
  }
  if (result.status !== 0) {
    throw new QoelabError(
      "LISTEN_AUDIO_TOOL_FAILED",
      `${tool} ${args.join(" ")} failed: ${(result.stderr || String(result.error ?? "")).trim().slice(0, 300)}`,
    );
  }
}

function withTemp<T>(work: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "qoelab-synth-"));
  try {
    return work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Speaks `text` with espeak-ng into a mono 16-bit WAV at `sampleRate` (resampled with sox). */
export function synthesizeSpeech(
  text: string,
  out: string,
  options: { sampleRate?: number; voice?: string; wordsPerMinute?: number } = {},
): void {
  withTemp((dir) => {
    const raw = join(dir, "speech.wav");
    run("espeak-ng", ["-v", options.voice ?? "en", "-s", String(options.wordsPerMinute ?? 150), "-w", raw, text]);
    // espeak-ng pads its speech with silence; trim both ends so clips are no longer than needed.
    run("sox", [
      raw,
      "-r",
      String(options.sampleRate ?? 8000),
      "-c",
      "1",
      "-b",
      "16",
      out,
      "silence",
      "1",
      "0.02",
      "0.5%",
      "reverse",
      "silence",
      "1",
      "0.02",
      "0.5%",
      "reverse",
      "norm",
      "-3",
    ]);
  });
}

/**
 * A trapping clip as P.808 makes them: the start of an ordinary clip, then a voice asking the
 * listener to pick one named category. `answerLabel` is spoken ("Poor").
 */
export function makeTrapClip(
  base: string,
  answerLabel: string,
  out: string,
  sampleRate: number,
  leadSeconds = 1.5,
): void {
  withTemp((dir) => {
    const lead = join(dir, "lead.wav");
    const voice = join(dir, "voice.wav");
    run("sox", [base, "-r", String(sampleRate), "-c", "1", "-b", "16", lead, "trim", "0", String(leadSeconds)]);
    synthesizeSpeech(
      `This is an interruption. Please select the answer: ${answerLabel}, to confirm your attention.`,
      voice,
      { sampleRate, wordsPerMinute: 185 },
    );
    run("sox", [lead, voice, out]);
  });
}

/**
 * The hearing and volume check: a short 1 kHz tone, then `digits` spoken one by one at a reduced
 * level, which the listener types in. Too quiet a setting or a broken headset fails it.
 */
export function makeHearingClip(digits: string, out: string, sampleRate: number): void {
  if (!/^\d{3,6}$/.test(digits))
    throw new QoelabError("LISTEN_BAD_DIGITS", `hearing check: "${digits}" must be 3–6 digits`);
  withTemp((dir) => {
    const tone = join(dir, "tone.wav");
    const voice = join(dir, "digits.wav");
    run("sox", [
      "-n",
      "-r",
      String(sampleRate),
      "-c",
      "1",
      "-b",
      "16",
      tone,
      "synth",
      "0.4",
      "sine",
      "1000",
      "vol",
      "0.3",
    ]);
    synthesizeSpeech(digits.split("").join(", "), voice, { sampleRate, wordsPerMinute: 150 });
    const quiet = join(dir, "quiet.wav");
    run("sox", [voice, quiet, "vol", "0.35"]);
    run("sox", [tone, quiet, out]);
  });
}
