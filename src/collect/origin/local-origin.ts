import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { QoelabError } from "../../errors.ts";

/** One rendition of the built-in HLS ladder: its size and its cap (x264 CRF with maxrate/bufsize). */
export interface Rendition {
  name: string;
  width: number;
  height: number;
  /** maxrate, kbit/s (bufsize is twice that): capped VBR, so easy content stays well below it. */
  videoKbps: number;
}

/** A streaming service's ladder: 160p/0.2, 360p/0.6, 480p/1.2, 720p/2.5, 1080p/4.5 Mbit/s caps. */
export const DEFAULT_LADDER: readonly Rendition[] = [
  { name: "160p", width: 284, height: 160, videoKbps: 200 },
  { name: "360p", width: 640, height: 360, videoKbps: 600 },
  { name: "480p", width: 854, height: 480, videoKbps: 1200 },
  { name: "720p", width: 1280, height: 720, videoKbps: 2500 },
  { name: "1080p", width: 1920, height: 1080, videoKbps: 4500 },
];

/** x264's constant rate factor under the caps. */
export const ORIGIN_CRF = 23;

/**
 * Synthetic contents of different complexity, made by ffmpeg's lavfi sources (no download). Each
 * `graph` is a filtergraph with no input that ends in [src] (the top rendition's size, `d` seconds).
 */
export interface ContentPreset {
  motion: string;
  graph: (w: number, h: number, fps: number, d: number) => string;
}

/**
 * ffmpeg's `gradients` field at a quarter of the size, scaled up: the field is smooth, so it looks the
 * same, and rendering it at full size cost more CPU than encoding the whole ladder of a still content.
 */
function smoothField(w: number, h: number, fps: number, d: number | undefined, options: string): string {
  const size = `${Math.round(w / 4)}x${Math.round(h / 4)}`;
  return `gradients=s=${size}:r=${fps}${d === undefined ? "" : `:d=${d}`}:${options},scale=${w}:${h}:flags=bicubic`;
}

function sceneCuts(w: number, h: number, fps: number, d: number): string {
  const shots = [
    smoothField(w, h, fps, undefined, "speed=0.01"),
    `testsrc2=s=${w}x${h}:r=${fps}`,
    `life=s=${Math.round(w / 6)}x${Math.round(h / 6)}:r=${fps}:mold=5:ratio=0.4:life_color=#f04040:death_color=#101820,scale=${w}:${h}:flags=neighbor`,
    `smptehdbars=s=${w}x${h}:r=${fps},noise=alls=12:allf=t`,
  ];
  const cut = 3;
  const n = Math.max(1, Math.ceil(d / cut));
  // Each shot is cut to its length by trim (not every source takes d=) and starts its timestamps at 0.
  const chains = Array.from(
    { length: n },
    (_, i) => `${shots[i % shots.length]},trim=duration=${cut},setpts=PTS-STARTPTS,setsar=1,format=yuv420p[c${i}]`,
  );
  return `${chains.join(";")};${Array.from({ length: n }, (_, i) => `[c${i}]`).join("")}concat=n=${n}:v=1:a=0,trim=duration=${d}[src]`;
}

export const CONTENTS: Record<string, ContentPreset> = {
  talk: {
    motion: "static talk: still background, one small moving region",
    graph: (w, h, fps, d) =>
      `${smoothField(w, h, fps, d, "speed=0.002:c0=0x2a3a4a:c1=0x4a5a6a")}[bg];testsrc2=s=${Math.round(w / 4)}x${Math.round(h / 2)}:r=${fps}:d=${d}[p];[bg][p]overlay=x=${Math.round((w * 3) / 8)}:y=${Math.round(h / 3)}[src]`,
  },
  sport: {
    motion: "sport-like: the whole picture pans over a detailed field",
    graph: (w, h, fps, d) =>
      `life=s=${Math.round(w / 2)}x${Math.round(h / 2)}:r=${fps}:ratio=0.5:mold=20:life_color=#60c040:death_color=#1f5f1f,scale=${w}:${h}:flags=neighbor,scroll=horizontal=0.006:vertical=0.001,trim=duration=${d}[src]`,
  },
  game: {
    motion: "game-like: sharp-edged blocks changing everywhere",
    graph: (w, h, fps, d) =>
      `life=s=${Math.round(w / 8)}x${Math.round(h / 8)}:r=${fps}:mold=10:ratio=0.5:death_color=#203040:life_color=#e0c020,scale=${w}:${h}:flags=neighbor,trim=duration=${d}[src]`,
  },
  noise: {
    motion: "noise: high detail that changes every frame (always at the cap)",
    graph: (w, h, fps, d) => `testsrc2=s=${w}x${h}:r=${fps}:d=${d},noise=alls=40:allf=t+u[src]`,
  },
  cuts: { motion: "scene cuts every 3 s between four different shots", graph: sceneCuts },
  animation: {
    motion: "animation: smooth colour fields moving slowly",
    graph: (w, h, fps, d) => `${smoothField(w, h, fps, d, "speed=0.03:nb_colors=6")}[src]`,
  },
  // The earlier synthetic channels, kept for tests and old trainings.
  testcard: { motion: "moderate", graph: (w, h, fps, d) => `testsrc2=s=${w}x${h}:r=${fps}:d=${d}[src]` },
  gradients: {
    motion: "low",
    graph: (w, h, fps, d) => `${smoothField(w, h, fps, d, "speed=0.02")}[src]`,
  },
};

