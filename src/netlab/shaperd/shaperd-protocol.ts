import { QoelabError } from "../../errors.ts";
import type { LabConfig } from "../lab/lab.ts";

/**
 * The shaper daemon's closed command set. Every request is one JSON line
 * `{ "id": n, "op": "...", "args": { … } }`; every argument is checked against its exact type,
 * range and character set, unknown ops and unknown keys are refused, and nothing is ever passed to
 * a shell (the daemon builds argv arrays itself).
 */
export type ShaperRequest =
  | { op: "ping"; args: Record<string, never> }
  /**
   * A lab, optionally with an uplink (router ↔ this host): `forward` lets its traffic past this host
   * (masqueraded), `allow` limits where to (IPv4 prefixes, enforced on the router).
   */
  | { op: "lab.up"; args: { name: string; router: boolean; uplink?: ShaperUplink } }
  | { op: "lab.down"; args: { name: string } }
  /** Ends every process still running in the lab's namespaces (a crashed worker's leftovers). */
  | { op: "slot.clean"; args: { lab: string } }
  | {
      op: "shape";
      args: {
        lab: string;
        link: string;
        rateBits: number;
        limitPackets?: number;
        delaySeconds?: number;
        /** Bernoulli loss probability, with the seed of its random choices. */
        lossProbability?: number;
        seed?: number;
      };
    }
  | { op: "shape.clear"; args: { lab: string; link: string } }
  /** Rate limit on what the router sends to this host over the lab's uplink (a person's downstream). */
  | { op: "uplink.shape"; args: { lab: string; rateBits: number; limitPackets?: number } }
  | { op: "uplink.clear"; args: { lab: string } }
  /**
   * Captures the lab's TCP on this host's end of its uplink; the daemon builds the filter from the
   * lab's subnet. Stopped by `capture.stop`.
   */
  | { op: "uplink.capture"; args: { lab: string; file: string; snaplen: number } }
  /** `file` is inside the daemon's capture directory: relative to it, or absolute under it. */
  | { op: "capture.start"; args: { lab: string; host: string; file: string; snaplen: number; filter?: string } }
  | { op: "capture.stop"; args: { id: number } }
  /** Serves `root` over HTTP from the lab's server host, as the daemon's user (never as root). */
  | { op: "origin.start"; args: { lab: string; root: string; port: number } }
  | { op: "origin.stop"; args: { lab: string } }
  /** Chromium in the lab's client host; its player page requests go to `forwardTo` (loopback only). */
  | { op: "player.launch"; args: { lab: string; forwardTo: string } }
  | { op: "player.run"; args: { id: number; path: string; timeoutMs: number } }
  | { op: "player.close"; args: { id: number } };

export interface ShaperUplink {
  forward: boolean;
  allow?: string[];
}

export type ShaperOp = ShaperRequest["op"];
export type ShaperArgs<O extends ShaperOp> = Extract<ShaperRequest, { op: O }>["args"];

/** What each op answers. */
export interface ShaperResults {
  ping: { pong: true; captureDir: string; uid: number; gid: number };
  /** The lab's config: the client plans the same topology from it (`planLab`). */
  "lab.up": { name: string; config: LabConfig };
  "lab.down": { removed: boolean };
  "slot.clean": { killed: number[] };
  shape: { link: string; assignments: Array<{ option: string; value: string; backend: string }> };
  "shape.clear": unknown;
  "uplink.shape": { applied: string };
  "uplink.clear": { cleared: true };
  "uplink.capture": { id: number; pid: number; file: string };
  "capture.start": { id: number; pid: number; file: string };
  "capture.stop": { file: string; packets: number; dropped: number; diedEarly?: string };
  "origin.start": { pid: number };
  "origin.stop": { stopped: boolean };
  "player.launch": { id: number; pid: number | null };
  "player.run": { done: true };
  "player.close": { closed: boolean };
}

