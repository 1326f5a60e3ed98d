// qoelab player: runs the seed's loop in any browser. For each session: ask the server for the
// next video, play it with hls.js, wait the warm-up, tell the server to start (it shapes the link
// and starts capturing), record application data for the session duration, then finish.
// Browser code, bundled by esbuild (common/browser-bundle.ts); hls.js is the page's own <script>
// (/assets/hls.min.js, window.Hls), so only its types are imported here.
import type HlsJs from "hls.js";

type HlsPlayer = typeof HlsJs;

declare global {
  interface Window {
    /** The status line's text, read by tests and the session controller. */
    qoelabStatus?: string;
    /** Set once every session of the page is finished. */
    qoelabDone?: boolean;
    /** The error the page stopped on. */
    qoelabError?: string;
  }
}

/** hls.js's UMD build sets it on the window; absent when the script failed to load. */
declare const Hls: HlsPlayer | undefined;

/** The fields of a session row the page reads (GET …/next and …/play). */
interface PlayerSession {
  id: number;
  name: string;
  attempts: number;
  warmup?: number | string | null;
  session_duration?: number | string | null;
  bw_limitation?: number | string | null;
}

type NextSession = { done: true } | { done?: false; session: PlayerSession; url: string };

/** What the page reports as the session's application data (POST …/finish). */
interface ApplicationData {
  url: string;
  startupTime: number | null;
  warmup: number;
  duration: number;
  stalls: { start: number; duration: number; cause: string | undefined }[];
  levelSwitches: {
    t: number | null;
    level: number;
    width: number | undefined;
    height: number | undefined;
    bitrate: number | undefined;
  }[];
  samples: {
    t: number | null;
    height: number;
    width: number;
    bitrate: number;
    level: number;
    buffer: number;
    bandwidthEstimate: number;
    playing: boolean;
    droppedFrames: number;
    decodedFrames: number;
  }[];
  errors: { t: number | null; type: string; details: string; fatal: boolean }[];
  levels: { width: number; height: number; bitrate: number; name: string }[];
  droppedFrames: number;
  decodedFrames: number;
  userAgent: string;
  lastStallCause?: string;
}

/** `${error.message || error}`: an Error's message, anything else as text. */
const errorText = (error: unknown): string => String((error as { message?: unknown }).message || error);

