import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { QoelabError } from "../../errors.ts";
import { parseTrace } from "../../netlab/index.ts";

/*
 * Bandwidth traces for trace-driven sessions: Mahimahi files (one line per 1500-byte delivery
 * opportunity, whole ms since the start, repeating with the last time as period), plain or gzipped.
 * The repository ships some in traces/mahimahi/ (see traces/SOURCES.md); a user adds folders of their
 * own with QOELAB_TRACES_DIR (colon-separated) or --traces-dir. A trace is named by its file name
 * without ".gz"; the first folder holding a name wins (the shipped ones first).
 */

export interface TraceEntry {
  name: string;
  file: string;
  /** "built-in" or the user folder it came from. */
  origin: string;
  bytes: number;
}

export interface TraceStats {
  durationS: number;
  meanMbps: number;
  medianMbps: number;
  p10Mbps: number;
  p90Mbps: number;
  /** 1 s bins below 1 Mbit/s. */
  secondsBelow1Mbps: number;
  /** Offered Mbit/s of each 1 s bin [k, k+1) over one period. */
  perSecondMbps: number[];
}

export interface LoadedTrace extends TraceEntry {
  text: string;
  stats: TraceStats;
}

/** The shipped traces (traces/mahimahi/ at the repository's root). */
export function builtInTracesDir(): string {
  return fileURLToPath(new URL("../../../traces/mahimahi", import.meta.url));
}

/** The folders searched, shipped ones first, then QOELAB_TRACES_DIR's, then `extra`. */
export function traceDirs(extra: readonly string[] = []): string[] {
  const env = (process.env.QOELAB_TRACES_DIR ?? "")
    .split(":")
    .map((d) => d.trim())
    .filter((d) => d !== "");
  return [builtInTracesDir(), ...env.map((d) => resolve(d)), ...extra.map((d) => resolve(d))];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Every trace in the folders (sorted by name); a folder that does not exist is an error. */
export function listTraceEntries(dirs: readonly string[] = traceDirs()): TraceEntry[] {
  const builtIn = builtInTracesDir();
  const found = new Map<string, TraceEntry>();
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory())
      throw new QoelabError("TRACE_DIR_MISSING", `traces: folder ${dir} does not exist`, { dir });
    for (const file of readdirSync(dir).sort()) {
      if (/\.(md|txt|py|json)$/i.test(file) || file.startsWith(".")) continue;
      const path = join(dir, file);
      const stat = statSync(path);
      if (!stat.isFile()) continue;
      const name = file.replace(/\.gz$/, "");
      if (!NAME.test(name) || found.has(name)) continue;
      found.set(name, {
        name,
        file: path,
        origin: resolve(dir) === resolve(builtIn) ? "built-in" : dir,
        bytes: stat.size,
      });
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function findTraceEntry(name: string, dirs: readonly string[] = traceDirs()): TraceEntry {
  const entries = listTraceEntries(dirs);
  const entry = entries.find((e) => e.name === name);
  if (!entry)
    throw new QoelabError(
      "TRACE_NOT_FOUND",
      `traces: no trace named "${name}" in ${dirs.join(", ")} (qoelab traces list shows them)`,
      { trace: name },
    );
  return entry;
}

const cache = new Map<string, LoadedTrace>();

/** Reads (gunzips) and parses a trace; its statistics come with it. Cached by file. */
export function loadTrace(entry: TraceEntry): LoadedTrace {
  const key = `${entry.file}:${entry.bytes}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const raw = readFileSync(entry.file);
  const text = (entry.file.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  const loaded: LoadedTrace = { ...entry, text, stats: traceStats(text, entry.name) };
  cache.set(key, loaded);
  return loaded;
}

export function loadTraceByName(name: string, dirs?: readonly string[]): LoadedTrace {
  return loadTrace(findTraceEntry(name, dirs));
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

const round = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Statistics as the shared traces' SOURCES.md defines them: duration = the last time; mean = every
 * opportunity × 1500 B × 8 over the duration; median, p10, p90 over 1 s bins with empty bins as 0.
 */
export function traceStats(text: string, name = "trace"): TraceStats {
  const parsed = parseTrace(text, name);
  const periodS = parsed.periodUs / 1e6;
  const bins = new Array<number>(Math.max(1, Math.ceil(periodS))).fill(0);
  let bytes = 0;
  for (let i = 0; i < parsed.times.length; i++) {
    const b = parsed.bytes[i] as number;
    bytes += b;
    const k = Math.min(bins.length - 1, Math.floor((parsed.times[i] as number) / 1e6));
    bins[k] = (bins[k] as number) + b;
  }
  const perSecond = bins.map((b) => (b * 8) / 1e6);
  const sorted = [...perSecond].sort((a, b) => a - b);
  return {
    durationS: round(periodS),
    meanMbps: round((bytes * 8) / 1e6 / periodS),
    medianMbps: round(quantile(sorted, 0.5)),
    p10Mbps: round(quantile(sorted, 0.1)),
    p90Mbps: round(quantile(sorted, 0.9)),
    secondsBelow1Mbps: perSecond.filter((v) => v < 1).length,
    perSecondMbps: perSecond.map(round),
  };
}

/**
 * The trace as seen from `offsetMs` on: the opportunities of [offset, offset + period) moved to start
 * at 0, in Mahimahi format, with the same period (its last line is the period).
 */
export function rotateTrace(text: string, offsetMs: number, name = "trace"): string {
  const parsed = parseTrace(text, name);
  if (parsed.format !== "mahimahi")
    throw new QoelabError("TRACE_FORMAT", `${name}: only Mahimahi traces can start at an offset`, { trace: name });
  const period = parsed.periodUs / 1000;
  const offset = ((Math.round(offsetMs) % period) + period) % period;
  if (offset === 0) return text;
  const head: number[] = [];
  const tail: number[] = [];
  for (const us of parsed.times) {
    const t = us / 1000;
    if (t >= offset) head.push(t - offset);
    else tail.push(t + period - offset);
  }
  const lines = [...head, ...tail];
  if (lines.length === 0 || (lines.at(-1) as number) < period) lines.push(period);
  return `${lines.join("\n")}\n`;
}

/** Mean offered Mbit/s of the trace over [offsetS, offsetS + lengthS) (wrapping around its period). */
export function traceWindowMean(stats: TraceStats, offsetS: number, lengthS: number): number {
  const bins = stats.perSecondMbps;
  if (bins.length === 0 || lengthS <= 0) return stats.meanMbps;
  let sum = 0;
  const n = Math.max(1, Math.round(lengthS));
  for (let i = 0; i < n; i++) sum += bins[(Math.floor(offsetS) + i) % bins.length] as number;
  return round(sum / n);
}