const LAB_NAME = /^[a-z][a-z0-9]{0,9}$/;
const LINK = /^(client|server|router):(client|server|router)-side$/;
const HOST = /^(client|server|router)$/;
// A path segment: letters, digits, dot, underscore, dash; never "." or ".." (no way up).
const SEGMENT = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,120}$/;
// A pcap-filter expression is one argv element of root's tcpdump: it is accepted only as a
// sequence of these tokens (a token starting with "-" would be read as an option, e.g. "-w FILE").
const FILTER_WORDS = new Set(
  "tcp udp icmp icmp6 ip ip6 arp host net port portrange src dst and or not less greater vlan".split(" "),
);
const FILTER_TOKEN =
  /^(?:[()!]|&&|\|\||[0-9]{1,5}|[0-9]{1,5}-[0-9]{1,5}|[0-9]{1,3}(?:\.[0-9]{1,3}){3}(?:\/[0-9]{1,2})?|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:\/[0-9]{1,3})?)$/;
const MAX_ALLOW = 32;
// The web app the player's page requests are forwarded to: loopback of the daemon's host only.
const LOOPBACK_URL = /^http:\/\/(127\.0\.0\.1|\[::1\]):([1-9][0-9]{0,4})$/;
// A path and query of the web app (the player page), no scheme, host or fragment.
const APP_PATH = /^\/(?!\/)[A-Za-z0-9/_.?=&%-]{0,300}$/;

const LINK_WHAT = 'a link such as "router:client-side"';

const SHAPES: { [O in ShaperOp]: Record<string, (v: unknown) => string | null> } = {
  ping: {},
  "lab.up": { name: labName, router: boolean, uplink: optional(uplinkOption) },
  "lab.down": { name: labName },
  "slot.clean": { lab: labName },
  shape: {
    lab: labName,
    link: pattern(LINK, LINK_WHAT),
    rateBits: integer(8_000, 100_000_000_000),
    limitPackets: optional(integer(1, 1_000_000)),
    delaySeconds: optional(number(0, 10)),
    lossProbability: optional(number(0, 1)),
    seed: optional(integer(0, 2 ** 32 - 1)),
  },
  "shape.clear": { lab: labName, link: pattern(LINK, LINK_WHAT) },
  "uplink.shape": {
    lab: labName,
    rateBits: integer(8_000, 100_000_000_000),
    limitPackets: optional(integer(1, 1_000_000)),
  },
  "uplink.clear": { lab: labName },
  "uplink.capture": { lab: labName, file: capturePath, snaplen: integer(64, 262_144) },
  "capture.start": {
    lab: labName,
    host: pattern(HOST, "client, server or router"),
    file: capturePath,
    snaplen: integer(64, 262_144),
    filter: optional(pcapFilter),
  },
  "capture.stop": { id: integer(1, 2 ** 31 - 1) },
  "origin.start": { lab: labName, root: absoluteDir, port: integer(1024, 65_535) },
  "origin.stop": { lab: labName },
  "player.launch": { lab: labName, forwardTo: loopbackUrl },
  "player.run": {
    id: integer(1, 2 ** 31 - 1),
    path: pattern(APP_PATH, "a path of the web app such as /player?session=1"),
    timeoutMs: integer(1_000, 6 * 3_600_000),
  },
  "player.close": { id: integer(1, 2 ** 31 - 1) },
};