const params = new URLSearchParams(location.search);
const trainingId = params.get("training");
const onlySession = params.get("session");
// Each page is its own person: a reload abandons the session the previous page held.
const worker = params.get("worker") || `browser-${Math.random().toString(36).slice(2, 10)}`;
const video = document.getElementById("video") as HTMLVideoElement;
const statusLine = document.getElementById("status") as HTMLElement;
const log = (text: string) => {
  statusLine.textContent = text;
  window.qoelabStatus = text;
};
const api = async <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => {
  const response = await fetch(path, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${data.code || ""} ${data.message || ""}`);
  return data as T;
};
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function playSession(Hls: HlsPlayer, session: PlayerSession, url: string) {
  const warmup = Number(session.warmup ?? 20);
  const duration = Number(session.session_duration ?? 60);
  const loadAt = performance.now();
  let recordAt: number | null = null; // performance.now() when recording started
  const rel = () => (recordAt === null ? null : (performance.now() - recordAt) / 1000);
  const data: ApplicationData = {
    url,
    startupTime: null,
    warmup,
    duration,
    stalls: [],
    levelSwitches: [],
    samples: [],
    errors: [],
    levels: [],
    droppedFrames: 0,
    decodedFrames: 0,
    userAgent: navigator.userAgent,
  };
  let stallStart: number | null = null; // seconds since recording start, or a negative number during warm-up
  const beginStall = (why: string) => {
    if (stallStart !== null || data.startupTime === null || video.seeking) return;
    stallStart = recordAt === null ? -1 : rel();
    data.lastStallCause = why;
  };
  const endStall = () => {
    if (stallStart === null) return;
    if (recordAt !== null) {
      const start = Math.max(0, stallStart);
      const end = (performance.now() - recordAt) / 1000;
      if (end > start) data.stalls.push({ start, duration: end - start, cause: data.lastStallCause });
    }
    stallStart = null;
  };
  const hls = new Hls({ capLevelToPlayerSize: false, startLevel: -1, maxBufferLength: 30 });
  hls.on(Hls.Events.MANIFEST_PARSED, (_e, d) => {
    data.levels = d.levels.map((l) => ({ width: l.width, height: l.height, bitrate: l.bitrate, name: l.name }));
  });
  hls.on(Hls.Events.LEVEL_SWITCHED, (_e, d) => {
    const level = hls.levels[d.level];
    data.levelSwitches.push({
      t: rel(),
      level: d.level,
      width: level?.width,
      height: level?.height,
      bitrate: level?.bitrate,
    });
  });
  hls.on(Hls.Events.ERROR, (_e, d) => {
    // The media element's `stalled` event does not fire with MSE: hls.js reports stalls itself.
    if (d.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) beginStall("hls.js BUFFER_STALLED_ERROR");
    data.errors.push({ t: rel(), type: d.type, details: d.details, fatal: !!d.fatal });
    if (d.fatal) {
      if (d.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
      else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    }
  });
  video.addEventListener("waiting", () => beginStall("waiting"));
  video.addEventListener("playing", () => {
    if (data.startupTime === null) data.startupTime = (performance.now() - loadAt) / 1000;
    endStall();
  });
  video.addEventListener("ended", () => {
    video.currentTime = 0;
    video.play().catch(() => {});
  });
  video.muted = true;
  video.loop = true;
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => {});
  log(`session ${session.name}: warm-up ${warmup} s at ${session.bw_limitation} Mbit/s`);
  await sleep(warmup * 1000);
  await api("POST", `/api/sessions/${session.id}/start`);
  recordAt = performance.now();
  if (stallStart !== null) stallStart = 0; // a stall running across the warm-up counts from t = 0
  const q0 = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
  log(`session ${session.name}: recording ${duration} s`);
  for (let second = 1; second <= duration; second++) {
    await sleep(recordAt + second * 1000 - performance.now());
    const level = hls.levels[hls.currentLevel];
    let buffer = 0;
    for (let i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= video.currentTime && video.currentTime <= video.buffered.end(i))
        buffer = video.buffered.end(i) - video.currentTime;
    }
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    data.samples.push({
      t: rel(),
      height: video.videoHeight || level?.height || 0,
      width: video.videoWidth || level?.width || 0,
      bitrate: level?.bitrate ?? 0,
      level: hls.currentLevel,
      buffer,
      bandwidthEstimate: Math.round(hls.bandwidthEstimate || 0),
      playing: !video.paused && stallStart === null,
      droppedFrames: q ? q.droppedVideoFrames : 0,
      decodedFrames: q ? q.totalVideoFrames : 0,
    });
  }
  endStall();
  if (stallStart !== null) endStall();
  const q1 = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
  if (q0 && q1) {
    data.droppedFrames = q1.droppedVideoFrames - q0.droppedVideoFrames;
    data.decodedFrames = q1.totalVideoFrames - q0.totalVideoFrames;
  }
  hls.destroy();
  video.removeAttribute("src");
  video.load();
  log(`session ${session.name}: finishing`);
  return api("POST", `/api/sessions/${session.id}/finish`, { application_data: data });
}

async function run() {
  if (typeof Hls === "undefined" || !Hls.isSupported()) throw new Error("hls.js cannot play here (no MSE)");
  for (;;) {
    const next = onlySession
      ? await api<NextSession>("GET", `/api/sessions/${onlySession}/play`)
      : await api<NextSession>("GET", `/api/trainings/${trainingId}/next?worker=${encodeURIComponent(worker)}`);
    if (next.done) break;
    try {
      await playSession(Hls, next.session, next.url);
    } catch (error) {
      // The attempt it played: a late report must not fail a retry another slot has claimed since.
      await api("POST", `/api/sessions/${next.session.id}/fail`, {
        reason: `player: ${errorText(error)}`,
        attempt: next.session.attempts,
      }).catch(() => {});
      throw error;
    }
    if (onlySession) break;
  }
  log("done");
  window.qoelabDone = true;
}
run().catch((error: unknown) => {
  log(`error: ${errorText(error)}`);
  window.qoelabError = errorText(error);
});
