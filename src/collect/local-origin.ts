import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { QoelabError } from "../errors.ts";

/** One rendition of the built-in HLS ladder. */
export interface Rendition {
  name: string;
  width: number;
  height: number;
  videoKbps: number;
}

/** The ladder the issue asks for: ~240p/300k, 480p/800k, 720p/2M, 1080p/4.5M, 2 s segments. */
export const DEFAULT_LADDER: readonly Rendition[] = [
  { name: "240p", width: 426, height: 240, videoKbps: 300 },
  { name: "480p", width: 854, height: 480, videoKbps: 800 },
  { name: "720p", width: 1280, height: 720, videoKbps: 2000 },
  { name: "1080p", width: 1920, height: 1080, videoKbps: 4500 },
];

/** Synthetic "channels" of different motion, made by ffmpeg's lavfi sources (no download). */
export const CHANNELS: Record<string, { motion: string; source: (w: number, h: number, fps: number) => string }> = {
  testcard: { motion: "moderate", source: (w, h, fps) => `testsrc2=size=${w}x${h}:rate=${fps}` },
  life: {
    motion: "high",
    source: (w, h, fps) =>
      `life=size=${w}x${h}:rate=${fps}:mold=10:ratio=0.5:death_color=#203040:life_color=#e0c020,scale=${w}:${h}`,
  },
  fractal: { motion: "high detail", source: (w, h, fps) => `mandelbrot=size=${w}x${h}:rate=${fps}` },
  gradients: { motion: "low", source: (w, h, fps) => `gradients=size=${w}x${h}:rate=${fps}:speed=0.02` },
};

export interface LocalOriginOptions {
  channels?: readonly string[];
  /** Seconds of content per channel (the player loops it). */
  durationSeconds?: number;
  fps?: number;
  ladder?: readonly Rendition[];
  /** Cache directory; the ladder is made once per parameter set. */
  cacheDir?: string;
  onProgress?: (message: string) => void;
}

export interface LocalOrigin {
  /** Directory to serve over HTTP. */
  root: string;
  /** Master playlist path of each channel, relative to `root`. */
  channels: Array<{ name: string; master: string; motion: string }>;
}

export const SEGMENT_SECONDS = 2;
const AUDIO_KBPS = 64;

export function defaultOriginCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "qoelab", "origin");
}

function runFfmpeg(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(
        error.code === "ENOENT"
          ? new QoelabError(
              "TOOL_MISSING_FFMPEG",
              "ffmpeg is not installed (Debian package ffmpeg; run scripts/setup.sh)",
            )
          : error,
      ),
    );
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new QoelabError("FFMPEG_FAILED", `ffmpeg exited with ${code}: ${stderr.trim()}`)),
    );
  });
}

/** Makes (once) and returns the built-in HLS origin: H.264 + AAC, CBR renditions, 2 s segments. */
export async function buildLocalOrigin(options: LocalOriginOptions = {}): Promise<LocalOrigin> {
  const channels = options.channels ?? ["testcard", "life", "gradients"];
  const duration = options.durationSeconds ?? 60;
  const fps = options.fps ?? 25;
  const ladder = options.ladder ?? DEFAULT_LADDER;
  for (const channel of channels) {
    if (!CHANNELS[channel])
      throw new QoelabError(
        "ORIGIN_UNKNOWN_CHANNEL",
        `origin: unknown channel "${channel}" (${Object.keys(CHANNELS).join(", ")})`,
      );
  }
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 1, duration, fps, ladder }))
    .digest("hex")
    .slice(0, 12);
  const root = join(options.cacheDir ?? defaultOriginCacheDir(), key);
  mkdirSync(root, { recursive: true });
  const result: LocalOrigin = { root, channels: [] };
  for (const channel of channels) {
    const preset = CHANNELS[channel]!;
    const channelDir = join(root, channel);
    const master = join(channelDir, "master.m3u8");
    if (!existsSync(master)) {
      // Build into a temporary directory and rename, so an interrupted build is never half-used.
      const building = `${channelDir}.building-${process.pid}`;
      rmSync(building, { recursive: true, force: true });
      for (const rendition of ladder) {
        options.onProgress?.(`origin: encoding ${channel} ${rendition.name}`);
        const dir = join(building, rendition.name);
        mkdirSync(dir, { recursive: true });
        const kbps = rendition.videoKbps;
        await runFfmpeg([
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-i",
          preset.source(rendition.width, rendition.height, fps),
          "-f",
          "lavfi",
          "-i",
          "sine=frequency=440:sample_rate=48000",
          "-t",
          String(duration),
          "-vf",
          `scale=${rendition.width}:${rendition.height},format=yuv420p`,
          "-c:v",
          "libx264",
          "-preset",
          "veryfast",
          "-profile:v",
          "main",
          "-b:v",
          `${kbps}k`,
          "-maxrate",
          `${kbps}k`,
          "-bufsize",
          `${kbps * 2}k`,
          // CBR with filler keeps every segment at its nominal bitrate, so limits bite predictably.
          "-x264-params",
          "nal-hrd=cbr",
          "-g",
          String(fps * SEGMENT_SECONDS),
          "-keyint_min",
          String(fps * SEGMENT_SECONDS),
          "-sc_threshold",
          "0",
          "-c:a",
          "aac",
          "-b:a",
          `${AUDIO_KBPS}k`,
          "-ac",
          "2",
          "-f",
          "hls",
          "-hls_time",
          String(SEGMENT_SECONDS),
          "-hls_playlist_type",
          "vod",
          "-hls_segment_filename",
          join(dir, "seg%03d.ts"),
          join(dir, "index.m3u8"),
        ]);
      }
      const lines = ["#EXTM3U", "#EXT-X-VERSION:3"];
      for (const r of ladder) {
        const bandwidth = Math.round((r.videoKbps + AUDIO_KBPS) * 1000 * 1.08); // + TS/PES overhead
        lines.push(
          `#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},RESOLUTION=${r.width}x${r.height},CODECS="avc1.4d401f,mp4a.40.2",NAME="${r.name}"`,
          `${r.name}/index.m3u8`,
        );
      }
      writeFileSync(join(building, "master.m3u8"), `${lines.join("\n")}\n`);
      writeFileSync(join(building, "channel.json"), JSON.stringify({ channel, motion: preset.motion, duration, fps }));
      rmSync(channelDir, { recursive: true, force: true });
      renameSync(building, channelDir);
    }
    const info = JSON.parse(readFileSync(join(channelDir, "channel.json"), "utf8")) as { motion: string };
    result.channels.push({ name: channel, master: `${channel}/master.m3u8`, motion: info.motion });
  }
  return result;
}