/** @deprecated the contents' old name. */
export const CHANNELS = CONTENTS;

/** The contents a training plays by default (sessions take them in turn). */
export const DEFAULT_CONTENTS: readonly string[] = ["talk", "sport", "game", "noise", "cuts", "animation"];

/** Measured bitrate of a built rendition (segment sizes: video, audio and TS overhead). */
export interface RenditionStats {
  name: string;
  height: number;
  capKbps: number;
  meanKbps: number;
  peakKbps: number;
  segments: number;
}

/** Where the first build stands (for the web page and the CLI). */
export interface OriginBuildStatus {
  state: "idle" | "building" | "ready" | "failed";
  content?: string;
  /** 0…1 over every content still to build. */
  fraction: number;
  message: string;
  startedAt?: number;
}

let buildStatus: OriginBuildStatus = { state: "idle", fraction: 0, message: "not built in this process" };

/** The built-in origin's build progress in this process. */
export function originBuildStatus(): OriginBuildStatus {
  return { ...buildStatus };
}

export interface LocalOriginOptions {
  /** Contents to build (default DEFAULT_CONTENTS). */
  channels?: readonly string[];
  /**
   * Seconds of content (default 24: twelve segments; the rendition playlists list them again up to
   * PLAYLIST_SECONDS, so a longer session plays on across the loop).
   */
  durationSeconds?: number;
  fps?: number;
  ladder?: readonly Rendition[];
  /** Cache directory; the ladder is made once per parameter set. */
  cacheDir?: string;
  onProgress?: (message: string) => void;
  /** Also hand `onProgress` the encoder's position at most this often (s) while a content is encoded. */
  tickSeconds?: number;
}

export interface LocalOrigin {
  /** Directory to serve over HTTP. */
  root: string;
  /** Master playlist path of each content, relative to `root`, and its renditions' measured bitrates. */
  channels: Array<{ name: string; master: string; motion: string; renditions: RenditionStats[] }>;
}

export const SEGMENT_SECONDS = 2;
/** Content seconds: a shorter loop keeps the first build of the whole ladder within 3 minutes on 2 cores. */
export const DEFAULT_ORIGIN_SECONDS = 24;
const AUDIO_KBPS = 64;

export function defaultOriginCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "qoelab", "origin");
}