function labName(v: unknown): string | null {
  return typeof v === "string" && LAB_NAME.test(v) ? null : "a lab name of 1–10 lowercase letters/digits";
}
function boolean(v: unknown): string | null {
  return typeof v === "boolean" ? null : "true or false";
}
function integer(min: number, max: number) {
  return (v: unknown): string | null =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max ? null : `an integer from ${min} to ${max}`;
}
function number(min: number, max: number) {
  return (v: unknown): string | null =>
    typeof v === "number" && Number.isFinite(v) && v >= min && v <= max ? null : `a number from ${min} to ${max}`;
}
function pattern(re: RegExp, what: string) {
  return (v: unknown): string | null => (typeof v === "string" && re.test(v) ? null : what);
}
function optional(check: (v: unknown) => string | null) {
  return (v: unknown): string | null => (v === undefined ? null : check(v));
}
/** An IPv4 address or prefix written plainly: four decimal octets 0–255, an optional /0–32. */
function isIpv4Prefix(v: unknown): v is string {
  const match = typeof v === "string" ? /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(v) : null;
  if (!match) return false;
  const octets = match.slice(1, 5).map(Number);
  return octets.every((o) => o <= 255) && (match[5] === undefined || Number(match[5]) <= 32);
}
function uplinkOption(v: unknown): string | null {
  const what = `{ forward: true|false, allow?: [up to ${MAX_ALLOW} IPv4 prefixes such as "198.51.100.0/24"] }`;
  if (v === null || typeof v !== "object" || Array.isArray(v)) return what;
  const { forward, allow, ...rest } = v as Record<string, unknown>;
  if (Object.keys(rest).length > 0 || typeof forward !== "boolean") return what;
  if (allow === undefined) return null;
  return Array.isArray(allow) && allow.length >= 1 && allow.length <= MAX_ALLOW && allow.every(isIpv4Prefix)
    ? null
    : what;
}
function pcapFilter(v: unknown): string | null {
  const what = "a pcap-filter expression of protocols, host/net/port, numbers, addresses and and/or/not";
  if (typeof v !== "string" || v.length > 300) return what;
  const tokens = v
    .replace(/([()])/g, " $1 ")
    .trim()
    .split(/\s+/);
  return tokens.every((t) => FILTER_WORDS.has(t) || FILTER_TOKEN.test(t)) ? null : what;
}
function segmentsOk(v: unknown, absolute: boolean): v is string {
  if (typeof v !== "string" || v.length > 1024) return false;
  const parts = v.split("/");
  if (absolute !== (parts[0] === "")) return false;
  return parts.slice(absolute ? 1 : 0).every((part) => SEGMENT.test(part));
}
function capturePath(v: unknown): string | null {
  const ok = (segmentsOk(v, false) || segmentsOk(v, true)) && /\.pcap(ng)?$/.test(v as string);
  return ok ? null : "a path of plain names (letters, digits, . _ -; no ..) ending in .pcap or .pcapng";
}
function absoluteDir(v: unknown): string | null {
  return segmentsOk(v, true) ? null : "an absolute directory path of plain names (letters, digits, . _ -; no ..)";
}
function loopbackUrl(v: unknown): string | null {
  const match = typeof v === "string" ? LOOPBACK_URL.exec(v) : null;
  return match && Number(match[2]) <= 65_535 ? null : "a loopback URL such as http://127.0.0.1:8000";
}

/** Parses and validates one request line; throws SHAPERD_BAD_REQUEST naming the offending part. */
export function parseShaperRequest(line: string): { id: number; request: ShaperRequest } {
  const bad = (message: string) => new QoelabError("SHAPERD_BAD_REQUEST", `shaperd: ${message}`);
  if (line.length > 4096) throw bad("request longer than 4096 bytes");
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw bad("request is not JSON");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw bad("request must be a JSON object");
  const { id, op, args, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw bad(`unknown request key "${Object.keys(rest)[0]}"`);
  if (typeof id !== "number" || !Number.isInteger(id) || id < 0) throw bad("id must be a non-negative integer");
  if (typeof op !== "string" || !Object.hasOwn(SHAPES, op))
    throw bad(`unknown op "${String(op)}" (allowed: ${Object.keys(SHAPES).join(", ")})`);
  const shape = SHAPES[op as ShaperOp];
  const given = args === undefined ? {} : args;
  if (given === null || typeof given !== "object" || Array.isArray(given)) throw bad(`${op}: args must be an object`);
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(shape, key)) throw bad(`${op}: unknown argument "${key}"`);
  }
  for (const [key, check] of Object.entries(shape)) {
    const problem = check((given as Record<string, unknown>)[key]);
    if (problem) throw bad(`${op}: ${key} must be ${problem}`);
  }
  return { id, request: { op, args: given } as ShaperRequest };
}
