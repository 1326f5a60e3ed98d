import type { Context, MiddlewareHandler } from "hono";
import { QoelabError } from "../errors.ts";

/**
 * What a request brings in, read once and checked before any route sees it: the id in the path,
 * the body's size and its form or JSON fields. Every refusal is a coded error of kind bad_input,
 * not_found or too_large, so the app answers it with a 4xx and `{ code, message }`.
 */

/** Largest database id (int4). */
const MAX_ID = 2 ** 31 - 1;

/**
 * A path id such as `/trainings/:id`. Not digits → WEB_BAD_ID (400); digits that no row can have
 * (0, or beyond the int4 ids) → `notFoundCode` (404), as an unknown id would.
 */
export function parseId(value: string | undefined, what: string, notFoundCode: string): number {
  const text = value ?? "";
  if (!/^\d{1,30}$/.test(text))
    throw new QoelabError("WEB_BAD_ID", `${what} id must be a positive whole number, got "${text.slice(0, 40)}"`, {
      issues: [{ code: "invalid_type", path: ["id"], message: "a positive whole number" }],
    });
  const id = Number(text);
  if (id < 1 || id > MAX_ID) throw new QoelabError(notFoundCode, `${what} ${text.slice(0, 40)} does not exist`);
  return id;
}

/** Body size limits per route (bytes); the first matching rule wins. */
export const BODY_LIMITS: ReadonlyArray<{ method: string; path: RegExp; bytes: number; what: string }> = [
  // Listening-test uploads carry WAV files.
  { method: "POST", path: /^\/api\/listen\/tests$/, bytes: 16 * 1024 * 1024, what: "a listening-test upload" },
  // A player's finish carries its whole sample timeline.
  { method: "POST", path: /^\/api\/sessions\/[^/]+\/finish$/, bytes: 16 * 1024 * 1024, what: "a player's finish" },
  // Every other form and JSON body is a few fields.
  { method: "*", path: /^/, bytes: 64 * 1024, what: "a form or JSON request" },
];

/** Bytes of an over-limit body read and dropped so the connection stays usable; past it the connection closes. */
const DRAIN_BYTES = 32 * 1024 * 1024;
const DRAIN_MS = 2000;

function limitFor(method: string, path: string) {
  return BODY_LIMITS.find((l) => (l.method === "*" || l.method === method) && l.path.test(path)) ?? BODY_LIMITS[0];
}

function tooLarge(c: Context, bytes: number, what: string, drained: boolean): Response {
  const kib = Math.round(bytes / 1024);
  return c.json(
    {
      code: "WEB_BODY_TOO_LARGE",
      message: `request body too large: ${what} takes at most ${kib >= 1024 ? `${kib / 1024} MiB` : `${kib} KiB`}`,
    },
    413,
    drained ? {} : { connection: "close" },
  );
}

/** Reads and drops what is left of a body, within DRAIN_BYTES and DRAIN_MS; true when it reached the end. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<boolean> {
  let read = 0;
  const deadline = Date.now() + DRAIN_MS;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), DRAIN_MS);
  });
  try {
    while (Date.now() < deadline) {
      const chunk = await Promise.race([reader.read(), timeout]);
      if (chunk === "timeout") return false;
      if (chunk.done) return true;
      read += chunk.value.length;
      if (read > DRAIN_BYTES) return false;
    }
    return false;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Reads every request body whole before the route runs, within the route's limit (BODY_LIMITS):
 * a route that answers without looking at the body still leaves the keep-alive connection ready
 * for the next request, and a body over the limit is answered 413 with a message (after reading
 * and dropping it, or with `connection: close` when it is too big even for that).
 */
export function bodyGuard(): MiddlewareHandler {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const limit = limitFor(c.req.method, c.req.path) ?? { bytes: 64 * 1024, what: "a request" };
    const reader = raw.body.getReader();
    const declared = Number(raw.headers.get("content-length") ?? Number.NaN);
    if (declared > limit.bytes) return tooLarge(c, limit.bytes, limit.what, await drain(reader));
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > limit.bytes) return tooLarge(c, limit.bytes, limit.what, await drain(reader));
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    c.req.raw = new Request(raw, { body });
    return next();
  };
}

/** The content types a form or JSON route reads. */
function bodyType(c: Context): "json" | "form" | "empty" | "other" {
  const type = (c.req.header("content-type") ?? "").toLowerCase();
  if (type.includes("application/json")) return "json";
  if (type.startsWith("application/x-www-form-urlencoded") || type.startsWith("multipart/form-data")) return "form";
  return type === "" ? "empty" : "other";
}

/** A JSON body that must be an object: WEB_BAD_JSON otherwise. */
export async function readJsonObject(c: Context, what: string): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = JSON.parse(await c.req.text());
  } catch {
    throw new QoelabError("WEB_BAD_JSON", `${what}: the request body is not valid JSON`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new QoelabError("WEB_BAD_JSON", `${what}: the request body must be a JSON object`);
  return body as Record<string, unknown>;
}

/**
 * The fields of a form post (urlencoded or multipart) or of a JSON object, for the routes that
 * accept both. A multipart body without a boundary, or another content type, is WEB_BAD_BODY.
 */
export async function readFields(c: Context, what: string): Promise<Record<string, unknown>> {
  const type = bodyType(c);
  if (type === "json") return readJsonObject(c, what);
  if (type === "empty") return {};
  if (type === "other")
    throw new QoelabError(
      "WEB_BAD_BODY",
      `${what}: send the fields as a form (application/x-www-form-urlencoded or multipart/form-data) or as JSON`,
    );
  try {
    return (await c.req.parseBody()) as Record<string, unknown>;
  } catch {
    throw new QoelabError(
      "WEB_BAD_BODY",
      `${what}: the request body is not valid form data (multipart/form-data needs its boundary)`,
    );
  }
}