/** Runs ffmpeg; `onTime` hears the seconds of output written so far (from -progress). */
function runFfmpeg(args: string[], onTime?: (seconds: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ffmpeg", ["-progress", "pipe:1", "-nostats", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    let pending = "";
    child.stdout.on("data", (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        const m = /^out_time_us=(\d+)/.exec(line);
        if (m) onTime?.(Number(m[1]) / 1e6);
      }
    });
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

/** Mean and peak bitrate of a built rendition, from its playlist's segment durations and sizes. */
export function measureRendition(dir: string, rendition: Rendition): RenditionStats {
  const playlist = readFileSync(join(dir, "index.m3u8"), "utf8").split("\n");
  let seconds = 0;
  let bits = 0;
  let peak = 0;
  let segments = 0;
  let duration = 0;
  for (const line of playlist) {
    const inf = /^#EXTINF:([\d.]+)/.exec(line);
    if (inf) duration = Number(inf[1]);
    else if (line.trim() !== "" && !line.startsWith("#")) {
      const size = statSync(join(dir, line.trim())).size * 8;
      seconds += duration;
      bits += size;
      segments++;
      if (duration > 0.5) peak = Math.max(peak, size / duration);
    }
  }
  return {
    name: rendition.name,
    height: rendition.height,
    capKbps: rendition.videoKbps,
    meanKbps: Math.round(seconds > 0 ? bits / seconds / 1000 : 0),
    peakKbps: Math.round(peak / 1000),
    segments,
  };
}

/** Seconds of video each rendition's playlist lists (the content repeated, see loopPlaylist). */
export const PLAYLIST_SECONDS = 180;

const LOOP_MARK = "#QOELAB-LOOPED";

/**
 * Lists a VOD playlist's segments again and again (an EXT-X-DISCONTINUITY before each repeat) until it
 * lasts `seconds`, so a player never reaches the end of the short content within a session and keeps
 * fetching as a real video's player does; nothing is encoded twice. Done once per playlist (marked).
 */
export function loopPlaylist(file: string, seconds: number): void {
  const text = readFileSync(file, "utf8");
  if (text.includes(LOOP_MARK)) return;
  const lines = text.split("\n");
  const firstSegment = lines.findIndex((l) => l.startsWith("#EXTINF"));
  const end = lines.findIndex((l) => l.startsWith("#EXT-X-ENDLIST"));
  if (firstSegment < 0 || end < 0) return;
  const header = lines.slice(0, firstSegment).filter((l) => l.trim() !== "");
  const body = lines.slice(firstSegment, end).filter((l) => l.trim() !== "");
  let length = 0;
  for (const l of body) {
    const m = /^#EXTINF:([\d.]+)/.exec(l);
    if (m) length += Number(m[1]);
  }
  if (!(length > 0)) return;
  const loops = Math.max(1, Math.ceil(seconds / length));
  const out = [...header, LOOP_MARK];
  for (let i = 0; i < loops; i++) {
    if (i > 0) out.push("#EXT-X-DISCONTINUITY");
    out.push(...body);
  }
  out.push("#EXT-X-ENDLIST", "");
  writeFileSync(file, out.join("\n"));
}

function setStatus(status: OriginBuildStatus, onProgress?: (message: string) => void): void {
  buildStatus = status;
  onProgress?.(status.message);
}

/**
 * Makes (once, cached) and returns the built-in HLS origin: per content one ffmpeg run renders the
 * source once and encodes every rendition from it (H.264 capped VBR: CRF 23 with maxrate/bufsize,
 * veryfast; AAC 64 kbit/s), 2 s segments with aligned keyframes. The measured mean and peak bitrate
 * of each rendition go into the master playlist (AVERAGE-BANDWIDTH, BANDWIDTH) and content.json.
 */
export async function buildLocalOrigin(options: LocalOriginOptions = {}): Promise<LocalOrigin> {
  const channels = options.channels ?? DEFAULT_CONTENTS;
  const duration = options.durationSeconds ?? DEFAULT_ORIGIN_SECONDS;
  const fps = options.fps ?? 25;
  const ladder = options.ladder ?? DEFAULT_LADDER;
  for (const channel of channels) {
    if (!CONTENTS[channel])
      throw new QoelabError(
        "ORIGIN_UNKNOWN_CHANNEL",
        `origin: unknown content "${channel}" (${Object.keys(CONTENTS).join(", ")})`,
      );
  }
  if (ladder.length === 0) throw new QoelabError("ORIGIN_NO_LADDER", "origin: the ladder has no rendition");
  const key = createHash("sha256")
    .update(JSON.stringify({ v: 3, duration, fps, ladder, crf: ORIGIN_CRF }))
    .digest("hex")
    .slice(0, 12);
  const root = join(options.cacheDir ?? defaultOriginCacheDir(), key);
  mkdirSync(root, { recursive: true });
  const result: LocalOrigin = { root, channels: [] };
  const missing = channels.filter((c) => !existsSync(join(root, c, "master.m3u8")));
  const startedAt = Date.now();
  let done = 0;
  try {
    for (const channel of channels) {
      const preset = CONTENTS[channel]!;
      const channelDir = join(root, channel);
      const master = join(channelDir, "master.m3u8");
      if (!existsSync(master)) {
        const position = done;
        let lastTick = Date.now();
        const report = (seconds: number) => {
          const tick =
            options.tickSeconds !== undefined && Date.now() - lastTick >= options.tickSeconds * 1000
              ? options.onProgress
              : undefined;
          if (tick) lastTick = Date.now();
          setStatus(
            {
              state: "building",
              content: channel,
              fraction: Math.min(1, (position + Math.min(1, seconds / duration)) / missing.length),
              message: `origin: encoding ${channel} (${position + 1}/${missing.length}) ${Math.round(Math.min(1, seconds / duration) * 100)} %, ${Math.round((Date.now() - startedAt) / 1000)} s`,
              startedAt,
            },
            tick,
          );
        };
        setStatus(
          {
            state: "building",
            content: channel,
            fraction: position / missing.length,
            message: `origin: encoding ${channel} (${position + 1}/${missing.length}): ${ladder.map((r) => r.name).join(", ")}`,
            startedAt,
          },
          options.onProgress,
        );
        // Build into a temporary directory and rename, so an interrupted build is never half-used.
        const building = `${channelDir}.building-${process.pid}`;
        rmSync(building, { recursive: true, force: true });
        const top = ladder.reduce((a, b) => (b.height > a.height ? b : a));
        const split = ladder.map((_, i) => `[v${i}]`).join("");
        const scales = ladder.map(
          (r, i) => `[v${i}]scale=${r.width}:${r.height}:flags=bicubic,setsar=1,format=yuv420p[o${i}]`,
        );
        const graph = `${preset.graph(top.width, top.height, fps, duration)};[src]split=${ladder.length}${split};${scales.join(";")}`;
        const args = [
          "-hide_banner",
          "-loglevel",
          "error",
          "-f",
          "lavfi",
          "-t",
          String(duration),
          "-i",
          `sine=frequency=440:sample_rate=48000`,
          "-filter_complex",
          graph,
        ];
        ladder.forEach((r, i) => {
          const dir = join(building, r.name);
          mkdirSync(dir, { recursive: true });
          args.push(
            "-map",
            `[o${i}]`,
            "-map",
            "0:a",
            "-t",
            String(duration),
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "main",
            "-crf",
            String(ORIGIN_CRF),
            "-maxrate",
            `${r.videoKbps}k`,
            "-bufsize",
            `${r.videoKbps * 2}k`,
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
          );
        });
        await runFfmpeg(args, report);
        const stats = ladder.map((r) => measureRendition(join(building, r.name), r));
        const lines = ["#EXTM3U", "#EXT-X-VERSION:3"];
        ladder.forEach((r, i) => {
          const m = stats[i]!;
          lines.push(
            `#EXT-X-STREAM-INF:BANDWIDTH=${Math.max(1, m.peakKbps) * 1000},AVERAGE-BANDWIDTH=${Math.max(1, m.meanKbps) * 1000},RESOLUTION=${r.width}x${r.height},CODECS="avc1.4d401f,mp4a.40.2",NAME="${r.name}"`,
            `${r.name}/index.m3u8`,
          );
        });
        writeFileSync(join(building, "master.m3u8"), `${lines.join("\n")}\n`);
        writeFileSync(
          join(building, "channel.json"),
          JSON.stringify({ channel, motion: preset.motion, duration, fps, crf: ORIGIN_CRF, renditions: stats }),
        );
        rmSync(channelDir, { recursive: true, force: true });
        renameSync(building, channelDir);
        done++;
      }
      for (const r of ladder) loopPlaylist(join(channelDir, r.name, "index.m3u8"), PLAYLIST_SECONDS);
      const info = JSON.parse(readFileSync(join(channelDir, "channel.json"), "utf8")) as {
        motion: string;
        renditions?: RenditionStats[];
      };
      result.channels.push({
        name: channel,
        master: `${channel}/master.m3u8`,
        motion: info.motion,
        renditions: info.renditions ?? [],
      });
    }
  } catch (error) {
    setStatus(
      { state: "failed", fraction: done / Math.max(1, missing.length), message: `origin: ${(error as Error).message}` },
      options.onProgress,
    );
    throw error;
  }
  setStatus(
    {
      state: "ready",
      fraction: 1,
      message:
        missing.length > 0
          ? `origin: built ${missing.length} contents in ${Math.round((Date.now() - startedAt) / 1000)} s (${root})`
          : `origin: ready (cached, ${root})`,
    },
    options.onProgress,
  );
  return result;
}
