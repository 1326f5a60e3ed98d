import { QoelabError } from "../errors.ts";

/**
 * The shaper daemon's closed command set. Every request is one JSON line
 * `{ "id": n, "op": "...", "args": { … } }`; every argument is checked against its exact type,
 * range and character set, unknown ops and unknown keys are refused, and nothing is ever passed to
 * a shell (the daemon builds argv arrays itself).
 */
export type ShaperRequest =
  | { op: "lab.up"; args: { name: string; router: boolean } }
  | { op: "lab.down"; args: { name: string } }
  | { op: "shape"; args: { lab: string; link: string; rateBits: number; limitPackets?: number } }
  | { op: "shape.clear"; args: { lab: string; link: string } }
  | { op: "capture.start"; args: { lab: string; host: string; file: string; snaplen: number; filter?: string } }
  | { op: "capture.stop"; args: { id: number } }
  | { op: "ping"; args: Record<string, never> };

export type ShaperOp = ShaperRequest["op"];

const LAB_NAME = /^[a-z][a-z0-9]{0,9}$/;
const LINK = /^(client|server|router):(client|server|router)-side$/;
const HOST = /^(client|server|router)$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,120}\.pcap(ng)?$/;
// pcap-filter expressions: words, numbers, addresses, operators and brackets only.
const FILTER = /^[A-Za-z0-9 .:/()[\]!&|<>=+\-*%^]{0,300}$/;

const SHAPES: Record<ShaperOp, Record<string, (v: unknown) => string | null>> = {
  ping: {},
  "lab.up": { name: labName, router: boolean },
  "lab.down": { name: labName },
  shape: {
    lab: labName,
    link: pattern(LINK, 'a link such as "router:client-side"'),
    rateBits: integer(8_000, 100_000_000_000),
    limitPackets: optional(integer(1, 1_000_000)),
  },
  "shape.clear": { lab: labName, link: pattern(LINK, 'a link such as "router:client-side"') },
  "capture.start": {
    lab: labName,
    host: pattern(HOST, "client, server or router"),
    file: pattern(FILE, "a plain file name ending in .pcap or .pcapng (no directory)"),
    snaplen: integer(64, 262_144),
    filter: optional(pattern(FILTER, "a pcap-filter expression of letters, digits and operators")),
  },
  "capture.stop": { id: integer(1, 2 ** 31 - 1) },
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
function pattern(re: RegExp, what: string) {
  return (v: unknown): string | null => (typeof v === "string" && re.test(v) ? null : what);
}
function optional(check: (v: unknown) => string | null) {
  return (v: unknown): string | null => (v === undefined ? null : check(v));
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
